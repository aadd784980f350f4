"""One state format for every fitted object (probes and calibrators): no pickle.

A fitted object exports ``(arrays, params)``: ``arrays`` a dict of numpy arrays (saved
with safetensors or ``np.savez``; loaded with ``allow_pickle=False``), ``params`` a
JSON-able dict::

    {"kind": "logistic",          # the registry name of the class
     "format_version": 1,         # this layout's version
     "hyperparameters": {...},    # get_params(), plain JSON types
     "learned": {...}}            # learned scalars, e.g. {"C_": 0.01, "n_features_in_": 576}

Objects rebuild from it with ``Class.from_state(arrays, params)`` (and the registries'
``probe_from_state`` / ``calibrator_from_state``). Older layouts are read too: probes
once wrote ``format`` for ``format_version``, calibrators ``n_samples_fit`` outside
``learned``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "STATE_FORMAT_VERSION",
    "check_arrays",
    "json_default",
    "read_params",
    "state_params",
    "to_jsonable",
]

STATE_FORMAT_VERSION = 1
"""Version of the ``(arrays, params)`` layout; bumped when it changes incompatibly."""


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON types: numpy scalars and arrays unwrapped, tuples as lists,
    and a non-finite float as ``None`` (strict JSON has no NaN)."""
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value


def json_default(obj: Any) -> Any:
    """``json.dumps(..., default=json_default)``: numpy scalars and arrays as plain values."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON-able: {type(obj).__name__}")


def state_params(
    kind: str, *, hyperparameters: Mapping[str, Any], learned: Mapping[str, Any]
) -> dict[str, Any]:
    """The ``params`` half of a state (see the module docstring)."""
    return {
        "kind": kind,
        "format_version": STATE_FORMAT_VERSION,
        "hyperparameters": to_jsonable(dict(hyperparameters)),
        "learned": to_jsonable(dict(learned)),
    }


def read_params(
    params: Any, *, kind: str, owner: str, known: Iterable[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check a state's ``params`` and return its ``(hyperparameters, learned)``.

    Parameters
    ----------
    params : mapping
        From :func:`state_params` (or an older layout, see the module docstring).
    kind : str
        The kind the caller rebuilds.
    owner : str
        Names the object in errors (``"PlattCalibrator"``).
    known : iterable of str
        The hyperparameters the class takes.

    Raises
    ------
    TypeError
        ``params`` is not a mapping.
    ValueError
        Another kind, another format version, or unknown hyperparameters.
    """
    if not isinstance(params, Mapping):
        raise TypeError(
            f"params must be the dict returned by get_state(); got {type(params).__name__}"
        )
    saved = params.get("kind", kind)
    if saved != kind:
        raise ValueError(
            f"{owner} state is for kind {saved!r} but kind={kind!r} was requested; "
            f"use kind={saved!r}"
        )
    version = params.get("format_version", params.get("format", STATE_FORMAT_VERSION))
    if version != STATE_FORMAT_VERSION:
        raise ValueError(
            f"{owner} state has format_version {version!r}; this howsure reads "
            f"{STATE_FORMAT_VERSION}. Refit it, or use the howsure version that saved it"
        )
    hyper = dict(params.get("hyperparameters", {}))
    unknown = sorted(set(hyper) - set(known))
    if unknown:
        raise ValueError(
            f"{owner} state has unknown hyperparameter(s) {unknown}; it takes "
            f"{sorted(known)}. Pass the params returned by get_state()"
        )
    learned = dict(params.get("learned", {}))
    if "n_samples_fit" in params:  # calibrators before the shared layout
        learned.setdefault("n_samples_fit_", params["n_samples_fit"])
    return hyper, learned


def check_arrays(arrays: Mapping[str, Any], names: Iterable[str], *, owner: str) -> None:
    """``ValueError`` naming the arrays of ``names`` that ``arrays`` lacks."""
    missing = [name for name in names if name not in arrays]
    if missing:
        raise ValueError(
            f"{owner} state lacks array(s) {missing}; got {sorted(arrays)}. Pass the arrays "
            "and params returned together by get_state()"
        )
