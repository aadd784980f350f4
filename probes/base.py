"""What every linear probe shares: input validation, P(correct) read-outs, state export.

Sign convention (everywhere in :mod:`howsure`): scores are P(answer correct), higher
means surer. ``decision_function`` is the log-odds of "correct", ``predict_proba(X)[:, 1]``
and ``confidence(X)`` are P(correct), and ``direction_`` is a unit vector in activation
space pointing towards "correct". With labels other than ``{0, 1}`` the larger of the two
labels (``classes_[1]``) is read as "correct", as in scikit-learn.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

from howsure.core.state import check_arrays, read_params, state_params

__all__ = ["ProbeBase", "check_finite_rows", "standardise_params"]

_CONSTANT_FEATURE_TOL = 1e-8
"""A feature whose std is below ``tol * (1 + |mean|)`` is constant: its scale is 1."""


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_finite_rows(X: np.ndarray, *, name: str = "X") -> None:
    """Raise ``ValueError`` naming how many rows of ``X`` (n, d) hold NaN or inf, and the
    first of them."""
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(
            f"{name} contains NaN or inf in {rows.size} of {X.shape[0]} rows (first at row "
            f"{int(rows[0])}); drop those rows (and their labels) or re-collect them."
        )


def standardise_params(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and scales of ``X`` (n, d); constant columns get scale 1."""
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    constant = scale <= _CONSTANT_FEATURE_TOL * (1.0 + np.abs(mean))
    scale[constant] = 1.0
    return mean, scale


class ProbeBase(ClassifierMixin, BaseEstimator):
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
        check_finite_rows(X)
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
            shape (2,)), suitable for safetensors or ``np.savez`` and reloading with
            ``allow_pickle=False``.
        params : dict
            ``{"kind", "format_version", "hyperparameters", "learned"}``, plain JSON types
            (strict JSON: a NaN is exported as None), the state format of
            :mod:`howsure.core.state`. A ``random_state`` that is not an int or None is
            exported as None.

        See Also
        --------
        from_state : rebuild the probe from this state.
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
        hyper = self.get_params(deep=False)
        if "random_state" in hyper and not (
            hyper["random_state"] is None or _is_int(hyper["random_state"])
        ):
            hyper["random_state"] = None
        learned = {name: getattr(self, name) for name in self._state_scalars}
        learned["n_features_in_"] = int(self.n_features_in_)
        return arrays, state_params(self._kind, hyperparameters=hyper, learned=learned)

    @classmethod
    def from_state(cls, arrays: Mapping[str, np.ndarray], params: Mapping[str, Any]) -> Any:
        """Rebuild a fitted probe from :meth:`get_state` output.

        Parameters
        ----------
        arrays : mapping of str to ndarray
        params : mapping

        Returns
        -------
        probe
            A fitted probe whose outputs equal the exported one's.

        Raises
        ------
        ValueError
            Another kind or format version, unknown hyperparameters, missing or
            inconsistent arrays.
        """
        owner = cls.__name__
        hyper, learned = read_params(
            params, kind=cls._kind, owner=owner, known=cls._get_param_names()
        )
        hyper = {k: tuple(v) if isinstance(v, list) else v for k, v in hyper.items()}
        est = cls(**hyper)
        check_arrays(arrays, cls._state_arrays, owner=owner)
        missing = [n for n in (*cls._state_scalars, "n_features_in_") if n not in learned]
        if missing:
            raise ValueError(
                f"{owner} state lacks learned value(s) {missing}; pass the arrays and params "
                "returned together by get_state()"
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
