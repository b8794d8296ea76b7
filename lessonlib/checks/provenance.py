"""Was a graded function written in the notebook, or borrowed from lessonlib?

A graded test cell first confirms that the learner's object was defined in the notebook
(module `__main__`) and is not lessonlib's reference under another name: not the reference
itself, not an alias, not a subclass, and not a thin wrapper that calls it (a function whose
code, defaults or closure reach the reference, directly or through a lessonlib module).

What this cannot see: the reference's source copied into the cell by hand. That is
plagiarism for a person to judge, as with any open textbook.
"""

from __future__ import annotations

import builtins
import importlib
import inspect
import types

LESSONLIB = "lessonlib"


def _code_objects(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _from_lessonlib(value) -> bool:
    name = value.__name__ if isinstance(value, types.ModuleType) else getattr(
        value, "__module__", None)
    return isinstance(name, str) and (name == LESSONLIB or name.startswith(LESSONLIB + "."))


def _reaches(fn, reference) -> bool:
    """True if function `fn` refers to `reference` (by global name, a lessonlib module
    attribute, an import inside its body, a default argument or a closure cell)."""
    fn = inspect.unwrap(fn)
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    target = getattr(reference, "__name__", None)
    env = getattr(fn, "__globals__", {})
    cells = [c.cell_contents for c in (fn.__closure__ or ()) if _has_contents(c)]
    defaults = list(fn.__defaults__ or ()) + list((fn.__kwdefaults__ or {}).values())
    if any(v is reference for v in cells + defaults):
        return True
    for co in _code_objects(code):
        names = set(co.co_names)
        if target in names and any(n.split(".")[0] == LESSONLIB for n in names):
            return True  # an import of lessonlib inside the body, then the reference's name
        for name in names:
            value = env.get(name, getattr(builtins, name, None))
            if value is reference:
                return True
            if isinstance(value, types.ModuleType) and _from_lessonlib(value) and target in names:
                return True
    return any(isinstance(v, types.ModuleType) and _from_lessonlib(v) and target
               and getattr(v, target, None) is reference for v in cells + defaults)


def _has_contents(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


def _methods(cls: type):
    for value in vars(cls).values():
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if inspect.isfunction(value):
            yield value


def lessonlib_callables(obj) -> list:
    """lessonlib functions and classes that `obj` (a function, or a class's methods) refers to:
    by global name, as an attribute of a lessonlib module, through an import inside its body,
    a default argument or a closure cell. A public check runs its probe on each of them: one
    that already passes means `obj` is a thin wrapper around an equivalent implementation."""
    functions = list(_methods(obj)) if isinstance(obj, type) else [obj]
    found: dict[int, object] = {}

    def keep(value):
        if (callable(value) and not isinstance(value, types.ModuleType)
                and _from_lessonlib(value)):
            found.setdefault(id(value), value)

    for fn in functions:
        fn = inspect.unwrap(fn)
        code = getattr(fn, "__code__", None)
        if code is None:
            continue
        env = getattr(fn, "__globals__", {})
        cells = [c.cell_contents for c in (fn.__closure__ or ()) if _has_contents(c)]
        defaults = list(fn.__defaults__ or ()) + list((fn.__kwdefaults__ or {}).values())
        modules = [v for v in cells + defaults if isinstance(v, types.ModuleType)]
        for value in cells + defaults:
            keep(value)
        for co in _code_objects(code):
            for name in co.co_names:
                value = env.get(name)
                if isinstance(value, types.ModuleType):
                    modules.append(value)
                elif value is not None:
                    keep(value)
                if name.split(".")[0] == LESSONLIB:
                    try:
                        modules.append(importlib.import_module(name))
                    except ImportError:
                        pass
            for module in modules:
                if _from_lessonlib(module):
                    for name in co.co_names:
                        keep(getattr(module, name, None))
    return list(found.values())


def borrowed_reason(obj, reference) -> str | None:
    """None if `obj` was written in the notebook; else why it is lessonlib's reference."""
    if reference is None or not (callable(obj) or isinstance(obj, type)):
        return None
    if obj is reference:
        return "it is lessonlib's reference implementation itself (imported or aliased)"
    module = getattr(obj, "__module__", None)
    if isinstance(module, str) and _from_lessonlib(obj):
        return f"it comes from {module}, not from this notebook"
    if isinstance(obj, type) and isinstance(reference, type) and issubclass(obj, reference):
        return "it is a subclass of lessonlib's reference class"
    if module != "__main__":
        return f"it was defined in {module or 'another object'}, not in this notebook"
    functions = list(_methods(obj)) if isinstance(obj, type) else [obj]
    targets = [reference] + (list(_methods(reference)) if isinstance(reference, type) else [])
    for fn in functions:
        for target in targets:
            if _reaches(fn, target):
                return "it calls lessonlib's reference implementation instead of computing "\
                       "the answer itself"
    return None
