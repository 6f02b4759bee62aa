"""The language is a required argument wherever the core words text: a caller that forgets it fails
at once, instead of reading Vietnamese on an English page."""

import importlib
import inspect
import pkgutil

import reformkpi


def _callables():
    """(qualified name, callable) for every function, method and class constructor under reformkpi."""
    for info in pkgutil.walk_packages(reformkpi.__path__, "reformkpi."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if getattr(obj, "__module__", None) != module.__name__:
                continue  # imported from elsewhere: checked where it is defined
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    fn = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
                    if inspect.isfunction(fn):  # a dataclass's generated __init__ too: its fields
                        yield f"{module.__name__}.{name}.{attr}", fn
            elif inspect.isfunction(obj) or callable(getattr(obj, "__wrapped__", None)):
                yield f"{module.__name__}.{name}", obj


def _defaulted_language(fn) -> bool:
    p = inspect.signature(fn).parameters.get("lang")
    return p is not None and p.default is not inspect.Parameter.empty


def test_no_function_of_the_core_defaults_the_language():
    found = dict(_callables())
    # The walk reaches what it must: wording functions, methods, a remembered view, a dataclass's fields.
    assert {"reformkpi.i18n.t", "reformkpi.formatting.number", "reformkpi.metrics.views.kpi",
            "reformkpi.context.figure_context", "reformkpi.metrics.comparability.Comparison.versus",
            "reformkpi.exports.Report.__init__", "reformkpi.exhibits.Header.__init__"} <= set(found)
    assert [name for name, fn in found.items() if _defaulted_language(fn)] == []


def test_the_check_sees_a_default():
    def worded(x, lang: str = "vi") -> str:
        return x

    def required(x, lang: str) -> str:
        return x

    assert _defaulted_language(worded) and not _defaulted_language(required)
