"""Familiarity: how far a question's activations lie from the training rows'.

A probe's confidence is only as good as the questions it was fitted on: on a question
unlike any of them (another kind of question, another language, another topic) its
score says less. :class:`Familiarity` measures that distance from the same activations
the probe reads, so it costs no forward pass.

The distance is a Mahalanobis distance in the training rows' top principal components
(whitened PCA scores, root mean square over components), plus the share of the
activation that the components do not explain; familiarity is where that distance falls
among the training rows' own distances::

    familiarity(x) = fraction of training rows at least as far from the centre as x

so a typical training row has familiarity about 0.5, and a question farther out than
every training row has 0. It is a rank, not a probability of being correct.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from howsure.core.checks import check_int
from howsure.core.state import attribute_state, restore_attributes

__all__ = ["UNFAMILIAR_BELOW", "UNFAMILIAR_NOTE", "Familiarity"]

UNFAMILIAR_BELOW = 0.02
"""Familiarity under which a question is called unfamiliar: farther from the training
rows than 98% of them."""

UNFAMILIAR_NOTE = "unfamiliar question: this confidence is less reliable"
"""What the CLI chat and the demo show beside the confidence of an unfamiliar question."""

_ARRAYS = ("mean_", "components_", "scale_", "residual_scale_", "reference_")


class Familiarity(BaseEstimator):
    """Distance of activations from the training rows, as a rank among theirs.

    Parameters
    ----------
    n_components : int, default=32
        Principal components kept (fewer when there are fewer rows or features).
    n_reference : int, default=512
        Quantiles of the training rows' distances kept to rank new distances.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
    components_ : ndarray of shape (k, n_features)
    scale_ : ndarray of shape (k,)
        Standard deviation of the training rows along each component.
    residual_scale_ : ndarray of shape (1,)
        Root mean square norm of the training rows' residual off the components.
    reference_ : ndarray of shape (m,)
        Sorted quantiles of the training rows' distances.
    n_features_in_ : int
    """

    def __init__(self, *, n_components: int = 32, n_reference: int = 512) -> None:
        self.n_components = n_components
        self.n_reference = n_reference

    def fit(self, X: Any, y: Any = None) -> Familiarity:
        """Fit the components and the reference distances on training activations.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self
        """
        check_int(self.n_components, "n_components", min_val=1)
        check_int(self.n_reference, "n_reference", min_val=2)
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=3)
        self.mean_ = X.mean(axis=0)
        centred = X - self.mean_
        k = min(self.n_components, X.shape[0] - 1, X.shape[1])
        _, sing, vt = np.linalg.svd(centred, full_matrices=False)
        self.components_ = vt[:k]
        self.scale_ = np.maximum(sing[:k] / np.sqrt(X.shape[0] - 1), 1e-12)
        residual = centred - (centred @ self.components_.T) @ self.components_
        rms = float(np.sqrt(np.mean(np.sum(residual**2, axis=1))))
        self.residual_scale_ = np.array([max(rms, 1e-12)])
        dist = self._distance(X)
        qs = np.linspace(0.0, 1.0, min(self.n_reference, X.shape[0]))
        self.reference_ = np.quantile(dist, qs)
        return self

    def _distance(self, X: np.ndarray) -> np.ndarray:
        centred = X - self.mean_
        z = centred @ self.components_.T
        residual = centred - z @ self.components_
        inside = np.sum((z / self.scale_) ** 2, axis=1)
        outside = np.sum(residual**2, axis=1) / self.residual_scale_[0] ** 2
        return np.sqrt((inside + outside) / (self.components_.shape[0] + 1))

    def distance(self, X: Any) -> np.ndarray:
        """Distance from the training rows' centre, about 1 for a typical training row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "reference_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self._distance(X)

    def score(self, X: Any) -> np.ndarray:
        """Familiarity in [0, 1]: the fraction of training rows at least as far out.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
            1 = at the centre of the training rows, about 0.5 = typical, 0 = farther out
            than all of them.
        """
        dist = self.distance(X)
        ref = self.reference_
        below = np.searchsorted(ref, dist, side="left")
        return 1.0 - below / len(ref)

    def get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Arrays and JSON-able parameters (the format of :mod:`howsure.core.state`)."""
        check_is_fitted(self, "reference_")
        return attribute_state(self, "familiarity", _ARRAYS)

    @classmethod
    def from_state(cls, arrays: Mapping[str, Any], params: Mapping[str, Any]) -> Familiarity:
        """Rebuild a fitted :class:`Familiarity` from :meth:`get_state` output."""
        return restore_attributes(cls, arrays, params, kind="familiarity", names=_ARRAYS)
