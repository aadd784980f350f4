"""Linear probes for the "factuality direction" of a chat LM's hidden activations.

A probe reads activations ``X`` of shape ``(n_samples, d_model)`` (one layer, one token
position; see :mod:`howsure.probes.activations`) for questions the model answered,
labelled ``y = 1`` when the answer was correct and ``y = 0`` when it was wrong.

Sign convention (everywhere in :mod:`howsure`)
    Scores are P(answer correct): higher means surer. ``decision_function`` is the
    log-odds of "correct", ``predict_proba(X)[:, 1]`` and ``confidence(X)`` are
    P(correct), and ``direction_`` is a unit vector in the original activation space
    pointing towards "correct" (a larger projection means more likely correct).

    With labels other than ``{0, 1}`` the larger of the two labels (``classes_[1]``,
    e.g. ``True`` or ``1``) is read as "correct", as in scikit-learn.

Probes
    :class:`LogisticProbe`
        Standardised features, L2 logistic regression (lbfgs), C chosen by inner
        stratified cross-validation on log-loss.
    :class:`MassMeanProbe`
        Difference of class means (optionally whitened by a Ledoit-Wolf shrinkage
        covariance), mapped to a probability by a 1-D logistic fit.

Both follow the scikit-learn estimator contract (validation and read-outs in
:class:`~howsure.probes.base.ProbeBase`), and neither is ever pickled for storage:
:meth:`~LogisticProbe.get_state` exports a fitted probe as numpy arrays plus JSON-able
parameters (:mod:`howsure.core.state`), and :func:`probe_from_state` rebuilds an
equivalent fitted probe with identical outputs.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import scipy.linalg
from sklearn.covariance import LedoitWolf
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.validation import check_is_fitted

from howsure.core.checks import check_int, check_real
from howsure.probes.base import ProbeBase, standardise_params

__all__ = [
    "DEFAULT_CS",
    "PROBES",
    "LogisticProbe",
    "MassMeanProbe",
    "ProbeKind",
    "probe_from_state",
]

ProbeKind = Literal["logistic", "mass_mean"]

DEFAULT_CS: tuple[float, ...] = tuple(float(c) for c in np.logspace(-4, 1, 8))
"""Default grid of inverse L2 strengths for :class:`LogisticProbe` (``1e-4 .. 10``)."""


def _check_C(value: Any) -> float:
    return check_real(value, "C", min_val=0.0, include_boundaries="neither")


# --------------------------------------------------------------------------- logistic


class LogisticProbe(ProbeBase):
    """L2 logistic regression on standardised activations; C by inner cross-validation.

    Features are standardised with the training mean and std (stored as ``mean_`` and
    ``scale_``; constant features get scale 1). Unless ``C`` is given, the inverse
    regularisation strength is chosen from ``Cs`` by stratified ``cv``-fold
    cross-validation on **log-loss** (a proper scoring rule, so C is chosen for the
    quality of the probabilities, not only their ranking); each inner fold is
    standardised on its own training part. Ties go to the smaller C (stronger
    regularisation). The probe is then refitted on all the data with ``C_``.

    Sign convention: ``decision_function`` is the log-odds that the answer is correct,
    ``predict_proba(X)[:, 1]`` is P(correct), and ``direction_`` points towards
    "correct".

    Parameters
    ----------
    Cs : sequence of float, default=DEFAULT_CS
        Candidate inverse L2 strengths (in standardised space), stored as given;
        the default is ``np.logspace(-4, 1, 8)``. Ignored when ``C`` is set.
    C : float or None, default=None
        Fixed inverse L2 strength; skips the inner cross-validation.
    cv : int, default=5
        Number of inner stratified folds (shuffled with ``random_state``). Each class
        needs at least ``cv`` samples unless ``C`` is set.
    max_iter : int, default=1000
        Maximum lbfgs iterations per fit.
    random_state : int, RandomState instance or None, default=0
        Seed of the inner fold shuffling.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        Labels; ``classes_[1]`` is "correct".
    mean_ : ndarray of shape (n_features,)
        Training mean of each feature.
    scale_ : ndarray of shape (n_features,)
        Training std of each feature (1 for constant features).
    coef_ : ndarray of shape (1, n_features)
        Weights in standardised space.
    intercept_ : ndarray of shape (1,)
        Intercept in standardised space.
    C_ : float
        The inverse L2 strength used for the final fit.
    Cs_ : ndarray of shape (n_Cs,)
        Sorted candidate Cs (only when C was chosen by cross-validation).
    cv_log_loss_ : ndarray of shape (n_Cs,)
        Mean inner-fold log-loss of each of ``Cs_`` (only when C was chosen by
        cross-validation).
    direction_ : ndarray of shape (n_features,)
        Unit-norm direction in the original activation space, ``coef_ / scale_``
        normalised; a larger projection means more likely correct.
    n_iter_ : int
        lbfgs iterations of the final fit.
    n_features_in_ : int
        Number of features seen in fit.

    Examples
    --------
    >>> probe = LogisticProbe().fit(X_train, y_train)      # doctest: +SKIP
    >>> p_correct = probe.confidence(X_test)                # doctest: +SKIP
    """

    _kind: ClassVar[str] = "logistic"
    _state_arrays: ClassVar[tuple[str, ...]] = (
        "classes_",
        "mean_",
        "scale_",
        "coef_",
        "intercept_",
        "direction_",
    )
    _optional_state_arrays: ClassVar[tuple[str, ...]] = ("Cs_", "cv_log_loss_")
    _state_scalars: ClassVar[tuple[str, ...]] = ("C_", "n_iter_")

    def __init__(
        self,
        *,
        Cs: Sequence[float] | np.ndarray = DEFAULT_CS,
        C: float | None = None,
        cv: int = 5,
        max_iter: int = 1000,
        random_state: int | np.random.RandomState | None = 0,
    ) -> None:
        self.Cs = Cs
        self.C = C
        self.cv = cv
        self.max_iter = max_iter
        self.random_state = random_state

    def _check_params(self) -> tuple[float | None, np.ndarray | None]:
        check_int(self.max_iter, "max_iter", min_val=1)
        if self.C is not None:
            return _check_C(self.C), None
        check_int(self.cv, "cv", min_val=2)
        try:
            Cs = np.asarray(self.Cs, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"Cs must be a sequence of floats > 0; got {self.Cs!r}. Pass e.g. "
                "np.logspace(-4, 1, 8), or set C to fix it."
            ) from exc
        if Cs.ndim != 1 or Cs.size == 0 or not np.all(np.isfinite(Cs)) or np.any(Cs <= 0):
            raise ValueError(
                f"Cs must be a non-empty 1-D sequence of finite floats > 0; got {self.Cs!r}. "
                "Pass e.g. np.logspace(-4, 1, 8), or set C to fix it."
            )
        return None, np.unique(Cs)

    def _new_model(self, C: float) -> LogisticRegression:
        return LogisticRegression(C=C, solver="lbfgs", max_iter=int(self.max_iter))

    def fit(self, X: Any, y: Any) -> LogisticProbe:
        """Fit the probe.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Activations, finite.
        y : array-like of shape (n_samples,)
            1 = answer correct, 0 = answer wrong (any two labels: the larger is
            "correct").

        Returns
        -------
        self : LogisticProbe

        Raises
        ------
        ValueError
            For bad hyperparameters, X that is not 2-D or has NaN / inf rows, y that
            is not binary or has one class, or a class with fewer than ``cv`` samples.
        """
        C, Cs = self._check_params()
        X, y01 = self._validate_fit(X, y)
        if C is None:
            counts = np.bincount(y01, minlength=2)
            if counts.min() < self.cv:
                small = int(np.argmin(counts))
                label = self.classes_.tolist()[small]
                raise ValueError(
                    f"class {label!r} has only {int(counts[small])} samples, fewer than "
                    f"cv={self.cv} folds; collect more questions, lower cv, or "
                    "fix C to skip the inner cross-validation."
                )
            self.Cs_ = Cs
            self.cv_log_loss_ = self._cv_log_loss(X, y01, Cs)
            C = float(Cs[int(np.argmin(self.cv_log_loss_))])
        else:
            for name in ("Cs_", "cv_log_loss_"):
                if hasattr(self, name):
                    delattr(self, name)
        self.mean_, self.scale_ = standardise_params(X)
        Z = X - self.mean_  # standardised in place: one copy of X at a time, not two
        Z /= self.scale_
        model = self._new_model(C).fit(Z, y01)
        del Z
        self.C_ = C
        self.n_iter_ = int(np.max(model.n_iter_))
        self.coef_ = model.coef_.reshape(1, -1).astype(np.float64)
        self.intercept_ = model.intercept_.reshape(1).astype(np.float64)
        w = self.coef_[0] / self.scale_
        norm = float(np.linalg.norm(w))
        if norm == 0.0:
            warnings.warn(
                f"LogisticProbe learned all-zero weights (C={C:g}); direction_ is zero. "
                "The activations carry no usable signal at this C: try larger Cs.",
                RuntimeWarning,
                stacklevel=2,
            )
            self.direction_ = np.zeros_like(w)
        else:
            self.direction_ = w / norm
        return self

    def _cv_log_loss(self, X: np.ndarray, y01: np.ndarray, Cs: np.ndarray) -> np.ndarray:
        """Mean held-out log-loss per C (ascending Cs, warm-started along the path)."""
        folds = StratifiedKFold(n_splits=self.cv, shuffle=True, random_state=self.random_state)
        losses = np.zeros((self.cv, Cs.size))
        for k, (train, test) in enumerate(folds.split(X, y01)):
            mean, scale = standardise_params(X[train])
            Z_train, Z_test = X[train], X[test]  # fresh copies: standardise in place
            Z_train -= mean
            Z_train /= scale
            Z_test -= mean
            Z_test /= scale
            model = self._new_model(float(Cs[0]))
            model.set_params(warm_start=True)
            for j, c in enumerate(Cs):
                model.set_params(C=float(c))
                model.fit(Z_train, y01[train])
                p = model.predict_proba(Z_test)
                losses[k, j] = log_loss(y01[test], p, labels=[0, 1])
        return losses.mean(axis=0)

    def decision_function(self, X: Any) -> np.ndarray:
        """Log-odds that the answer is correct.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Higher = more likely correct; > 0 predicts ``classes_[1]``.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return ((X - self.mean_) / self.scale_) @ self.coef_[0] + self.intercept_[0]


# --------------------------------------------------------------------------- mass mean


class MassMeanProbe(ProbeBase):
    """Difference-of-means probe, optionally whitened, with a 1-D logistic read-out.

    The direction is ``mean(correct) - mean(wrong)``; with ``whiten=True`` it is
    ``Σ⁻¹ (μ_correct − μ_wrong)`` where Σ is the Ledoit-Wolf shrinkage estimate of the
    pooled within-class covariance (useful when the noise is anisotropic). The
    direction is normalised to unit length and points towards "correct". The
    projection ``s = (x − midpoint_) · direction_`` is mapped to P(correct) by a 1-D
    L2 logistic fit ``sigmoid(a_ * s + b_)`` (fitted on the standardised projection,
    then expressed on the raw one).

    Sign convention: ``decision_function`` is the log-odds that the answer is correct,
    ``predict_proba(X)[:, 1]`` is P(correct), and ``direction_`` points towards
    "correct".

    Parameters
    ----------
    whiten : bool, default=False
        Use the shrinkage covariance to whiten the mean difference.
    C : float, default=1.0
        Inverse L2 strength of the 1-D logistic fit on the standardised projection.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        Labels; ``classes_[1]`` is "correct".
    mean_correct_ : ndarray of shape (n_features,)
        Mean activation of the correct answers.
    mean_wrong_ : ndarray of shape (n_features,)
        Mean activation of the wrong answers.
    midpoint_ : ndarray of shape (n_features,)
        ``(mean_correct_ + mean_wrong_) / 2``; projections are taken from here.
    direction_ : ndarray of shape (n_features,)
        Unit-norm direction pointing towards "correct".
    shrinkage_ : float
        Ledoit-Wolf shrinkage coefficient (NaN when ``whiten=False``).
    a_ : float
        Slope of the 1-D logistic on the projection (> 0 unless the fit is degenerate).
    b_ : float
        Intercept of the 1-D logistic.
    n_features_in_ : int
        Number of features seen in fit.
    """

    _kind: ClassVar[str] = "mass_mean"
    _state_arrays: ClassVar[tuple[str, ...]] = (
        "classes_",
        "mean_correct_",
        "mean_wrong_",
        "midpoint_",
        "direction_",
    )
    _state_scalars: ClassVar[tuple[str, ...]] = ("shrinkage_", "a_", "b_")

    def __init__(self, *, whiten: bool = False, C: float = 1.0) -> None:
        self.whiten = whiten
        self.C = C

    def fit(self, X: Any, y: Any) -> MassMeanProbe:
        """Fit the probe.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Activations, finite.
        y : array-like of shape (n_samples,)
            1 = answer correct, 0 = answer wrong (any two labels: the larger is
            "correct").

        Returns
        -------
        self : MassMeanProbe

        Raises
        ------
        ValueError
            For bad hyperparameters, X that is not 2-D or has NaN / inf rows, or y that
            is not binary or has one class.
        TypeError
            When ``whiten`` is not a bool.
        """
        if not isinstance(self.whiten, (bool, np.bool_)):
            raise TypeError(f"whiten must be True or False; got {self.whiten!r}")
        C = _check_C(self.C)
        X, y01 = self._validate_fit(X, y)
        mu1 = X[y01 == 1].mean(axis=0)
        mu0 = X[y01 == 0].mean(axis=0)
        diff = mu1 - mu0
        self.shrinkage_ = float("nan")
        if self.whiten:
            centred = X - np.where((y01 == 1)[:, None], mu1, mu0)
            lw = LedoitWolf(assume_centered=True).fit(centred)
            self.shrinkage_ = float(lw.shrinkage_)
            try:
                diff = scipy.linalg.solve(lw.covariance_, diff, assume_a="pos")
            except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
                diff = np.linalg.lstsq(lw.covariance_, diff, rcond=None)[0]
        norm = float(np.linalg.norm(diff))
        self.mean_correct_, self.mean_wrong_ = mu1, mu0
        self.midpoint_ = (mu1 + mu0) / 2.0
        if norm == 0.0 or not np.isfinite(norm):
            warnings.warn(
                "MassMeanProbe: the class means are identical, so direction_ is zero and "
                "every sample gets the base rate; the activations carry no mean signal.",
                RuntimeWarning,
                stacklevel=2,
            )
            self.direction_ = np.zeros_like(diff)
        else:
            self.direction_ = diff / norm
        s = (X - self.midpoint_) @ self.direction_
        spread = float(s.std())
        if spread == 0.0:
            spread = 1.0
        readout = LogisticRegression(C=C, solver="lbfgs", max_iter=1000)
        readout.fit((s / spread)[:, None], y01)
        self.a_ = float(readout.coef_[0, 0] / spread)
        self.b_ = float(readout.intercept_[0])
        if self.a_ < 0:
            warnings.warn(
                f"MassMeanProbe: the 1-D read-out has a negative slope (a_={self.a_:.3g}), "
                "so a larger projection on direction_ does not mean 'more likely "
                "correct' on this data; the signal is too weak for this probe.",
                RuntimeWarning,
                stacklevel=2,
            )
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Log-odds that the answer is correct, ``a_ * projection + b_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Higher = more likely correct (when ``a_ > 0``); > 0 predicts ``classes_[1]``.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self.a_ * ((X - self.midpoint_) @ self.direction_) + self.b_


# --------------------------------------------------------------------------- registry

PROBES: dict[str, type[ProbeBase]] = {"logistic": LogisticProbe, "mass_mean": MassMeanProbe}
"""Probe classes by the ``kind`` name used in states and sweeps."""


def probe_from_state(
    kind: ProbeKind, arrays: Mapping[str, np.ndarray], params: Mapping[str, Any]
) -> LogisticProbe | MassMeanProbe:
    """Rebuild a fitted probe from :meth:`get_state` output, without pickle.

    Parameters
    ----------
    kind : {"logistic", "mass_mean"}
        Which probe (a key of :data:`PROBES`); must match ``params["kind"]`` if present.
    arrays : mapping of str to ndarray
        The learned arrays, e.g. a loaded ``np.load(path, allow_pickle=False)``.
    params : mapping
        The JSON-able parameters.

    Returns
    -------
    probe : LogisticProbe or MassMeanProbe
        A fitted probe whose outputs equal the exported one's.

    Raises
    ------
    ValueError
        For an unknown kind, a kind mismatch, or missing / inconsistent state.
    """
    if kind not in PROBES:
        raise ValueError(f"unknown probe kind {kind!r}; choose one of {sorted(PROBES)}")
    saved = params.get("kind", kind)
    if saved != kind:
        raise ValueError(
            f"probe state is for kind {saved!r} but kind={kind!r} was requested; pass "
            f"kind={saved!r}."
        )
    return PROBES[kind].from_state(arrays, params)
