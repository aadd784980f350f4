"""Calibrators: map an uncalibrated score to an honest P(answer correct).

Sign convention (everywhere in :mod:`howsure.calibration`): a score is
P(answer correct), higher = surer, in [0, 1]; a label ``y`` is 1 = correct,
0 = wrong. Every calibrator here is monotone non-decreasing in the score (Platt
can flip only when the scores are inverted, and warns then).

The machinery they share (validation, the scikit-learn contract, state export without
pickle) is :class:`~howsure.calibration.base.BaseCalibrator`; here are the maps
themselves and their registry, :data:`CALIBRATORS`. Scores are clipped to
``[eps, 1 - eps]`` before any logit or log, and :func:`calibrator_from_state` rebuilds a
calibrator whose predictions are bit-identical.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit, logit
from sklearn.isotonic import IsotonicRegression

from howsure.calibration._validation import check_n_bins, check_positive_float
from howsure.calibration.base import BaseCalibrator, clip, fit_logistic

__all__ = [
    "CALIBRATORS",
    "BetaCalibrator",
    "HistogramCalibrator",
    "IdentityCalibrator",
    "IsotonicCalibrator",
    "PlattCalibrator",
    "TemperatureCalibrator",
    "calibrator_from_state",
    "make_calibrator",
]


class IdentityCalibrator(BaseCalibrator):
    """Leave scores as they are: the uncalibrated baseline.

    A score is P(correct), higher = surer; ``confidence`` returns it unchanged.
    ``fit`` only validates its input.

    Parameters
    ----------
    min_samples : int, default=20
        Fewest rows ``fit`` accepts.
    """

    kind = "identity"

    def __init__(self, *, min_samples: int = 20) -> None:
        self.min_samples = min_samples

    def _fit(self, s: np.ndarray, y: np.ndarray) -> None:
        return None

    def _predict(self, s: np.ndarray) -> np.ndarray:
        return s.copy()


class PlattCalibrator(BaseCalibrator):
    """Platt scaling: logistic regression on the logit of the score.

    ``P(correct) = sigmoid(a * logit(s) + b)`` with ``s`` clipped to
    ``[eps, 1 - eps]``. Fitted by maximum likelihood against Platt's (1999)
    smoothed targets ``(N+ + 1) / (N+ + 2)`` and ``1 / (N- + 2)``, which keeps
    ``a`` finite on separable data. A negative slope means higher scores are
    more often wrong (a sign-convention bug upstream?) and raises a warning.

    Parameters
    ----------
    min_samples : int, default=20
        Fewest rows ``fit`` accepts.
    eps : float, default=1e-7
        Scores are clipped to ``[eps, 1 - eps]`` before the logit.

    Attributes
    ----------
    coef_ : float
        Slope ``a`` on ``logit(s)``.
    intercept_ : float
        Intercept ``b``.
    """

    kind = "platt"
    _array_names = ("coef", "intercept")
    _fitted_attrs = ("coef_", "intercept_")

    def __init__(self, *, min_samples: int = 20, eps: float = 1e-7) -> None:
        self.min_samples = min_samples
        self.eps = eps

    def _fit(self, s: np.ndarray, y: np.ndarray) -> None:
        n_pos = y.sum()
        n_neg = y.size - n_pos
        targets = np.where(y == 1.0, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))
        w, c = fit_logistic(logit(clip(s, self.eps))[:, None], targets)
        self.coef_ = float(w[0])
        self.intercept_ = c
        if self.coef_ < -1e-6:
            warnings.warn(
                f"PlattCalibrator learned a negative slope ({self.coef_:.3g}): higher scores "
                "are more often wrong. Scores must be P(correct), higher = surer; check the "
                "sign of your scores.",
                RuntimeWarning,
                stacklevel=3,
            )

    def _predict(self, s: np.ndarray) -> np.ndarray:
        return expit(self.coef_ * logit(clip(s, self.eps)) + self.intercept_)

    def _get_arrays(self) -> dict[str, np.ndarray]:
        return {"coef": np.array([self.coef_]), "intercept": np.array([self.intercept_])}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.coef_ = float(arrays["coef"].ravel()[0])
        self.intercept_ = float(arrays["intercept"].ravel()[0])


class TemperatureCalibrator(BaseCalibrator):
    """Temperature scaling: one temperature on the logit of the score.

    ``P(correct) = sigmoid(logit(s) / T)`` with ``s`` clipped to ``[eps, 1 - eps]``.
    ``T`` minimises the negative log-likelihood (a convex problem in ``1 / T``,
    solved to machine precision with :func:`scipy.optimize.brentq`). ``T > 1``
    softens over-confident scores, ``T < 1`` sharpens. It cannot shift the
    scores (no bias term): scores that are systematically too high at 0.5 stay
    so -- use Platt or beta calibration then.

    Parameters
    ----------
    min_samples : int, default=20
        Fewest rows ``fit`` accepts.
    eps : float, default=1e-7
        Scores are clipped to ``[eps, 1 - eps]`` before the logit.
    max_temperature : float, default=1000.0
        ``T`` is searched in ``[1 / max_temperature, max_temperature]``; hitting the
        upper end (scores carry no signal, or inverted signal) raises a warning.

    Attributes
    ----------
    temperature_ : float
        The fitted temperature ``T``.
    """

    kind = "temperature"
    _array_names = ("temperature",)
    _fitted_attrs = ("temperature_",)

    def __init__(
        self, *, min_samples: int = 20, eps: float = 1e-7, max_temperature: float = 1000.0
    ) -> None:
        self.min_samples = min_samples
        self.eps = eps
        self.max_temperature = max_temperature

    def _check_params(self) -> None:
        super()._check_params()
        t = check_positive_float(self.max_temperature, name="max_temperature")
        if t <= 1.0:
            raise ValueError(
                f"max_temperature must be > 1 (the search range is [1/T, T]); got "
                f"{self.max_temperature!r}."
            )

    def _fit(self, s: np.ndarray, y: np.ndarray) -> None:
        z = logit(clip(s, self.eps))

        def grad(w: float) -> float:  # d/dw of the mean NLL of sigmoid(w * z); increasing
            return float(np.mean(z * (expit(w * z) - y)))

        lo, hi = 1.0 / self.max_temperature, self.max_temperature
        g_lo, g_hi = grad(lo), grad(hi)
        if g_lo >= 0.0:
            w = lo
            warnings.warn(
                f"TemperatureCalibrator hit the largest temperature ({self.max_temperature:g}): "
                "the scores carry no signal about correctness, or are inverted (higher "
                "score = more often wrong). Check that scores are P(correct), higher = surer.",
                RuntimeWarning,
                stacklevel=3,
            )
        elif g_hi <= 0.0:
            w = hi
            warnings.warn(
                f"TemperatureCalibrator hit the smallest temperature "
                f"({1.0 / self.max_temperature:g}): the scores separate the classes almost "
                "perfectly; the calibrated map is a near step function.",
                RuntimeWarning,
                stacklevel=3,
            )
        else:
            w = float(brentq(grad, lo, hi, xtol=1e-14, rtol=1e-14, maxiter=500))
        self.temperature_ = 1.0 / w

    def _predict(self, s: np.ndarray) -> np.ndarray:
        return expit(logit(clip(s, self.eps)) / self.temperature_)

    def _get_arrays(self) -> dict[str, np.ndarray]:
        return {"temperature": np.array([self.temperature_])}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.temperature_ = float(arrays["temperature"].ravel()[0])


class IsotonicCalibrator(BaseCalibrator):
    """Isotonic regression: the best non-decreasing step map from score to P(correct).

    Wraps :class:`sklearn.isotonic.IsotonicRegression` (increasing, outputs in
    [0, 1], scores outside the fitted range clipped to it) and predicts by linear
    interpolation between its thresholds. Non-parametric: needs a few hundred
    examples to beat Platt, and may output exactly 0 or 1 at the ends (use
    ``HistogramCalibrator`` or ``BetaCalibrator`` if that is a problem).

    Parameters
    ----------
    min_samples : int, default=20
        Fewest rows ``fit`` accepts.

    Attributes
    ----------
    x_thresholds_ : ndarray of shape (m,)
        Score knots, increasing.
    y_thresholds_ : ndarray of shape (m,)
        Calibrated P(correct) at the knots, non-decreasing.
    """

    kind = "isotonic"
    _array_names = ("x_thresholds", "y_thresholds")
    _fitted_attrs = ("x_thresholds_", "y_thresholds_")

    def __init__(self, *, min_samples: int = 20) -> None:
        self.min_samples = min_samples

    def _fit(self, s: np.ndarray, y: np.ndarray) -> None:
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
        iso.fit(s, y)
        self.x_thresholds_ = np.asarray(iso.X_thresholds_, dtype=np.float64).copy()
        self.y_thresholds_ = np.asarray(iso.y_thresholds_, dtype=np.float64).copy()

    def _predict(self, s: np.ndarray) -> np.ndarray:
        # np.interp clamps to the end values outside the knots: out_of_bounds="clip".
        return np.interp(s, self.x_thresholds_, self.y_thresholds_)

    def _get_arrays(self) -> dict[str, np.ndarray]:
        return {"x_thresholds": self.x_thresholds_, "y_thresholds": self.y_thresholds_}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        x, yv = arrays["x_thresholds"].ravel(), arrays["y_thresholds"].ravel()
        if x.size == 0 or x.size != yv.size:
            raise ValueError(
                f"isotonic state needs x_thresholds and y_thresholds of the same non-zero "
                f"length; got {x.size} and {yv.size}."
            )
        self.x_thresholds_, self.y_thresholds_ = x.copy(), yv.copy()


class HistogramCalibrator(BaseCalibrator):
    """Histogram binning: P(correct) = smoothed accuracy of the score's bin.

    Bins are equal-mass (``strategy="quantile"``, edges at score quantiles of the
    fitting data; tied quantiles merge, so there may be fewer bins) or equal-width
    (``"uniform"``). A bin's probability is ``(k + alpha) / (n + 2 * alpha)`` for
    ``k`` correct out of ``n`` (Laplace smoothing with ``alpha = 1``), so empty or
    extreme bins never give exactly 0 or 1 (an empty bin gives 0.5). Bins are
    ``[lower, upper)``, the last one closed.

    Parameters
    ----------
    n_bins : int, default=10
        Number of bins requested.
    strategy : {"quantile", "uniform"}, default="quantile"
        Equal-mass or equal-width bins.
    alpha : float, default=1.0
        Pseudo-count added to both the correct and the wrong count of each bin (> 0).
    min_samples : int, default=20
        Fewest rows ``fit`` accepts.

    Attributes
    ----------
    bin_edges_ : ndarray of shape (n_bins_ + 1,)
        Increasing edges, the first 0 and the last 1.
    bin_probs_ : ndarray of shape (n_bins_,)
        Calibrated P(correct) of each bin.
    bin_counts_ : ndarray of shape (n_bins_,)
        Fitting rows in each bin.
    n_bins_ : int
        Number of bins actually used.
    """

    kind = "histogram"
    _array_names = ("bin_edges", "bin_probs", "bin_counts")
    _fitted_attrs = ("bin_edges_", "bin_probs_")

    def __init__(
        self,
        *,
        n_bins: int = 10,
        strategy: Literal["quantile", "uniform"] = "quantile",
        alpha: float = 1.0,
        min_samples: int = 20,
    ) -> None:
        self.n_bins = n_bins
        self.strategy = strategy
        self.alpha = alpha
        self.min_samples = min_samples

    def _check_params(self) -> None:
        super()._check_params()
        check_n_bins(self.n_bins)
        check_positive_float(self.alpha, name="alpha")
        if self.strategy not in ("quantile", "uniform"):
            raise ValueError(
                f"strategy must be 'quantile' (equal-mass) or 'uniform' (equal-width); got "
                f"{self.strategy!r}."
            )

    def _fit(self, s: np.ndarray, y: np.ndarray) -> None:
        grid = np.linspace(0.0, 1.0, self.n_bins + 1)
        if self.strategy == "uniform":
            edges = grid
        else:
            edges = np.quantile(s, grid)
            edges[0], edges[-1] = 0.0, 1.0
            edges = np.unique(edges)
        idx = np.searchsorted(edges[1:-1], s, side="right")
        k = edges.size - 1
        counts = np.bincount(idx, minlength=k).astype(np.float64)
        hits = np.bincount(idx, weights=y, minlength=k)
        self.bin_edges_ = edges
        self.bin_counts_ = counts
        self.bin_probs_ = (hits + self.alpha) / (counts + 2.0 * self.alpha)
        self.n_bins_ = int(k)

    def _predict(self, s: np.ndarray) -> np.ndarray:
        return self.bin_probs_[np.searchsorted(self.bin_edges_[1:-1], s, side="right")]

    def _get_arrays(self) -> dict[str, np.ndarray]:
        return {
            "bin_edges": self.bin_edges_,
            "bin_probs": self.bin_probs_,
            "bin_counts": self.bin_counts_,
        }

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        edges, probs = arrays["bin_edges"].ravel(), arrays["bin_probs"].ravel()
        if edges.size != probs.size + 1 or probs.size == 0:
            raise ValueError(
                f"histogram state needs len(bin_edges) == len(bin_probs) + 1 >= 2; got "
                f"{edges.size} and {probs.size}."
            )
        self.bin_edges_ = edges.copy()
        self.bin_probs_ = probs.copy()
        self.bin_counts_ = arrays["bin_counts"].ravel().copy()
        self.n_bins_ = int(probs.size)


class BetaCalibrator(BaseCalibrator):
    """Beta calibration (Kull, Silva Filho & Flach, 2017).

    ``P(correct) = sigmoid(a * ln(s) - b * ln(1 - s) + c)``: logistic regression on
    the features ``[ln s, -ln(1 - s)]`` with ``s`` clipped to ``[eps, 1 - eps]``.
    It contains Platt scaling (``a == b``) and the identity (``a = b = 1, c = 0``)
    and can fix asymmetric miscalibration. Monotonicity needs ``a, b >= 0``; as
    in the paper's reference code, if the unconstrained fit gives ``a < 0`` the
    fit is redone with ``a = 0`` (feature ``-ln(1 - s)`` only), else if ``b < 0``
    with ``b = 0``; if the remaining slope is still negative (scores inverted) both
    are set to 0 -- a constant map at the base rate -- with a warning.

    Parameters
    ----------
    min_samples : int, default=20
        Fewest rows ``fit`` accepts.
    eps : float, default=1e-7
        Scores are clipped to ``[eps, 1 - eps]`` before the logs.

    Attributes
    ----------
    a_, b_, c_ : float
        The fitted parameters.
    """

    kind = "beta"
    _array_names = ("coef", "intercept")
    _fitted_attrs = ("a_", "b_", "c_")

    def __init__(self, *, min_samples: int = 20, eps: float = 1e-7) -> None:
        self.min_samples = min_samples
        self.eps = eps

    @staticmethod
    def _features(s: np.ndarray, eps: float) -> np.ndarray:
        sc = clip(s, eps)
        return np.column_stack([np.log(sc), -np.log1p(-sc)])

    def _fit(self, s: np.ndarray, y: np.ndarray) -> None:
        feats = self._features(s, self.eps)
        w, c = fit_logistic(feats, y)
        a, b = float(w[0]), float(w[1])
        if a < 0.0:
            (b,), c = fit_logistic(feats[:, 1:2], y)
            a = 0.0
        elif b < 0.0:
            (a,), c = fit_logistic(feats[:, 0:1], y)
            b = 0.0
        if a < 0.0 or b < 0.0:
            a = b = 0.0
            c = float(logit(np.clip(y.mean(), 1e-12, 1 - 1e-12)))
            warnings.warn(
                "BetaCalibrator found scores anti-correlated with correctness (higher score = "
                "more often wrong) and fell back to the constant base rate. Scores must be "
                "P(correct), higher = surer; check the sign of your scores.",
                RuntimeWarning,
                stacklevel=3,
            )
        self.a_, self.b_, self.c_ = float(a), float(b), float(c)

    def _predict(self, s: np.ndarray) -> np.ndarray:
        feats = self._features(s, self.eps)
        return expit(self.a_ * feats[:, 0] + self.b_ * feats[:, 1] + self.c_)

    def _get_arrays(self) -> dict[str, np.ndarray]:
        return {"coef": np.array([self.a_, self.b_]), "intercept": np.array([self.c_])}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        coef = arrays["coef"].ravel()
        if coef.size != 2:
            raise ValueError(f"beta state needs coef of length 2 ([a, b]); got {coef.size}.")
        self.a_, self.b_ = float(coef[0]), float(coef[1])
        self.c_ = float(arrays["intercept"].ravel()[0])


CALIBRATORS: dict[str, type[BaseCalibrator]] = {
    "platt": PlattCalibrator,
    "temperature": TemperatureCalibrator,
    "isotonic": IsotonicCalibrator,
    "histogram": HistogramCalibrator,
    "beta": BetaCalibrator,
    "identity": IdentityCalibrator,
}
"""Calibrator classes by name (the ``kind`` stored in their state)."""


def make_calibrator(kind: str) -> BaseCalibrator:
    """Return an unfitted calibrator of ``kind`` with default hyperparameters.

    Parameters
    ----------
    kind : str
        A key of :data:`CALIBRATORS`.

    Returns
    -------
    BaseCalibrator
    """
    return _lookup(kind)()


def _lookup(kind: Any) -> type[BaseCalibrator]:
    if not isinstance(kind, str):
        raise TypeError(f"kind must be a str; got {kind!r} of type {type(kind).__name__}.")
    try:
        return CALIBRATORS[kind]
    except KeyError:
        raise ValueError(
            f"unknown calibrator kind {kind!r}; choose one of {sorted(CALIBRATORS)}."
        ) from None


def calibrator_from_state(
    kind: str, arrays: Mapping[str, Any], params: Mapping[str, Any]
) -> BaseCalibrator:
    """Rebuild a fitted calibrator from ``get_state()`` output, without pickle.

    Parameters
    ----------
    kind : str
        A key of :data:`CALIBRATORS` (also stored as ``params["kind"]``).
    arrays : mapping of str to array-like
        The arrays part of ``get_state()`` (e.g. loaded back with ``np.load``).
    params : mapping
        The JSON-able part of ``get_state()`` (e.g. loaded back with ``json.load``).

    Returns
    -------
    BaseCalibrator
        A fitted calibrator whose predictions equal the original's exactly.

    Examples
    --------
    >>> arrays, params = PlattCalibrator().fit(scores, y).get_state()  # doctest: +SKIP
    >>> cal = calibrator_from_state(params["kind"], arrays, params)  # doctest: +SKIP
    """
    return _lookup(kind).from_state(arrays, params)
