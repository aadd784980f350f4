"""howsure.core: the shared helpers every room uses."""

from __future__ import annotations

import json
import math
import sys
import types

import numpy as np
import pytest

from howsure.core.checks import check_choice, check_int, check_probability, check_real
from howsure.core.files import staged_files, staged_folder, write_text_atomic
from howsure.core.lazy import lazy_exports
from howsure.core.rows import read_rows
from howsure.core.state import (
    check_arrays,
    json_default,
    read_params,
    state_params,
    to_jsonable,
)

# -- checks ---------------------------------------------------------------------------------


def test_checks_name_the_argument_the_value_and_the_range() -> None:
    assert check_int(np.int64(3), "n", min_val=1) == 3 and isinstance(check_int(3, "n"), int)
    with pytest.raises(ValueError, match=r"^batch_size must be an int >= 1; got 0$"):
        check_int(0, "batch_size", min_val=1)
    with pytest.raises(TypeError, match=r"--limit must be an int >= 1; got True of type bool"):
        check_int(True, "--limit", min_val=1)
    with pytest.raises(TypeError, match=r"got 2\.5 of type float"):
        check_int(2.5, "n_bins", min_val=1)
    with pytest.raises(ValueError, match=r"k must be an int in \[1, 5\]; got 6 \(samples\)"):
        check_int(6, "k", min_val=1, max_val=5, hint="samples")
    assert check_real(1, "C", min_val=0.0, include_boundaries="neither") == 1.0
    for bad in (0.0, -1, math.nan, math.inf):
        with pytest.raises(ValueError, match="C must be a number > 0; got"):
            check_real(bad, "C", min_val=0.0, include_boundaries="neither")
    with pytest.raises(ValueError, match=r"top_p must be a number in \(0, 1\]; got 0"):
        check_real(0, "top_p", min_val=0.0, max_val=1.0, include_boundaries="right")
    with pytest.raises(ValueError, match=r"alpha must be a number in \[0, 1\); got 1"):
        check_real(1, "alpha", min_val=0.0, max_val=1.0, include_boundaries="left")
    assert check_probability(0.25, "p") == 0.25
    with pytest.raises(ValueError, match=r"p must be a probability in \[0, 1\]; got 60 \(e\.g\."):
        check_probability(60, "p")
    with pytest.raises(TypeError, match=r"got '0\.5' of type str"):
        check_probability("0.5", "p")
    assert check_choice("flag", "mode", ("replace", "flag")) == "flag"
    with pytest.raises(ValueError, match=r"mode must be one of 'replace', 'flag'; got 'x'"):
        check_choice("x", "mode", ("replace", "flag"))


# -- files ----------------------------------------------------------------------------------


def test_staged_files_replace_all_or_nothing(tmp_path) -> None:
    folder = tmp_path / "out"
    with staged_files(folder) as tmp:
        (tmp / "a.txt").write_text("1")
        (tmp / "b.txt").write_text("1")
    assert (folder / "a.txt").read_text() == "1" and (folder / "b.txt").read_text() == "1"
    with pytest.raises(RuntimeError, match="crash"), staged_files(folder) as tmp:
        (tmp / "a.txt").write_text("2")
        raise RuntimeError("crash")
    assert (folder / "a.txt").read_text() == "1"  # untouched
    assert sorted(p.name for p in folder.iterdir()) == ["a.txt", "b.txt"]  # no temp left


def test_staged_files_follow_the_umask(tmp_path) -> None:
    """safetensors writes 0600; a saved artefact's files all get the umask's mode."""
    import os

    from safetensors.numpy import save_file

    old = os.umask(0o022)
    try:
        with staged_files(tmp_path / "out") as tmp:
            save_file({"a": np.zeros(2)}, str(tmp / "tensors.safetensors"))
            (tmp / "config.json").write_text("{}")
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "out").iterdir()}
    assert modes == {"tensors.safetensors": 0o644, "config.json": 0o644}


def test_staged_folder_appears_whole_or_not_at_all(tmp_path) -> None:
    target = tmp_path / "model"
    with pytest.raises(KeyboardInterrupt), staged_folder(target) as tmp:
        (tmp / "weights").write_text("half")
        raise KeyboardInterrupt
    assert not target.exists() and list(tmp_path.iterdir()) == []
    with staged_folder(target) as tmp:
        (tmp / "weights").write_text("whole")
    assert (target / "weights").read_text() == "whole"
    with staged_folder(target) as tmp:  # another process finished first: its copy stays
        (tmp / "weights").write_text("second")
    assert (target / "weights").read_text() == "whole" and len(list(tmp_path.iterdir())) == 1
    path = write_text_atomic(tmp_path / "sub" / "x.json", "{}")
    assert path.read_text() == "{}" and [p.name for p in path.parent.iterdir()] == ["x.json"]


# -- rows -----------------------------------------------------------------------------------


def test_read_rows_of_every_format(tmp_path) -> None:
    seen = []
    csv_file = tmp_path / "q.csv"
    csv_file.write_bytes("\ufeff Question ,Answers\nA?,1|2\n".encode())  # BOM, spaced header
    assert read_rows(csv_file, check_columns=seen.append) == [
        (1, {"question": "A?", "answers": "1|2"})
    ]
    assert seen == [["question", "answers"]]
    jsonl = tmp_path / "q.jsonl"
    jsonl.write_text('{"question": "A?"}\n\n{"question": "B?"}\n', encoding="utf-8")
    assert [i for i, _ in read_rows(jsonl)] == [1, 2]  # blank lines are not rows
    js = tmp_path / "q.json"
    js.write_text('[{"question": "A?"}]', encoding="utf-8")
    assert read_rows(js) == [(1, {"question": "A?"})]
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    pq.write_table(pa.table({"question": ["A?"], "answers": [["x"]]}), tmp_path / "q.parquet")
    assert read_rows(tmp_path / "q.parquet") == [(1, {"question": "A?", "answers": ["x"]})]


def test_read_rows_errors_name_the_file_and_row(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"unsupported file .*q\.txt.*\.jsonl"):
        read_rows(tmp_path / "q.txt")
    with pytest.raises(ValueError, match="does not exist"):
        read_rows(tmp_path / "none.csv")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "A?"}\n{nope\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl row 2 \(line 2\): not valid JSON Lines"):
        read_rows(bad)
    obj = tmp_path / "obj.json"
    obj.write_text('{"question": "A?"}', encoding="utf-8")
    with pytest.raises(ValueError, match="expected a JSON list of rows, got dict"):
        read_rows(obj)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("question\nA?\nCafé?\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin\.csv: row 2, line 3 is not UTF-8 \(byte 0xe9"):
        read_rows(latin)

    def refuse(columns):
        raise ValueError(f"no question in {columns}")

    good = tmp_path / "good.jsonl"
    good.write_text('{"question": "A?"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"no question in \['question'\]"):
        read_rows(good, check_columns=refuse)


# -- state ----------------------------------------------------------------------------------


def test_one_state_format_and_the_older_layouts() -> None:
    params = state_params(
        "platt",
        hyperparameters={"eps": np.float64(1e-7), "n": np.int64(3), "grid": (1, 2)},
        learned={"n_samples_fit_": 10, "C_": math.nan},
    )
    assert params == {
        "kind": "platt",
        "format_version": 1,
        "hyperparameters": {"eps": 1e-7, "n": 3, "grid": [1, 2]},
        "learned": {"n_samples_fit_": 10, "C_": None},
    }
    assert json.loads(json.dumps(params, allow_nan=False)) == params
    hyper, learned = read_params(params, kind="platt", owner="X", known=("eps", "n", "grid"))
    assert hyper["n"] == 3 and learned["n_samples_fit_"] == 10
    old_probe = {"kind": "logistic", "format": 1, "hyperparameters": {}, "learned": {"C_": 1}}
    assert read_params(old_probe, kind="logistic", owner="P", known=())[1] == {"C_": 1}
    old_cal = {"kind": "platt", "format_version": 1, "hyperparameters": {}, "n_samples_fit": 7}
    assert read_params(old_cal, kind="platt", owner="P", known=())[1] == {"n_samples_fit_": 7}
    with pytest.raises(ValueError, match="X state is for kind 'platt' but kind='beta'"):
        read_params(params, kind="beta", owner="X", known=())
    with pytest.raises(ValueError, match="X state has format_version 2"):
        read_params({**params, "format_version": 2}, kind="platt", owner="X", known=("eps",))
    with pytest.raises(ValueError, match=r"unknown hyperparameter\(s\) \['grid', 'n'\]"):
        read_params(params, kind="platt", owner="X", known=("eps",))
    with pytest.raises(TypeError, match="params must be the dict returned by get_state"):
        read_params([1], kind="platt", owner="X", known=())
    with pytest.raises(ValueError, match=r"X state lacks array\(s\) \['coef'\]"):
        check_arrays({"intercept": np.zeros(1)}, ["coef", "intercept"], owner="X")
    assert to_jsonable({"a": np.arange(2), "b": [np.float32(0.5)]}) == {"a": [0, 1], "b": [0.5]}
    assert json.dumps({"x": np.int8(1), "y": np.ones(1)}, default=json_default) == (
        '{"x": 1, "y": [1.0]}'
    )


# -- padding, lazy exports, figures ---------------------------------------------------------


def test_pad_rows_left_and_right() -> None:
    from howsure.core.padding import pad_rows

    ids, mask, starts = pad_rows([[5, 6, 7], [8]], 0)
    assert ids.tolist() == [[5, 6, 7], [0, 0, 8]] and mask.tolist() == [[1, 1, 1], [0, 0, 1]]
    assert starts == [0, 2]
    ids, mask, starts = pad_rows([[5, 6, 7], [8]], 9, side="right")
    assert ids.tolist() == [[5, 6, 7], [8, 9, 9]] and starts == [0, 0]
    with pytest.raises(ValueError, match="side must be 'left' or 'right'"):
        pad_rows([[1]], 0, side="middle")


def test_lazy_exports_import_on_first_use() -> None:
    module = types.ModuleType("fake_pkg")
    sys.modules["fake_pkg"] = module
    try:
        getattr_, dir_ = lazy_exports("fake_pkg", {"dumps": "json"})
        module.__getattr__, module.__dir__ = getattr_, dir_
        assert "dumps" not in vars(module)
        assert module.dumps is json.dumps and "dumps" in vars(module)  # cached
        assert "dumps" in dir_()
        with pytest.raises(AttributeError, match="module 'fake_pkg' has no attribute 'nope'"):
            _ = module.nope
    finally:
        del sys.modules["fake_pkg"]


def test_figures_are_off_screen_pngs(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    from howsure.core.figures import new_figure, save_figure

    fig = new_figure((2, 2), what="a test")
    fig.add_subplot(1, 1, 1).plot([0, 1], [0, 1])
    path = save_figure(fig, tmp_path / "sub" / "f.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- typed setting errors --------------------------------------------------------------------
def test_setting_errors_name_their_parameter_and_render_with_other_names():
    import pickle

    from howsure.core.errors import ContextLengthError, SettingError, SettingTypeError

    with pytest.raises(SettingError) as caught:
        check_int(0, "max_new_tokens", min_val=1)
    err = caught.value
    assert isinstance(err, ValueError) and err.param == "max_new_tokens"
    assert str(err) == "max_new_tokens must be an int >= 1; got 0"
    assert err.render({"max_new_tokens": "--max-new-tokens"}) == (
        "--max-new-tokens must be an int >= 1; got 0"
    )
    with pytest.raises(SettingTypeError) as caught:
        check_real("hot", "temperature", min_val=0.0, include_boundaries="neither")
    assert isinstance(caught.value, TypeError) and isinstance(caught.value, ValueError)
    assert caught.value.param == "temperature"
    with pytest.raises(SettingError, match="mode must be one of 'a', 'b'; got 'c'"):
        check_choice("c", "mode", ["a", "b"])
    # values are never read as template text; other parameters are named by field
    err = SettingError("a_b", "{param} or {c_d}: got {v!r}", v="{param} {x}")
    assert err.params == ("a_b", "c_d")
    assert err.render({"a_b": "--a-b", "c_d": "--c-d"}) == "--a-b or --c-d: got '{param} {x}'"
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is SettingError and str(back) == str(err) and back.param == "a_b"
    first = err.prefixed("fold {0}: ")  # said first, its parameters kept
    assert first.param == "a_b" and str(first) == "fold {0}: " + str(err)
    assert first.render({"a_b": "--a-b"}).startswith("fold {0}: --a-b or c_d")
    many = ContextLengthError(
        too_long=[(f"q{i}", 300 + i) for i in range(7)], n_prompts=9, new_tokens=32, limit=256
    )
    assert str(many) == (
        "q0 is 300 tokens; q1 is 301 tokens; q2 is 302 tokens; q3 is 303 tokens; q4 is 304 "
        "tokens (7 of 9 are too long): with 32 new tokens it exceeds the model's context of 256 "
        "tokens. Shorten the prompt or lower max_new_tokens"
    )
    one = ContextLengthError(too_long=[("prompt 0", 300)], n_prompts=1, new_tokens=8, limit=256)
    assert one.render({"max_new_tokens": "max_tokens"}, prompt="the conversation") == (
        "the conversation is 300 tokens: with 8 new tokens it exceeds the model's context of "
        "256 tokens. Shorten the prompt or lower max_tokens"
    )
    assert pickle.loads(pickle.dumps(one)).limit == 256
