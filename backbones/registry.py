"""One registry for every encoder: `create_encoder(name, **overrides)` and `list_encoders()`.

Each registered name is a size of an architecture (``vit_tiny``, ``swin_small``...): a function that only returns the
architecture class and its hyper-parameters, so a saved config can rebuild the exact encoder.
"""
import inspect
from typing import Callable, Dict

_ENCODERS: Dict[str, Callable[[], tuple]] = {}


def register_encoder(fn: Callable[[], tuple]) -> Callable[[], tuple]:
    _ENCODERS[fn.__name__] = fn
    return fn


def list_encoders(family: str = "") -> list:
    """Registered encoder names, optionally those of one family (``vit``, ``deit``, ``swin``, ``hybrid``)."""
    return sorted(n for n in _ENCODERS if n.split("_")[0] == family or not family)


def create_encoder(name: str, **overrides):
    """Build encoder `name` with its registered hyper-parameters, any of them overridden by keyword."""
    if name not in _ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; choose one of: {', '.join(list_encoders())}")
    cls, params = _ENCODERS[name]()
    settings = accepted_settings(cls)
    unknown = set(overrides) - settings
    if unknown:
        raise ValueError(f"encoder {name!r} has no setting {', '.join(sorted(unknown))}; its settings: "
                         f"{', '.join(sorted(settings))}")
    params = {**params, **overrides}
    encoder = cls(**params)
    encoder.config = {"name": name, **params}
    return encoder


def accepted_settings(cls) -> set:
    """Keyword arguments of cls.__init__, following **kwargs up the class hierarchy."""
    names = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        params = inspect.signature(klass.__init__).parameters.values()
        names |= {p.name for p in params if p.kind == p.POSITIONAL_OR_KEYWORD and p.name != "self"}
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            break
    return names
