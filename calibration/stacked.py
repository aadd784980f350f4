"""A calibrator of several scores at once: logistic regression on standardised inputs.

The one-input calibrators of :mod:`howsure.calibration.calibrators` map one score to
P(correct). :class:`StackedCalibrator` maps a row of several (a probe's log-odds, the
answer's mean and minimum token log-probability, its mean entropy, a familiarity...) to
one calibrated P(answer correct), higher = surer, by an L2-regularised logistic
regression on the standardised inputs. Fitted on *grouped out-of-fold* inputs (each
row scored by a probe that never saw its source or topic), it learns how much to trust
each input on questions unlike the training rows. Knows nothing of models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from howsure.calibration.base import fit_logistic
from howsure.core.checks import check_int, check_real
from howsure.core.state import attribute_state, restore_attributes

__all__ = ["StackedCalibrator"]

_ARRAYS = ("mean_", "scale_", "coef_", "intercept_", "classes_")


class StackedCalibrator(ClassifierMixin, BaseEstimator):
    """Calibrated P(correct) from several scores per answer.

    ``P(correct) = sigmoid(coef_ . (x - mean_) / scale_ + intercept_)``.

    Parameters
    ----------
    ridge : float, default=1e-2
        L2 penalty on the coefficients of the standardised inputs (not the intercept).
    min_samples : int, default=20
        Fewest rows ``fit`` accepts.

    Attributes
    ----------
    mean_, scale_ : ndarray of shape (n_features,)
        Standardisation of the inputs.
    coef_ : ndarray of shape (n_features,)
        Weights of the standardised inputs (positive = the input raises P(correct)).
    intercept_ : ndarray of shape (1,)
    classes_ : ndarray of shape (2,)
    n_features_in_ : int
    """

    def __init__(self, *, ridge: float = 1e-2, min_samples: int = 20) -> None:
        self.ridge = ridge
        self.min_samples = min_samples

    def fit(self, X: Any, y: Any) -> StackedCalibrator:
        """Fit on inputs ``X`` of shape (n_samples, n_features) and labels ``y``
        (1 = correct; any two labels, the larger read as correct).

        Raises
        ------
        ValueError
            Fewer than ``min_samples`` rows, labels that are not binary or have one
            class, NaN or inf in ``X``.
        """
        check_real(self.ridge, "ridge", min_val=0.0)
        check_int(self.min_samples, "min_samples", min_val=2)
        X, y = validate_data(self, X, y, dtype=np.float64)
        kind = type_of_target(y, raise_unknown=True)
        if kind == "continuous":
            raise ValueError(
                "y is continuous; give labels, 1 = answer correct and 0 = wrong (Unknown label "
                "type: continuous)"
            )
        if kind == "multiclass":
            raise ValueError(
                f"Only binary classification is supported. The type of the target is {kind}: "
                "give labels 1 = answer correct, 0 = wrong"
            )
        if kind != "binary" or len(np.unique(y)) != 2:
            raise ValueError(
                f"y must hold both correct and wrong answers; got {len(np.unique(y))} "
                "class(es). Add rows of the missing class"
            )
        if X.shape[0] < self.min_samples:
            raise ValueError(
                f"{X.shape[0]} rows is fewer than min_samples={self.min_samples}; "
                "give more labelled rows"
            )
        self.classes_ = np.unique(y)
        y01 = (y == self.classes_[1]).astype(np.float64)
        self.mean_ = X.mean(axis=0)
        self.scale_ = np.where(X.std(axis=0) > 1e-12, X.std(axis=0), 1.0)
        coef, intercept = fit_logistic((X - self.mean_) / self.scale_, y01, ridge=self.ridge)
        self.coef_, self.intercept_ = coef, np.array([intercept])
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Log-odds of "correct", shape (n_samples,)."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return (X - self.mean_) / self.scale_ @ self.coef_ + self.intercept_[0]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, 2); column 1 is P(correct)."""
        p = expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """The more likely label per row, shape (n_samples,)."""
        check_is_fitted(self, "coef_")
        return self.classes_[(self.decision_function(X) > 0).astype(int)]

    def confidence(self, X: Any) -> np.ndarray:
        """Calibrated P(correct), shape (n_samples,)."""
        return expit(self.decision_function(X))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # binary: correct or wrong
        return tags

    def get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Arrays and JSON-able parameters (the format of :mod:`howsure.core.state`)."""
        check_is_fitted(self, "coef_")
        return attribute_state(self, "stacked", _ARRAYS)

    @classmethod
    def from_state(cls, arrays: Mapping[str, Any], params: Mapping[str, Any]) -> StackedCalibrator:
        """Rebuild a fitted :class:`StackedCalibrator` with identical outputs."""
        return restore_attributes(cls, arrays, params, kind="stacked", names=_ARRAYS)
