"""Cross-checks of howsure.calibration against netcal, an independent implementation.

netcal is optional (``pip install 'howsure[calibration]'``); these tests skip without it.
netcal reads a 1-D confidence array with binary labels exactly as P(correct) vs
correct/wrong, the convention used here.
"""

from __future__ import annotations

import numpy as np
import pytest

from howsure.calibration import (
    BetaCalibrator,
    HistogramCalibrator,
    PlattCalibrator,
    TemperatureCalibrator,
    ece,
    mce,
)

netcal = pytest.importorskip("netcal")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # from pyro, inside netcal


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    s = rng.uniform(size=20_000)
    return s, (rng.uniform(size=s.size) < s**3).astype(int)


@pytest.mark.parametrize("n_bins", [10, 15])
@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_ece_and_mce_equal_netcal(data, n_bins, strategy):
    from netcal.metrics import ECE, MCE

    s, y = data
    equal = strategy == "uniform"
    assert ece(s, y, n_bins=n_bins, strategy=strategy) == pytest.approx(
        ECE(bins=n_bins, equal_intervals=equal).measure(s, y), abs=1e-12
    )
    assert mce(s, y, n_bins=n_bins, strategy=strategy) == pytest.approx(
        MCE(bins=n_bins, equal_intervals=equal).measure(s, y), abs=1e-12
    )


def test_histogram_close_to_netcal(data):
    from netcal.binning import HistogramBinning

    s, y = data
    # off the bin edges: netcal's transform puts an edge value in the lower bin, its fit
    # (and ours, and np.histogram) in the upper one
    grid = np.linspace(0.0005, 0.9995, 1000)
    ours = HistogramCalibrator(n_bins=10, strategy="uniform").fit(s, y).confidence(grid)
    theirs = HistogramBinning(bins=10).fit(s, y).transform(grid)
    # only difference: our Laplace smoothing, (k + 1) / (n + 2) vs k / n, n ~ 2000 per bin
    np.testing.assert_allclose(ours, theirs, atol=1e-3)


def test_beta_close_to_netcal(data):
    from netcal.scaling import BetaCalibration

    s, y = data
    grid = np.linspace(0.001, 0.999, 999)
    ours = BetaCalibrator().fit(s, y).confidence(grid)
    theirs = BetaCalibration().fit(s, y).transform(grid)
    np.testing.assert_allclose(ours, theirs, atol=1e-4)


def test_platt_and_temperature_close_to_netcal(data):
    from netcal.scaling import LogisticCalibration, TemperatureScaling

    s, y = data
    grid = np.linspace(0.001, 0.999, 999)
    # Platt's smoothed targets move the fit by O(1/n) from netcal's plain MLE
    platt = PlattCalibrator().fit(s, y).confidence(grid)
    np.testing.assert_allclose(platt, LogisticCalibration().fit(s, y).transform(grid), atol=2e-3)
    temp = TemperatureCalibrator().fit(s, y).confidence(grid)
    np.testing.assert_allclose(temp, TemperatureScaling().fit(s, y).transform(grid), atol=1e-5)
