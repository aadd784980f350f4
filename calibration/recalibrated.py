"""A fitted calibrator followed by a refit on new labelled rows: the recalibrated chain.

A calibration transfers worse than the ranking under it: on a new kind of question the
ranking mostly holds while the level (how often the answers are right at all) moves.
:class:`RecalibratedCalibrator` keeps a fitted calibrator as it is (one-input, stacked,
or itself recalibrated) and adds one more link to the chain: a two-parameter map on its
log-odds,

``P(correct) = sigmoid(slope * logit(p) + intercept)``, ``p`` the base's P(correct)
clipped to ``[eps, 1 - eps]``,

fitted by maximum likelihood on the new rows with a prior that pulls it toward the
identity (slope 1, intercept 0) as strongly as ``prior_rows`` rows would, so a few
dozen rows are enough and a few unlucky ones cannot swing it (:func:`fit_logit_map`).

:data:`ALL_CALIBRATORS` names every calibrator class of the package by the ``kind`` its
state records; :func:`calibrator_kind` and :func:`any_calibrator_from_state` save and
rebuild any of them (a chain's base included) without pickle. Knows nothing of models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, logit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted

from howsure.calibration._validation import check_labels, check_scores
from howsure.calibration.calibrators import CALIBRATORS
from howsure.calibration.stacked import StackedCalibrator
from howsure.core.checks import check_real
from howsure.core.state import check_arrays, read_params, state_params

__all__ = [
    "ALL_CALIBRATORS",
    "PRIOR_ROWS",
    "RecalibratedCalibrator",
    "any_calibrator_from_state",
    "calibrator_kind",
    "fit_logit_map",
]

PRIOR_ROWS = 10.0
"""Default strength of the pull toward the identity map, in labelled rows."""

_EPS = 1e-6


def fit_logit_map(
    confidence: Any, labels: Any, *, prior_rows: float = PRIOR_ROWS, eps: float = _EPS
) -> tuple[float, float]:
    """``(slope, intercept)`` of ``sigmoid(slope * logit(p) + intercept)`` on labelled rows.

    Parameters
    ----------
    confidence : array-like of shape (n,)
        P(correct) of the rows, as the calibrator to refit gives it.
    labels : array-like of shape (n,)
        1 = answer correct, 0 = wrong.
    prior_rows : float, default :data:`PRIOR_ROWS`
        The penalty ``prior_rows * ((slope - 1)^2 + intercept^2)`` added to the summed
        log-loss: the identity map weighs like that many rows.
    eps : float, default 1e-6
        ``p`` is clipped to ``[eps, 1 - eps]`` before the logit.

    Returns
    -------
    slope, intercept : float
    """
    z = logit(np.clip(np.asarray(confidence, dtype=np.float64), eps, 1 - eps))
    y = np.asarray(labels, dtype=np.float64)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        slope, intercept = theta
        q = slope * z + intercept
        r = expit(q) - y
        value = float(np.sum(np.logaddexp(0.0, q) - y * q))
        value += prior_rows * ((slope - 1.0) ** 2 + intercept**2)
        grad = np.array(
            [
                float(r @ z) + 2 * prior_rows * (slope - 1.0),
                float(r.sum()) + 2 * prior_rows * intercept,
            ]
        )
        return value, grad

    theta = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B").x
    return float(theta[0]), float(theta[1])


class RecalibratedCalibrator(ClassifierMixin, BaseEstimator):
    """A fitted calibrator and a logistic map on its log-odds, fitted on new rows.

    ``fit`` refits only the map: ``base`` is used as it is, never refitted (so
    :func:`sklearn.base.clone`, which returns an unfitted copy of ``base``, gives a chain
    that ``fit`` refuses; build a new one around the fitted base instead).

    Parameters
    ----------
    base : fitted calibrator or None, default None
        Anything with ``confidence(X)`` (P(correct), shape (n,)) and ``get_state()``: a
        one-input calibrator, a :class:`~howsure.calibration.stacked.StackedCalibrator`
        or another :class:`RecalibratedCalibrator`; ``X`` is whatever it reads. ``None``:
        ``X`` is P(correct) itself, shape (n,) or (n, 1).
    prior_rows : float, default :data:`PRIOR_ROWS`
        How many labelled rows the pull toward the identity map weighs (>= 0).
    eps : float, default 1e-6
        The base's P(correct) is clipped to ``[eps, 1 - eps]`` before the logit.

    Attributes
    ----------
    slope_, intercept_ : float
        The map ``sigmoid(slope_ * logit(p) + intercept_)``.
    classes_ : ndarray of shape (2,)
        ``[0, 1]``: 0 = wrong, 1 = correct.
    n_features_in_ : int
        Columns of ``X`` (the base's).
    n_samples_fit_ : int
        Rows the map was fitted on (0 for a map read from an older detector).
    """

    kind = "recalibrated"

    def __init__(
        self, base: Any = None, *, prior_rows: float = PRIOR_ROWS, eps: float = _EPS
    ) -> None:
        self.base = base
        self.prior_rows = prior_rows
        self.eps = eps

    # -- the chain ---------------------------------------------------------------------
    def _check_base(self) -> None:
        if self.base is None:
            return
        if not callable(getattr(self.base, "confidence", None)) or not callable(
            getattr(self.base, "get_state", None)
        ):
            raise TypeError(
                "base must be a fitted howsure calibrator (with confidence() and "
                f"get_state()), or None for scores that are P(correct); got "
                f"{type(self.base).__name__}"
            )
        try:
            check_is_fitted(self.base)
        except NotFittedError:
            raise ValueError(
                f"base {type(self.base).__name__} is not fitted; RecalibratedCalibrator "
                "refits only the map on top of a fitted calibrator: fit the base first"
            ) from None

    def _base_confidence(self, X: Any) -> np.ndarray:
        if self.base is None:
            return check_scores(X, allow_empty=True)
        return np.asarray(self.base.confidence(X), dtype=np.float64)

    def fit(self, X: Any, y: Any) -> RecalibratedCalibrator:
        """Fit the map on labelled rows; the base stays as it is.

        Parameters
        ----------
        X : array-like
            What ``base`` reads (shape (n,) or (n, 1) of P(correct) when ``base`` is None).
        y : array-like of shape (n,)
            1 = answer correct, 0 = wrong.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            An unfitted base, labels that are not 0/1 or hold one class only, a length
            mismatch, a bad ``prior_rows`` or ``eps``.
        TypeError
            A base that is not a howsure calibrator.
        """
        check_real(self.prior_rows, "prior_rows", min_val=0.0)
        eps = check_real(self.eps, "eps", min_val=0.0, max_val=0.5, include_boundaries="neither")
        self._check_base()
        if y is None:
            raise ValueError(
                "RecalibratedCalibrator requires y to be passed, but the target y is None. "
                "Pass labels, 1 = answer correct and 0 = wrong, one per row."
            )
        p = self._base_confidence(X)
        lab = check_labels(y)
        if lab.shape[0] != p.shape[0]:
            raise ValueError(
                f"X has {p.shape[0]} rows but y has {lab.shape[0]} labels; pass one label per row"
            )
        n_pos = int(lab.sum())
        if n_pos in (0, lab.size):
            raise ValueError(
                f"y holds a single class: all {lab.size} labels are {int(n_pos > 0)}. A "
                "recalibration needs both correct (1) and wrong (0) answers; add rows of the "
                "other class"
            )
        self.slope_, self.intercept_ = fit_logit_map(p, lab, prior_rows=self.prior_rows, eps=eps)
        self._set_fitted(int(lab.size))
        return self

    def _set_fitted(self, n_samples: int) -> None:
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = int(getattr(self.base, "n_features_in_", 1))
        self.n_samples_fit_ = n_samples

    @classmethod
    def from_map(
        cls, base: Any, *, slope: float, intercept: float, n_samples_fit: int = 0, **kw: Any
    ) -> RecalibratedCalibrator:
        """A fitted chain from a known map (e.g. a detector's older ``(slope, intercept)``)."""
        est = cls(base, **kw)
        est._check_base()
        est.slope_, est.intercept_ = float(slope), float(intercept)
        est._set_fitted(int(n_samples_fit))
        return est

    def confidence(self, X: Any) -> np.ndarray:
        """Calibrated P(correct): the base's, through the map.

        Parameters
        ----------
        X : array-like
            What ``base`` reads.

        Returns
        -------
        ndarray of shape (n,)
        """
        check_is_fitted(self, ["slope_", "intercept_"])
        p = self._base_confidence(X)
        z = logit(np.clip(p, self.eps, 1 - self.eps))
        return expit(self.slope_ * z + self.intercept_)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n, 2); column 1 is P(correct)."""
        p = self.confidence(X)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """The more likely label per row (1 = correct where P(correct) > 0.5), shape (n,)."""
        p = self.confidence(X)
        return self.classes_[(p > 0.5).astype(int)]

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.one_d_array = self.base is None
        tags.target_tags.required = True
        return tags

    # -- state -------------------------------------------------------------------------
    def get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Arrays and JSON-able parameters (the format of :mod:`howsure.core.state`).

        Returns
        -------
        arrays : dict of str to ndarray
            ``slope`` and ``intercept`` (shape (1,)), and the base's arrays under
            ``base.``.
        params : dict
            ``kind`` ``"recalibrated"``, ``hyperparameters`` (``prior_rows``, ``eps``),
            ``learned``, and ``base``: ``{"kind", "params"}`` of the base, or None.
        """
        check_is_fitted(self, ["slope_", "intercept_"])
        arrays = {"slope": np.array([self.slope_]), "intercept": np.array([self.intercept_])}
        params = state_params(
            self.kind,
            hyperparameters={"prior_rows": self.prior_rows, "eps": self.eps},
            learned={
                "n_samples_fit_": int(self.n_samples_fit_),
                "n_features_in_": int(self.n_features_in_),
            },
        )
        params["base"] = None
        if self.base is not None:
            base_arrays, base_params = self.base.get_state()
            arrays |= {f"base.{k}": np.asarray(v) for k, v in base_arrays.items()}
            params["base"] = {"kind": calibrator_kind(self.base), "params": base_params}
        return arrays, params

    @classmethod
    def from_state(
        cls, arrays: Mapping[str, Any], params: Mapping[str, Any]
    ) -> RecalibratedCalibrator:
        """Rebuild a fitted chain, its base included, with identical outputs."""
        hyper, learned = read_params(
            params, kind=cls.kind, owner=cls.__name__, known=("prior_rows", "eps")
        )
        check_arrays(arrays, ("slope", "intercept"), owner=cls.__name__)
        entry = params.get("base")
        base = None
        if entry is not None:
            inner = {k[len("base.") :]: v for k, v in arrays.items() if k.startswith("base.")}
            base = any_calibrator_from_state(entry["kind"], inner, entry["params"])
        return cls.from_map(
            base,
            slope=float(np.asarray(arrays["slope"]).ravel()[0]),
            intercept=float(np.asarray(arrays["intercept"]).ravel()[0]),
            n_samples_fit=int(learned.get("n_samples_fit_", 0)),
            **hyper,
        )


ALL_CALIBRATORS: dict[str, type] = {
    **CALIBRATORS,
    "stacked": StackedCalibrator,
    "recalibrated": RecalibratedCalibrator,
}
"""Every calibrator class of the package by the ``kind`` its state records: the one-input
ones of :data:`~howsure.calibration.calibrators.CALIBRATORS`, ``"stacked"`` and
``"recalibrated"``."""


def calibrator_kind(calibrator: Any) -> str:
    """The ``kind`` of a calibrator of :data:`ALL_CALIBRATORS` (``TypeError`` otherwise)."""
    for name, cls in ALL_CALIBRATORS.items():
        if type(calibrator) is cls:
            return name
    raise TypeError(
        f"unsupported calibrator {type(calibrator).__name__}; use one of {sorted(ALL_CALIBRATORS)}"
    )


def any_calibrator_from_state(
    kind: str, arrays: Mapping[str, Any], params: Mapping[str, Any]
) -> Any:
    """Rebuild a fitted calibrator of any kind of :data:`ALL_CALIBRATORS` from its state.

    Raises
    ------
    ValueError
        An unknown kind, or a state that does not fit it.
    """
    if kind not in ALL_CALIBRATORS:
        raise ValueError(
            f"unknown calibrator kind {kind!r}; this howsure reads {sorted(ALL_CALIBRATORS)}"
        )
    return ALL_CALIBRATORS[kind].from_state(arrays, params)
