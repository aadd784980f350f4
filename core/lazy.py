"""Packages whose public names are imported on first use (PEP 562).

``import howsure`` (or ``howsure.probes``) must stay fast: torch, transformers and
scikit-learn load only when a name that needs them is used. Each package's
``__init__`` lists its public names and the module each lives in, and
:func:`lazy_exports` gives it the ``__getattr__`` and ``__dir__`` that import them.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for a package with lazily imported public names.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : mapping of str to str
        Public name -> the module that defines it.

    Returns
    -------
    (__getattr__, __dir__)
        Assign both at the package's top level; a name is imported on first use and
        then cached in the package's namespace.
    """

    def __getattr__(name: str) -> Any:
        if name in exports:
            value = getattr(importlib.import_module(exports[name]), name)
            setattr(sys.modules[package], name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(exports) | set(vars(sys.modules[package])))

    return __getattr__, __dir__
