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

Both follow the scikit-learn estimator contract, and neither is ever pickled for
storage: :meth:`~LogisticProbe.get_state` exports a fitted probe as numpy arrays plus
JSON-able parameters, and :func:`probe_from_state` rebuilds an equivalent fitted probe
with identical outputs.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.covariance import LedoitWolf
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

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

STATE_FORMAT = 1
"""Version of the :meth:`get_state` layout; bumped when it changes incompatibly."""

_CONSTANT_FEATURE_TOL = 1e-8
"""A feature whose std is below ``tol * (1 + |mean|)`` is constant: its scale is 1."""


# --------------------------------------------------------------------------- helpers


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_positive_real(name: str, value: Any) -> float:
    if not _is_real(value) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite float > 0; got {value!r}")
    return float(value)


def _check_int(name: str, value: Any, minimum: int) -> int:
    if not _is_int(value) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}; got {value!r}")
    return int(value)


def _standardise_params(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and scales of ``X`` (n, d); constant columns get scale 1."""
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    constant = scale <= _CONSTANT_FEATURE_TOL * (1.0 + np.abs(mean))
    scale[constant] = 1.0
    return mean, scale


def _jsonable(value: Any) -> Any:
    """Hyperparameter value as plain JSON types (numpy scalars and arrays unwrapped)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None  # strict JSON has no NaN; read back as NaN
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


# --------------------------------------------------------------------------- base


class _ProbeBase(ClassifierMixin, BaseEstimator):
    """Shared validation, prediction and state export of the binary probes.

    Subclasses set ``_kind``, ``_state_arrays`` (learned numpy arrays) and
    ``_state_scalars`` (learned floats / ints) and implement ``fit`` and
    ``decision_function``.
    """

    _kind: ClassVar[str]
    _state_arrays: ClassVar[tuple[str, ...]]
    _optional_state_arrays: ClassVar[tuple[str, ...]] = ()
    _state_scalars: ClassVar[tuple[str, ...]]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.sparse = False
        return tags

    # ---- validation

    def _validate_X(self, X: Any, *, reset: bool) -> np.ndarray:
        """Return ``X`` as a finite float64 array of shape (n_samples, n_features)."""
        name = type(self).__name__
        if sp.issparse(X):
            raise TypeError(
                f"{name} needs dense activations; got a sparse {type(X).__name__} of shape "
                f"{X.shape}. Convert it with X.toarray()."
            )
        raw = X
        X = check_array(
            X,
            dtype=np.float64,
            ensure_2d=False,
            allow_nd=True,
            ensure_all_finite=False,
            input_name="X",
        )
        if X.ndim != 2:
            if X.ndim == 1:
                hint = (
                    "Reshape your data with X.reshape(1, -1) for a single sample or "
                    "X.reshape(-1, 1) for a single feature."
                )
            else:
                hint = (
                    "Select one layer and one token position first, e.g. "
                    "features[(layer, position)], or flatten the extra axes."
                )
            raise ValueError(
                f"X must be 2-D with shape (n_samples, n_features); got a {X.ndim}-D array "
                f"of shape {X.shape}. {hint}"
            )
        bad = ~np.isfinite(X).all(axis=1)
        if bad.any():
            rows = np.flatnonzero(bad)
            raise ValueError(
                f"X contains NaN or inf in {rows.size} of {X.shape[0]} rows (first at row "
                f"{int(rows[0])}); drop those rows (and their labels) or re-collect them."
            )
        if not reset and hasattr(self, "n_features_in_") and X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {name} is expecting "
                f"{self.n_features_in_} features as input: got X of shape {X.shape}, "
                f"expected (n_samples, {self.n_features_in_}). Use activations of the same "
                "model, layer and position the probe was fitted on."
            )
        # feature names and n_features_in_ bookkeeping, on the caller's object
        validate_data(self, raw, reset=reset, skip_check_array=True)
        return X

    def _validate_y(self, y: Any, n_samples: int) -> np.ndarray:
        """Set ``classes_``; return y encoded as 0 (wrong) / 1 (correct)."""
        name = type(self).__name__
        if y is None:
            raise ValueError(
                f"{name} requires y to be passed, but the target y is None; pass labels "
                "with 1 = answer correct, 0 = answer wrong."
            )
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if y.shape[0] != n_samples:
            raise ValueError(
                f"X has {n_samples} rows but y has {y.shape[0]} labels; give one label per "
                "row of X."
            )
        classes, encoded, counts = np.unique(y, return_inverse=True, return_counts=True)
        if classes.size == 1:
            raise ValueError(
                f"y has only one class ({classes.tolist()[0]!r}, n={int(counts[0])}): need both "
                "correct and wrong answers; collect more questions."
            )
        if classes.size > 2:
            shown = ", ".join(repr(c) for c in classes[:6].tolist())
            more = ", ..." if classes.size > 6 else ""
            raise ValueError(
                f"Only binary classification is supported. y must be binary (1 = correct, "
                f"0 = wrong); got {classes.size} classes [{shown}{more}]. Map the labels to "
                "correct / wrong first."
            )
        self.classes_ = classes
        return encoded.astype(np.int64)

    def _validate_fit(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        X = self._validate_X(X, reset=True)
        y01 = self._validate_y(y, X.shape[0])
        return X, y01

    # ---- prediction

    def decision_function(self, X: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Activations.

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
            Column 0 is P(wrong), column 1 is P(correct) (``classes_`` order).
        """
        z = self.decision_function(X)
        p = expit(z)
        return np.column_stack([expit(-z), p])

    def predict(self, X: Any) -> np.ndarray:
        """Predicted label: ``classes_[1]`` (correct) where the log-odds are > 0.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        z = self.decision_function(X)
        return self.classes_[(z > 0).astype(np.intp)]

    def confidence(self, X: Any) -> np.ndarray:
        """P(answer correct) per sample, uncalibrated (higher = surer).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        confidence : ndarray of shape (n_samples,)
            Equal to ``predict_proba(X)[:, 1]``. Calibrate it on held-out data before
            reading it as a frequency.
        """
        return expit(self.decision_function(X))

    # ---- state

    def get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Export the fitted probe as numpy arrays plus JSON-able parameters (no pickle).

        Returns
        -------
        arrays : dict of str to ndarray
            Learned arrays (e.g. ``direction_`` of shape (n_features,), ``classes_`` of
            shape (2,)), suitable for ``np.savez(..., **arrays)`` and reloading with
            ``allow_pickle=False``.
        params : dict
            ``{"kind", "format", "hyperparameters", "learned"}``, plain JSON types
            (strict JSON: a NaN is exported as None). A ``random_state`` that is not an
            int or None is exported as None.

        See Also
        --------
        probe_from_state : rebuild the probe from this state.
        """
        check_is_fitted(self)
        arrays: dict[str, np.ndarray] = {}
        for name in (*self._state_arrays, *self._optional_state_arrays):
            if hasattr(self, name):
                arrays[name] = np.array(getattr(self, name), copy=True)
        if arrays["classes_"].dtype == object:
            # object arrays would need pickle to load; labels are str / numbers
            arrays["classes_"] = np.asarray(arrays["classes_"].tolist())
        if hasattr(self, "feature_names_in_"):
            arrays["feature_names_in_"] = np.asarray(self.feature_names_in_.tolist(), dtype=str)
        hyper = {k: _jsonable(v) for k, v in self.get_params(deep=False).items()}
        if "random_state" in hyper and not (
            hyper["random_state"] is None or _is_int(hyper["random_state"])
        ):
            hyper["random_state"] = None
        learned = {name: _jsonable(getattr(self, name)) for name in self._state_scalars}
        learned["n_features_in_"] = int(self.n_features_in_)
        params = {
            "kind": self._kind,
            "format": STATE_FORMAT,
            "hyperparameters": hyper,
            "learned": learned,
        }
        return arrays, params

    @classmethod
    def _from_state(cls, arrays: Mapping[str, np.ndarray], params: Mapping[str, Any]):
        fmt = params.get("format", STATE_FORMAT)
        if fmt != STATE_FORMAT:
            raise ValueError(
                f"probe state has format {fmt!r}, this howsure reads format {STATE_FORMAT}; "
                "refit the probe or use the howsure version that saved it."
            )
        hyper = dict(params.get("hyperparameters", {}))
        known = set(cls().get_params(deep=False))
        unknown = sorted(set(hyper) - known)
        if unknown:
            raise ValueError(
                f"probe state has unknown {cls.__name__} hyperparameters {unknown}; "
                f"expected a subset of {sorted(known)}. Was it saved by another version?"
            )
        hyper = {k: tuple(v) if isinstance(v, list) else v for k, v in hyper.items()}
        est = cls(**hyper)
        missing = [name for name in cls._state_arrays if name not in arrays]
        learned = dict(params.get("learned", {}))
        missing += [name for name in (*cls._state_scalars, "n_features_in_") if name not in learned]
        if missing:
            raise ValueError(
                f"probe state for {cls.__name__} lacks {missing}; pass the arrays and "
                "params returned together by get_state()."
            )
        for name in (*cls._state_arrays, *cls._optional_state_arrays):
            if name in arrays:
                setattr(est, name, np.array(arrays[name], copy=True))
        if "feature_names_in_" in arrays:
            est.feature_names_in_ = np.asarray(arrays["feature_names_in_"], dtype=object)
        for name in cls._state_scalars:
            setattr(est, name, float("nan") if learned[name] is None else learned[name])
        est.n_features_in_ = int(learned["n_features_in_"])
        d = est.n_features_in_
        if est.direction_.shape != (d,) or est.classes_.shape != (2,):
            raise ValueError(
                f"inconsistent probe state: direction_ has shape {est.direction_.shape} and "
                f"classes_ {est.classes_.shape}, expected ({d},) and (2,) for "
                f"n_features_in_={d}."
            )
        return est


# --------------------------------------------------------------------------- logistic


class LogisticProbe(_ProbeBase):
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
        _check_int("max_iter", self.max_iter, 1)
        if self.C is not None:
            return _check_positive_real("C", self.C), None
        _check_int("cv", self.cv, 2)
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
        self.mean_, self.scale_ = _standardise_params(X)
        model = self._new_model(C).fit((X - self.mean_) / self.scale_, y01)
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
            mean, scale = _standardise_params(X[train])
            Z_train = (X[train] - mean) / scale
            Z_test = (X[test] - mean) / scale
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


class MassMeanProbe(_ProbeBase):
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
        C = _check_positive_real("C", self.C)
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

PROBES: dict[str, type[_ProbeBase]] = {"logistic": LogisticProbe, "mass_mean": MassMeanProbe}
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
    return PROBES[kind]._from_state(arrays, params)
