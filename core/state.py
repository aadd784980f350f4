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
    "attribute_state",
    "check_arrays",
    "json_default",
    "read_params",
    "restore_attributes",
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


def attribute_state(
    est: Any, kind: str, names: Iterable[str]
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The state of a fitted estimator whose learned state is the float arrays ``names``
    (attributes) and ``n_features_in_``: ``(arrays, params)`` of this module's format."""
    arrays = {k: np.asarray(getattr(est, k), dtype=np.float64) for k in names}
    params = state_params(
        kind,
        hyperparameters=est.get_params(deep=False),
        learned={"n_features_in_": int(est.n_features_in_)},
    )
    return arrays, params


def restore_attributes(
    cls: Any, arrays: Mapping[str, Any], params: Mapping[str, Any], *, kind: str, names: Any
) -> Any:
    """Rebuild an estimator saved by :func:`attribute_state`: ``cls(**hyperparameters)``
    with the arrays ``names`` and ``n_features_in_`` set."""
    hyper, learned = read_params(
        params, kind=kind, owner=cls.__name__, known=cls._get_param_names()
    )
    check_arrays(arrays, names, owner=cls.__name__)
    est = cls(**hyper)
    for name in names:
        setattr(est, name, np.asarray(arrays[name], dtype=np.float64))
    est.n_features_in_ = int(learned.get("n_features_in_", np.shape(arrays[names[0]])[-1]))
    return est
