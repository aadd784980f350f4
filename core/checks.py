"""Checks of scalar arguments, one message style for the whole package.

The type and range tests are scikit-learn's (:func:`sklearn.utils.check_scalar`); these
wrappers add what it leaves out (a ``bool`` is not a number here, a real must be
finite) and word every error the same way, naming the argument, the value and what is
accepted: ``"batch_size must be an int >= 1; got 0"``. The errors are
:class:`~howsure.core.errors.SettingError` (a ``ValueError``) and
:class:`~howsure.core.errors.SettingTypeError` (also a ``TypeError``) whose ``param`` is
the name given, so a front end can word them with its own names for the parameter.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any, Literal

from sklearn.utils import check_scalar

from howsure.core.errors import SettingError, SettingTypeError

__all__ = ["check_choice", "check_int", "check_probability", "check_real"]

Boundaries = Literal["both", "left", "right", "neither"]


def _range(kind: str, min_val: float | None, max_val: float | None, boundaries: Boundaries) -> str:
    """``"an int >= 1"``, ``"a number in (0, 1]"``: the accepted values in words."""
    closed_left = boundaries in ("both", "left")
    closed_right = boundaries in ("both", "right")
    if min_val is not None and max_val is not None:
        left, right = "[" if closed_left else "(", "]" if closed_right else ")"
        return f"{kind} in {left}{min_val:g}, {max_val:g}{right}"
    if min_val is not None:
        return f"{kind} {'>=' if closed_left else '>'} {min_val:g}"
    if max_val is not None:
        return f"{kind} {'<=' if closed_right else '<'} {max_val:g}"
    return kind


def _fail(name: str, what: str, value: Any, hint: str, err: type[Exception]) -> SettingError:
    kind = SettingTypeError if err is TypeError else SettingError
    return kind(
        name,
        "{param} must be {what}; got {value!r}{extra}{hint}",
        what=what,
        value=value,
        extra=f" of type {type(value).__name__}" if err is TypeError else "",
        hint=f" ({hint})" if hint else "",
    )


def check_int(
    value: Any,
    name: str,
    *,
    min_val: int | None = None,
    max_val: int | None = None,
    hint: str = "",
) -> int:
    """Return ``value`` as an ``int`` when it is an integer in ``[min_val, max_val]``.

    Parameters
    ----------
    value : Any
    name : str
        The argument's name, as the caller knows it (e.g. ``"--batch-size"``).
    min_val, max_val : int, optional
        Inclusive bounds.
    hint : str, optional
        Appended to the error in brackets: an example or how to fix it.

    Raises
    ------
    TypeError
        ``value`` is not an integer (a ``bool`` is not one here).
    ValueError
        ``value`` is outside the bounds.
    """
    what = _range("an int", min_val, max_val, "both")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _fail(name, what, value, hint, TypeError)
    try:
        check_scalar(value, name, numbers.Integral, min_val=min_val, max_val=max_val)
    except ValueError:
        raise _fail(name, what, value, hint, ValueError) from None
    return int(value)


def check_real(
    value: Any,
    name: str,
    *,
    min_val: float | None = None,
    max_val: float | None = None,
    include_boundaries: Boundaries = "both",
    hint: str = "",
    kind: str = "a number",
) -> float:
    """Return ``value`` as a finite ``float`` within the given bounds.

    Parameters
    ----------
    value : Any
    name : str
    min_val, max_val : float, optional
    include_boundaries : {"both", "left", "right", "neither"}, default "both"
        Which bounds are allowed values, as in :func:`sklearn.utils.check_scalar`.
    hint : str, optional
    kind : str, default "a number"
        How the error names what is expected ("a probability").

    Raises
    ------
    TypeError
        ``value`` is not a real number (a ``bool`` is not one here).
    ValueError
        ``value`` is NaN, infinite or outside the bounds.
    """
    what = _range(kind, min_val, max_val, include_boundaries)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _fail(name, what, value, hint, TypeError)
    if not math.isfinite(float(value)):
        raise _fail(name, what, value, hint, ValueError)
    try:
        check_scalar(
            value,
            name,
            numbers.Real,
            min_val=min_val,
            max_val=max_val,
            include_boundaries=include_boundaries,
        )
    except ValueError:
        raise _fail(name, what, value, hint, ValueError) from None
    return float(value)


def check_probability(value: Any, name: str, *, hint: str = "e.g. 0.6 for 60%") -> float:
    """Return ``value`` as a float in [0, 1] (see :func:`check_real`)."""
    return check_real(value, name, min_val=0.0, max_val=1.0, hint=hint, kind="a probability")


def check_choice(value: Any, name: str, choices: Iterable[Any]) -> Any:
    """Return ``value`` when it is one of ``choices``; ``ValueError`` naming them otherwise."""
    options = list(choices)
    if value not in options:
        shown = ", ".join(repr(c) for c in options)
        raise SettingError(
            name, "{param} must be one of {shown}; got {value!r}", shown=shown, value=value
        )
    return value
