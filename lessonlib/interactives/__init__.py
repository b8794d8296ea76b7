"""Pure render functions of the course's interactives: params -> matplotlib Figure.

One module per interactive concept; the ipywidgets shell is lessonlib.widgets.interactive.
"""
