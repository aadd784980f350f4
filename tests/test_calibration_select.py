"""Tests of howsure.calibration.select_calibrator and the reliability diagram."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, logit

from howsure.calibration import (
    HistogramCalibrator,
    PlattCalibrator,
    ece,
    select_calibrator,
)


def make_data(n: int, truth: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    s = rng.uniform(0.0, 1.0, n)
    if truth == "cube":
        p = s**3
    else:  # over-confident by a factor 2 on the logit
        p = expit(0.5 * logit(np.clip(s, 1e-12, 1 - 1e-12)))
    return s, (rng.uniform(size=n) < p).astype(int)


# ---- select_calibrator -----------------------------------------------------------------
def test_select_picks_a_sensible_calibrator_and_refits_on_all_data():
    s, y = make_data(3000, "cube", seed=0)
    sel = select_calibrator(s, y)
    assert sel.metric == "nll"
    assert sel.cv == 5
    # temperature scaling has no shift and cannot fix s**3; everything else can
    assert sel.name in {"platt", "beta", "isotonic", "histogram"}
    assert set(sel.table) == {"platt", "temperature", "isotonic", "histogram", "beta"}
    means = {name: row["nll"][0] for name, row in sel.table.items()}
    assert sel.name == min(means, key=means.get)
    assert means["temperature"] > means[sel.name] + 0.1
    for row in sel.table.values():
        assert set(row) == {"nll", "ece", "brier"}
        assert all(std >= 0 for _, std in row.values())
    assert sel.calibrator.n_samples_fit_ == 3000
    test_s, test_y = make_data(5000, "cube", seed=1)
    assert ece(sel.calibrator.confidence(test_s), test_y) < 0.04
    text = sel.format_table()
    assert f"*{sel.name}" in text


def test_select_is_deterministic():
    s, y = make_data(1500, "overconfident", seed=2)
    a = select_calibrator(s, y, random_state=7)
    b = select_calibrator(s, y, random_state=7)
    assert a.name == b.name
    assert a.table == b.table
    np.testing.assert_array_equal(a.calibrator.confidence(s), b.calibrator.confidence(s))


@pytest.mark.parametrize("metric", ["ece", "brier"])
def test_select_by_other_metrics(metric):
    s, y = make_data(1500, "cube", seed=3)
    sel = select_calibrator(s, y, candidates=("identity", "platt"), metric=metric, cv=3)
    assert sel.name == "platt"
    assert sel.metric == metric


def test_select_accepts_configured_candidates():
    s, y = make_data(1000, "cube", seed=4)
    sel = select_calibrator(
        s,
        y,
        candidates={"hist5": HistogramCalibrator(n_bins=5), "platt": PlattCalibrator()},
        cv=4,
    )
    assert set(sel.table) == {"hist5", "platt"}
    if sel.name == "hist5":
        assert sel.calibrator.n_bins == 5


def test_select_validation():
    s, y = make_data(200, "cube", seed=5)
    with pytest.raises(ValueError, match=r"metric must be one of .* got 'auroc'"):
        select_calibrator(s, y, metric="auroc")
    with pytest.raises(ValueError, match="unknown calibrator kind 'splines'"):
        select_calibrator(s, y, candidates=("platt", "splines"))
    with pytest.raises(TypeError, match=r"write candidates=\('platt',\)"):
        select_calibrator(s, y, candidates="platt")
    with pytest.raises(ValueError, match="cv must be an int >= 2; got 1"):
        select_calibrator(s, y, cv=1)
    few = np.zeros(200, dtype=int)
    few[:3] = 1
    with pytest.raises(ValueError, match=r"only 3 correct \(1\) label\(s\), fewer than cv=5"):
        select_calibrator(s, few)
    with pytest.raises(ValueError, match="smallest training fold has 16 rows"):
        select_calibrator(s[:20], np.r_[np.zeros(10), np.ones(10)])


# ---- reliability diagram ---------------------------------------------------------------
def test_reliability_diagram_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    from howsure.calibration import reliability_diagram

    s, y = make_data(2000, "cube", seed=6)
    calibrated = PlattCalibrator().fit(s, y).confidence(s)
    path = tmp_path / "sub" / "reliability.png"
    fig = reliability_diagram(
        {"uncalibrated": s, "platt": calibrated}, y, n_bins=10, path=path, title="demo"
    )
    assert path.stat().st_size > 5_000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rel_ax, hist_ax = fig.axes
    assert hist_ax.get_ylabel() == "count"
    assert rel_ax.get_title() == "demo"
    legend = [t.get_text() for t in rel_ax.get_legend().get_texts()]
    assert any(t.startswith("uncalibrated (ECE=") for t in legend)
    assert any(t.startswith("platt (ECE=") for t in legend)


def test_reliability_diagram_single_curve_quantile_and_given_axes(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from howsure.calibration import reliability_diagram

    assert matplotlib.get_backend()  # nothing shown: figures are not created through pyplot
    s, y = make_data(500, "cube", seed=7)
    fig = reliability_diagram(s, y, strategy="quantile")
    assert len(fig.axes) == 2
    own = Figure()
    ax = own.subplots()
    assert reliability_diagram(s, y, ax=ax, path=tmp_path / "a.png") is own
    assert (tmp_path / "a.png").stat().st_size > 0
    # one label array per curve
    s2, y2 = make_data(300, "overconfident", seed=8)
    reliability_diagram({"a": s, "b": s2}, {"a": y, "b": y2})
    with pytest.raises(ValueError, match="no entry for curve 'b'"):
        reliability_diagram({"a": s, "b": s2}, {"a": y})
    with pytest.raises(ValueError, match="different lengths"):
        reliability_diagram(s, y[:10])
