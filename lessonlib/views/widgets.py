"""Thin ipywidgets shells around pure render functions.

Every interactive in the course is `render(**params) -> matplotlib Figure` (pure, cheap,
no training) plus `interactive(render, controls)`, which builds the sliders and redraws.

When LESSONLIB_RENDER_CHECK=1 (the test suite and the benchmark set it), `interactive`
also calls `render` at every control's extreme and default values (others at default),
raises if a call fails or returns no Figure (ipywidgets.interact would swallow it), and
records the median render time in the results file.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from lessonlib.core import results

# Layout: each slider gets a fixed width (its track stays wide enough to drag, about 250 px,
# whatever the label), and the row of controls wraps instead of squeezing them.
SLIDER_WIDTH = "420px"


def _slider_layout():
    import ipywidgets as w
    return {"layout": w.Layout(width=SLIDER_WIDTH, min_width=SLIDER_WIDTH),
            "style": {"description_width": "initial"}}


@dataclass(frozen=True)
class IntSlider:
    name: str
    min: int
    max: int
    default: int
    step: int = 1
    label: str = ""

    def probe_values(self) -> list:
        return [self.min, self.default, self.max]

    def widget(self):
        import ipywidgets as w
        return w.IntSlider(value=self.default, min=self.min, max=self.max, step=self.step,
                           description=self.label or self.name, continuous_update=False,
                           **_slider_layout())


@dataclass(frozen=True)
class FloatSlider:
    name: str
    min: float
    max: float
    default: float
    step: float = 0.01
    label: str = ""
    log: bool = False

    def probe_values(self) -> list:
        return [self.min, self.default, self.max]

    def widget(self):
        import ipywidgets as w
        if self.log:
            import math
            return w.FloatLogSlider(value=self.default, min=math.log10(self.min),
                                    max=math.log10(self.max), step=self.step,
                                    description=self.label or self.name,
                                    continuous_update=False, **_slider_layout())
        return w.FloatSlider(value=self.default, min=self.min, max=self.max, step=self.step,
                             description=self.label or self.name, continuous_update=False,
                             **_slider_layout())


@dataclass(frozen=True)
class Choice:
    name: str
    options: tuple
    default: object = None
    label: str = ""

    def probe_values(self) -> list:
        return list(dict.fromkeys([self.options[0], self._default(), self.options[-1]]))

    def _default(self):
        return self.options[0] if self.default is None else self.default

    def widget(self):
        import ipywidgets as w
        return w.Dropdown(options=list(self.options), value=self._default(),
                          description=self.label or self.name)


@dataclass(frozen=True)
class Toggle:
    name: str
    default: bool = False
    label: str = ""

    def probe_values(self) -> list:
        return [False, True]

    def widget(self):
        import ipywidgets as w
        return w.Checkbox(value=self.default, description=self.label or self.name)


@dataclass(frozen=True)
class Regenerate:
    """A button that draws fresh random samples: passes an increasing integer `seed`."""

    name: str = "seed"
    default: int = 0
    label: str = "Regenerate"
    extra: dict = field(default_factory=dict)

    def probe_values(self) -> list:
        return [self.default, self.default + 1]


def _defaults(controls) -> dict:
    return {c.name: (c._default() if isinstance(c, Choice) else c.default) for c in controls}


def probe_render(render: Callable[..., Figure], controls, *, repeat: int = 1) -> dict:
    """Call `render` at each control's probe values (others at default); return timings.

    Raises if a call fails or does not return a matplotlib Figure.
    """
    base = _defaults(controls)
    calls = [dict(base)]
    for control in controls:
        for value in control.probe_values():
            params = {**base, control.name: value}
            if params not in calls:
                calls.append(params)
    times_ms = []
    for params in calls:
        for _ in range(repeat):
            start = time.perf_counter()
            fig = render(**params)
            times_ms.append((time.perf_counter() - start) * 1000)
            if not isinstance(fig, Figure):
                raise TypeError(f"render({params}) returned {type(fig).__name__}, not a Figure")
            plt.close(fig)
    return {"calls": len(calls), "median_ms": statistics.median(times_ms),
            "max_ms": max(times_ms)}


def interactive(render: Callable[..., Figure], controls, *, name: str, chapter: str):
    """Sliders (and buttons) that redraw `render(**params)`; returns the ipywidgets box."""
    if os.environ.get("LESSONLIB_RENDER_CHECK") == "1":
        repeat = int(os.environ.get("LESSONLIB_RENDER_REPEAT", "1"))
        results.record(chapter, f"render/{name}", probe_render(render, controls, repeat=repeat))
    import ipywidgets as w
    from IPython.display import display

    out = w.Output()
    state = _defaults(controls)
    inputs = {}

    def redraw(**changes):
        state.update(changes)
        with out:
            out.clear_output(wait=True)
            fig = render(**state)
            display(fig)
            plt.close(fig)

    buttons = []
    for control in controls:
        if isinstance(control, Regenerate):
            button = w.Button(description=control.label)

            def click(_, name=control.name):
                redraw(**{name: state[name] + 1})

            button.on_click(click)
            buttons.append(button)
            continue
        widget = control.widget()
        inputs[control.name] = widget
        widget.observe(lambda change, n=control.name: redraw(**{n: change["new"]}), names="value")
    redraw()
    row = w.HBox(list(inputs.values()) + buttons,
                 layout=w.Layout(flex_flow="row wrap", align_items="center"))
    return w.VBox([row, out])
