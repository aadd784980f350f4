"""Tests for howsure.probes.sweep: planted layer, within-group AUROC, result, plot, errors."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from howsure.probes.sweep import SweepResult, layer_sweep, plot_sweep

POSITIONS = ("last_prompt", "last_answer")
PLANTED = (3, "last_answer")


@pytest.fixture(autouse=True)
def _single_thread_blas():
    """Small fits: BLAS threads only add overhead on the shared 2-core machine."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def planted_features(
    n: int = 300, d: int = 16, seed: int = 0
) -> tuple[dict[tuple[int, str], np.ndarray], np.ndarray]:
    """Six layers x two positions; only PLANTED carries the label, a neighbour weakly."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    v = rng.normal(size=d)
    v /= np.linalg.norm(v)
    features = {}
    for layer in range(6):
        for pos in POSITIONS:
            X = rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, size=d)
            if (layer, pos) == PLANTED:
                X += 3.0 * y[:, None] * v
            elif (layer, pos) == (2, "last_answer"):
                X += 1.5 * y[:, None] * v  # a weaker decoy
            features[(layer, pos)] = X.astype(np.float32)
    return features, y


@pytest.mark.parametrize("probe", ["logistic", "mass_mean"])
def test_finds_planted_layer(probe):
    features, y = planted_features()
    # insertion order must not matter: shuffle the mapping
    keys = list(features)
    order = np.random.default_rng(1).permutation(len(keys))
    shuffled = {keys[i]: features[keys[i]] for i in order}
    result = layer_sweep(shuffled, y, probe=probe, progress=False)

    assert result.best == PLANTED
    layers = [r["layer"] for r in result.rows]
    assert layers == sorted(layers) and len(layers) == len(features)
    best = result.row(*PLANTED)
    assert best["auroc_mean"] > 0.9
    assert best["auroc_std"] >= 0.0
    assert best["n"] == len(y)
    assert best["auroc_within_mean"] is None and result.n_groups is None
    noise = [
        r["auroc_mean"]
        for r in result.rows
        if (r["layer"], r["position"]) not in (PLANTED, (2, "last_answer"))
    ]
    assert max(noise) < 0.7
    assert result.row(2, "last_answer")["auroc_mean"] > max(noise)
    if probe == "logistic":
        assert result.C is not None and result.C > 0  # chosen once on the middle layer
    else:
        assert result.C is None


def test_rows_sorted_by_layer_then_first_seen_position():
    features, y = planted_features(n=120, d=4)
    subset = {k: features[k] for k in [(5, "last_answer"), (1, "last_prompt"), (1, "last_answer")]}
    result = layer_sweep(subset, y, C=1.0, progress=False)
    assert [(r["layer"], r["position"]) for r in result.rows] == [
        (1, "last_answer"),
        (1, "last_prompt"),
        (5, "last_answer"),
    ]
    assert result.C == 1.0


def group_only_features(
    n: int = 400, d: int = 8, seed: int = 0
) -> tuple[dict[tuple[int, str], np.ndarray], np.ndarray, np.ndarray]:
    """Groups with different base rates and mean shifts; no signal within any group."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.array(["geo", "math", "chem", "film"]), n // 4)
    base_rate = {"geo": 0.1, "math": 0.3, "chem": 0.7, "film": 0.9}
    offsets = {g: 3.0 * rng.normal(size=d) for g in base_rate}
    y = (rng.random(n) < np.array([base_rate[g] for g in groups])).astype(int)
    topic = rng.normal(size=(n, d)) + np.array([offsets[g] for g in groups])
    v = rng.normal(size=d)
    v /= np.linalg.norm(v)
    genuine = rng.normal(size=(n, d)) + 3.0 * y[:, None] * v
    return {(0, "last_prompt"): topic, (1, "last_prompt"): genuine}, y, groups


@pytest.mark.parametrize("probe", ["logistic", "mass_mean"])
def test_within_group_auroc_exposes_topic_shortcut(probe):
    features, y, groups = group_only_features()
    result = layer_sweep(features, y, probe=probe, groups=groups, progress=False)
    assert result.n_groups == 4
    topic = result.row(0, "last_prompt")
    genuine = result.row(1, "last_prompt")
    # the probe recognises the topic: high overall, chance within topics
    assert topic["auroc_mean"] > 0.75
    assert topic["auroc_within_mean"] is not None
    assert abs(topic["auroc_within_mean"] - 0.5) < 0.12
    assert topic["auroc_within_std"] >= 0.0
    # a real signal survives within groups
    assert genuine["auroc_within_mean"] > 0.9
    assert result.best == (1, "last_prompt")


def test_within_group_none_when_no_group_has_both_classes():
    features, y, _ = group_only_features(n=200)
    groups = np.where(y == 1, "always-right", "always-wrong")
    with pytest.warns(RuntimeWarning, match="no group has both correct and wrong"):
        result = layer_sweep(features, y, C=1.0, groups=groups, progress=False)
    assert all(r["auroc_within_mean"] is None for r in result.rows)
    assert result.n_groups == 2


def test_result_json_round_trip_and_markdown():
    features, y, groups = group_only_features(n=200)
    result = layer_sweep(features, y, C=0.5, groups=list(groups), progress=False)
    text = json.dumps(result.to_dict(), allow_nan=False)
    again = SweepResult.from_dict(json.loads(text))
    assert again == result
    table = result.table_markdown()
    lines = table.splitlines()
    assert lines[0].startswith("| layer | position | AUROC | ± std | within-group AUROC")
    assert len(lines) == 2 + len(result.rows)
    best = result.row(*result.best)
    assert f"**{best['auroc_mean']:.3f}**" in table
    plain = layer_sweep(features, y, C=0.5, progress=False).table_markdown(digits=2)
    assert "within-group" not in plain
    with pytest.raises(KeyError, match=r"no row for \(9, 'x'\)"):
        result.row(9, "x")


def test_deterministic_given_seed_and_progress_bar(capsys):
    features, y = planted_features(n=120, d=4)
    subset = {k: features[k] for k in [(3, "last_answer"), (0, "last_prompt")]}
    a = layer_sweep(subset, y, C=1.0, random_state=7, progress=True)
    b = layer_sweep(subset, y, C=1.0, random_state=7, progress=False)
    assert a.rows == b.rows
    assert "logistic probe sweep" in capsys.readouterr().err


def test_plot_sweep_writes_png(tmp_path: Path):
    pytest.importorskip("matplotlib")
    features, y, groups = group_only_features(n=200)
    result = layer_sweep(features, y, C=1.0, groups=groups, progress=False)
    out = plot_sweep(result, tmp_path / "plots" / "sweep.png")
    assert out == tmp_path / "plots" / "sweep.png"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 5000


# --------------------------------------------------------------------------- errors


def test_validation_errors():
    features, y = planted_features(n=60, d=4)
    one = {(0, "last_prompt"): features[(0, "last_prompt")]}
    with pytest.raises(ValueError, match=r"features is empty"):
        layer_sweep({}, y, progress=False)
    with pytest.raises(TypeError, match=r"feature key \('0', 'last_prompt'\) is not a"):
        layer_sweep({("0", "last_prompt"): one[(0, "last_prompt")]}, y, progress=False)
    with pytest.raises(TypeError, match=r"features must be a mapping"):
        layer_sweep([one[(0, "last_prompt")]], y, progress=False)
    with pytest.raises(ValueError, match=r"features\[\(0, 'last_prompt'\)\] has shape \(59, 4\)"):
        layer_sweep({(0, "last_prompt"): one[(0, "last_prompt")][:59]}, y, progress=False)
    bad = one[(0, "last_prompt")].copy()
    bad[5, 1] = np.nan
    with pytest.raises(
        ValueError, match=r"features\[\(0, 'last_prompt'\)\]: X contains NaN or inf in 1 of"
    ):
        layer_sweep({(0, "last_prompt"): bad}, y, C=1.0, progress=False)
    with pytest.raises(ValueError, match=r"only one class \(1, n=60\)"):
        layer_sweep(one, np.ones(60, dtype=int), progress=False)
    with pytest.raises(ValueError, match=r"y must be binary .* got 3 classes"):
        layer_sweep(one, np.arange(60) % 3, progress=False)
    few = np.zeros(60, dtype=int)
    few[:4] = 1
    with pytest.raises(ValueError, match=r"only 4 correct answers, fewer than cv=5 folds"):
        layer_sweep(one, few, progress=False)
    with pytest.raises(ValueError, match=r"groups has 10 entries but y has 60"):
        layer_sweep(one, y, groups=["a"] * 10, progress=False)
    with pytest.raises(ValueError, match=r"probe must be one of 'logistic', 'mass_mean'; got"):
        layer_sweep(one, y, probe="svm", progress=False)
    with pytest.raises(ValueError, match=r"cv must be an int >= 2; got 1"):
        layer_sweep(one, y, cv=1, progress=False)
    with pytest.raises(ValueError, match=r"C must be a number > 0; got -1 \(or None\)"):
        layer_sweep(one, y, C=-1, progress=False)
    with pytest.raises(ValueError, match=r"C applies to probe='logistic' only"):
        layer_sweep(one, y, probe="mass_mean", C=1.0, progress=False)


# --------------------------------------------------------------------------- threads, dtypes


def test_results_do_not_depend_on_n_jobs():
    """Every fit runs with single-threaded BLAS, so worker threads change nothing."""
    features, y = planted_features(n=200, d=8)
    features = {
        k: features[k] for k in [(2, "last_answer"), (3, "last_answer"), (4, "last_prompt")]
    }
    _, _, groups = group_only_features(n=200)
    for kw in ({}, {"probe": "mass_mean"}, {"C": 0.5, "groups": groups}):
        serial = layer_sweep(features, y, progress=False, n_jobs=1, **kw)
        for n_jobs in (2, -1):
            other = layer_sweep(features, y, progress=False, n_jobs=n_jobs, **kw)
            assert other.rows == serial.rows and other.C == serial.C
            assert other == serial


def test_n_jobs_runs_fits_on_worker_threads(monkeypatch):
    import threading

    from howsure.probes import sweep

    seen: set[str] = set()
    make = sweep._make_probe

    def spy(*args, **kwargs):
        seen.add(threading.current_thread().name)
        return make(*args, **kwargs)

    monkeypatch.setattr(sweep, "_make_probe", spy)
    features, y = planted_features(n=120, d=4)
    layer_sweep(features, y, C=1.0, progress=False, n_jobs=2)
    assert seen and all(name.startswith("howsure-fit") for name in seen)
    seen.clear()
    layer_sweep(features, y, C=1.0, progress=False)  # d = 4: automatic is serial
    assert seen == {threading.current_thread().name}


def test_automatic_policy_by_hidden_size(monkeypatch):
    from howsure.probes import threads

    monkeypatch.setattr(threads, "cpu_count", lambda: 16)
    assert threads.n_workers(None, n_features=576, n_tasks=480) == 1
    assert threads.n_workers(None, n_features=threads.PARALLEL_MIN_FEATURES, n_tasks=480) == 8
    assert threads.n_workers(None, n_features=8192, n_tasks=3) == 3
    assert threads.n_workers(-1, n_features=16, n_tasks=480) == 16
    assert threads.n_workers(2, n_features=16, n_tasks=480) == 2
    assert threads.n_workers(4, n_features=16, n_tasks=1) == 1


def test_map_in_order_keeps_order_and_raises_the_first_failure():
    from contextlib import closing

    from howsure.probes.threads import map_in_order

    assert list(map_in_order(lambda i: i * i, 7, workers=3)) == [0, 1, 4, 9, 16, 25, 36]
    assert list(map_in_order(lambda i: -i, 3, workers=1)) == [0, -1, -2]
    started: list[int] = []

    def fail_at_2(i: int) -> int:
        started.append(i)
        if i == 2:
            raise ValueError("task 2 failed")
        time.sleep(0.005)
        return i

    with pytest.raises(ValueError, match="task 2 failed"):
        with closing(map_in_order(fail_at_2, 200, workers=2)) as results:
            list(results)
    assert len(started) < 100  # the rest were cancelled


def test_float16_input_equals_its_float32_values():
    features, y = planted_features()
    half = {k: v.astype(np.float16) for k, v in features.items()}
    widened = {k: v.astype(np.float32) for k, v in half.items()}
    for probe in ("logistic", "mass_mean"):
        a = layer_sweep(half, y, probe=probe, progress=False)
        b = layer_sweep(widened, y, probe=probe, progress=False, n_jobs=2)
        assert a == b  # float16 -> float64 is exact: the same fits
        c = layer_sweep(features, y, probe=probe, progress=False)
        assert a.best == c.best == PLANTED
        for ra, rc in zip(a.rows, c.rows, strict=True):
            assert abs(ra["auroc_mean"] - rc["auroc_mean"]) < 0.02


def test_input_arrays_are_left_alone():
    features, y = planted_features(n=120, d=4)
    frozen = {}
    for key, X in features.items():
        X = X.astype(np.float16)
        X.flags.writeable = False  # e.g. a read-only memory map of a stored collection
        frozen[key] = X
    copies = {k: v.copy() for k, v in frozen.items()}
    layer_sweep(frozen, y, progress=False, n_jobs=2)
    assert all(np.array_equal(frozen[k], copies[k]) for k in frozen)
    lists = {k: v.tolist() for k, v in list(features.items())[:2]}
    as_lists = layer_sweep(lists, y, C=1.0, progress=False)
    as_arrays = layer_sweep({k: features[k] for k in lists}, y, C=1.0, progress=False)
    assert as_lists == as_arrays


def test_n_jobs_and_dtype_errors():
    features, y = planted_features(n=60, d=4)
    one = {(0, "last_prompt"): features[(0, "last_prompt")]}
    for bad in (0, -2):
        with pytest.raises(ValueError, match=rf"n_jobs must be None .* got {bad}"):
            layer_sweep(one, y, C=1.0, progress=False, n_jobs=bad)
    for bad in (1.5, True, "2"):
        with pytest.raises(TypeError, match=rf"n_jobs must be None .* got {bad!r}"):
            layer_sweep(one, y, C=1.0, progress=False, n_jobs=bad)
    text = {(0, "last_prompt"): np.full((60, 4), "x")}
    with pytest.raises(ValueError, match=r"features\[\(0, 'last_prompt'\)\] has dtype <U1"):
        layer_sweep(text, y, C=1.0, progress=False)
    inf = features[(0, "last_prompt")].astype(np.float16)
    inf[7, 0] = np.inf
    with pytest.raises(ValueError, match=r"NaN or inf in 1 of 60 rows \(first at row 7\)"):
        layer_sweep({(0, "last_prompt"): inf}, y, C=1.0, progress=False, n_jobs=2)
    # a failing fit on a worker thread names its key, and the sweep stops
    empty = {**one, (1, "last_prompt"): np.zeros((60, 0))}
    with pytest.raises(ValueError, match=r"features\[\(1, 'last_prompt'\)\]: .*0 feature"):
        layer_sweep(empty, y, C=1.0, progress=False, n_jobs=2)
