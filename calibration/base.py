"""What every calibrator shares: validation, predictions, the sklearn contract and state.

Sign convention (everywhere in :mod:`howsure.calibration`): a score is P(answer
correct), higher = surer, in [0, 1]; a label ``y`` is 1 = correct, 0 = wrong.

All calibrators follow the scikit-learn estimator contract: ``__init__`` only stores
hyperparameters, ``fit(X, y)`` returns ``self``, learned state ends in ``_``. ``X`` is
array-like of shape (n,) or (n, 1). Every calibrator of the package (these, the stacked
one and the recalibrated chain) answers the same three questions:
``confidence(X)`` is the calibrated P(correct), shape (n,); ``predict(X)`` the more
likely label (1 = correct when P(correct) > 0.5), as a scikit-learn classifier's;
``predict_proba(X)`` both classes' probabilities, shape (n, 2). Fitted state never goes
through pickle:
:meth:`BaseCalibrator.get_state` returns ``(arrays, params)`` in the format of
:mod:`howsure.core.state`, and :meth:`BaseCalibrator.from_state` rebuilds an equivalent
calibrator whose predictions are bit-identical.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, logit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import Tags, TransformerTags
from sklearn.utils.validation import check_is_fitted

from howsure.calibration._validation import (
    check_fraction,
    check_positive_int,
    check_scores,
    check_scores_labels,
)
from howsure.core.state import check_arrays, read_params, state_params

__all__ = ["BaseCalibrator", "clip", "fit_logistic"]

_RIDGE = 1e-8  # tiny L2 on logistic slopes: keeps them finite on separable data


def clip(s: np.ndarray, eps: float) -> np.ndarray:
    """Scores clipped to ``[eps, 1 - eps]`` before any logit or log."""
    return np.clip(s, eps, 1.0 - eps)


def fit_logistic(
    features: np.ndarray, targets: np.ndarray, *, ridge: float = _RIDGE
) -> tuple[np.ndarray, float]:
    """Minimise the mean logistic loss of ``sigmoid(features @ w + c)`` against ``targets``.

    Parameters
    ----------
    features : ndarray of shape (n, k)
    targets : ndarray of shape (n,)
        Targets in [0, 1] (soft targets allowed).
    ridge : float
        L2 penalty ``ridge / 2 * ||w||^2`` on the slopes (not the intercept).

    Returns
    -------
    w : ndarray of shape (k,)
    c : float
    """
    n, k = features.shape
    design = np.column_stack([features, np.ones(n)])

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = design @ theta
        value = float(np.mean(np.logaddexp(0.0, z) - targets * z))
        grad = design.T @ (expit(z) - targets) / n
        value += 0.5 * ridge * float(theta[:k] @ theta[:k])
        grad[:k] += ridge * theta[:k]
        return value, grad

    theta0 = np.zeros(k + 1)  # slopes 0: directions the data cannot see stay at 0
    base = float(np.clip(targets.mean(), 1e-6, 1 - 1e-6))
    theta0[k] = float(logit(base))
    result = minimize(
        loss,
        theta0,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 2000, "gtol": 1e-10, "ftol": 1e-14},
    )
    theta = np.asarray(result.x, dtype=np.float64)
    return theta[:k].copy(), float(theta[k])


class BaseCalibrator(ClassifierMixin, BaseEstimator):
    """Shared machinery of the calibrators; not meant to be used directly.

    Subclasses implement ``_fit(s, y)``, ``_predict(s)`` (the calibrated P(correct)),
    ``_get_arrays()`` and ``_set_arrays(arrays)`` on 1-D float64 scores ``s`` in [0, 1]
    and labels ``y`` in {0, 1} (1 = correct).
    """

    kind: ClassVar[str] = ""
    _array_names: ClassVar[tuple[str, ...]] = ()
    _fitted_attrs: ClassVar[tuple[str, ...]] = ("n_samples_fit_",)

    # ---- hooks -----------------------------------------------------------------
    def _check_params(self) -> None:
        check_positive_int(self.min_samples, name="min_samples", minimum=1)
        if hasattr(self, "eps"):
            v = check_fraction(self.eps, name="eps")
            if v >= 0.5:
                raise ValueError(f"eps must be a small number in (0, 0.5); got {self.eps!r}.")

    def _fit(self, s: np.ndarray, y: np.ndarray) -> None:
        raise NotImplementedError

    def _predict(self, s: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _get_arrays(self) -> dict[str, np.ndarray]:
        return {}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        return None

    # ---- public API --------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> BaseCalibrator:
        """Learn the map from scores to P(correct).

        Parameters
        ----------
        X : array-like of shape (n,) or (n, 1)
            Uncalibrated scores in [0, 1]; a score is P(answer correct), higher = surer.
        y : array-like of shape (n,) or (n, 1)
            Labels, 1 = answer correct, 0 = wrong.

        Returns
        -------
        self
            The fitted calibrator.

        Raises
        ------
        ValueError
            Wrong shape, length mismatch, NaN/inf or out-of-range scores, non-binary
            labels, fewer than ``min_samples`` rows, or labels of a single class.
        TypeError
            Non-numeric input or a hyperparameter of the wrong type.
        """
        self._check_params()
        name = type(self).__name__
        if y is None:
            raise ValueError(
                f"{name} requires y to be passed, but the target y is None. Pass labels, "
                "1 = answer correct and 0 = wrong, one per score."
            )
        s, lab = check_scores_labels(X, y)
        n = s.shape[0]
        if n < self.min_samples:
            raise ValueError(
                f"{name} needs at least min_samples={self.min_samples} rows to fit; got {n}. "
                "Collect more labelled examples, or lower min_samples if you accept a "
                "noisy calibration map."
            )
        n_pos = int(lab.sum())
        if n_pos == 0 or n_pos == n:
            cls, word = (1, "correct") if n_pos == n else (0, "wrong")
            raise ValueError(
                f"y holds a single class: all {n} labels are {cls} ({word}). A calibrator "
                "needs both correct (1) and wrong (0) examples; add examples of the other "
                "class, or use IdentityCalibrator / the base rate if you cannot."
            )
        self._fit(s, lab)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = 1
        self.n_samples_fit_ = n
        return self

    def confidence(self, X: Any) -> np.ndarray:
        """Calibrated P(correct) for each score.

        Parameters
        ----------
        X : array-like of shape (n,) or (n, 1)
            Uncalibrated scores in [0, 1] (higher = surer).

        Returns
        -------
        ndarray of shape (n,)
            Calibrated probability that each answer is correct.
        """
        check_is_fitted(self, list(self._fitted_attrs))
        s = check_scores(X, allow_empty=True)
        return np.asarray(self._predict(s), dtype=np.float64)

    def predict(self, X: Any) -> np.ndarray:
        """The more likely label of each answer: 1 = correct (P(correct) > 0.5), 0 = wrong.

        Parameters
        ----------
        X : array-like of shape (n,) or (n, 1)
            Uncalibrated scores in [0, 1] (higher = surer).

        Returns
        -------
        ndarray of int of shape (n,)
            Labels from ``classes_`` (``[0, 1]``); :meth:`confidence` gives the
            probability.
        """
        p = self.confidence(X)  # first: NotFittedError before any attribute is read
        return self.classes_[(p > 0.5).astype(int)]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated class probabilities.

        Parameters
        ----------
        X : array-like of shape (n,) or (n, 1)
            Uncalibrated scores in [0, 1] (higher = surer).

        Returns
        -------
        ndarray of shape (n, 2)
            Column 0 is P(wrong), column 1 is P(correct).
        """
        p = self.confidence(X)
        return np.column_stack([1.0 - p, p])

    def transform(self, X: Any) -> np.ndarray:
        """Calibrated P(correct) as one column, so a calibrator can be a pipeline step.

        Parameters
        ----------
        X : array-like of shape (n,) or (n, 1)
            Uncalibrated scores in [0, 1] (higher = surer).

        Returns
        -------
        ndarray of shape (n, 1)
            Same values as :meth:`confidence`.
        """
        return self.confidence(X)[:, None]

    def fit_transform(self, X: Any, y: Any) -> np.ndarray:
        """Fit on ``(X, y)`` and return :meth:`transform` of ``X``, shape (n, 1)."""
        return self.fit(X, y).transform(X)

    def get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Export the fitted state without pickle (the format of :mod:`howsure.core.state`).

        Returns
        -------
        arrays : dict of str to ndarray
            The learned numbers (float64 arrays); save with safetensors or ``np.savez``.
        params : dict
            JSON-able: ``kind``, ``format_version``, ``hyperparameters`` and ``learned``
            (``n_samples_fit_``).
        """
        check_is_fitted(self, list(self._fitted_attrs))
        arrays = {k: np.array(v, dtype=np.float64) for k, v in self._get_arrays().items()}
        params = state_params(
            self.kind,
            hyperparameters=self.get_params(deep=False),
            learned={"n_samples_fit_": int(self.n_samples_fit_)},
        )
        return arrays, params

    @classmethod
    def from_state(cls, arrays: Mapping[str, Any], params: Mapping[str, Any]) -> BaseCalibrator:
        """Rebuild a fitted calibrator from :meth:`get_state` output.

        Parameters
        ----------
        arrays : mapping of str to array-like
            The ``arrays`` part of :meth:`get_state`.
        params : mapping
            The ``params`` part of :meth:`get_state`.

        Returns
        -------
        BaseCalibrator
            A fitted calibrator with identical predictions.
        """
        hyper, learned = read_params(
            params, kind=cls.kind, owner=cls.__name__, known=cls._get_param_names()
        )
        check_arrays(arrays, cls._array_names, owner=cls.__name__)
        est = cls(**hyper)
        est._check_params()
        est._set_arrays({k: np.asarray(arrays[k], dtype=np.float64) for k in cls._array_names})
        est.classes_ = np.array([0, 1])
        est.n_features_in_ = 1
        est.n_samples_fit_ = int(learned.get("n_samples_fit_", 0))
        return est

    def __sklearn_tags__(self) -> Tags:
        # One score column in, binary labels required; transform gives one column.
        tags = super().__sklearn_tags__()
        tags.input_tags.one_d_array = True
        tags.input_tags.two_d_array = True
        tags.target_tags.required = True
        tags.transformer_tags = TransformerTags(preserves_dtype=["float64"])
        return tags
