"""The web demo (``howsure demo``): its callbacks in-process on the tiny model.

The browser test (tests/test_demo_browser.py) drives the served page.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import sys
import threading
import warnings

import numpy as np
import pytest

from howsure import demo as demo_mod
from howsure.calibration.calibrators import PlattCalibrator
from howsure.cli import main
from howsure.demo import (
    Demo,
    badge,
    build_app,
    check_port,
    launch,
    level,
    load_report,
    parse_batch,
)
from howsure.plugin.detector import Detector, ReaderSettings
from howsure.plugin.wrapper import wrap
from howsure.probes.activations import generate_and_read
from howsure.probes.linear import LogisticProbe
from howsure.probes.models import model_fingerprint
from howsure.probes.prompts import question_messages, question_prompt
from howsure.qa.judge import label

LAYER = 2
N_NEW = 6
POSITIONS = ["last_prompt", "mean_answer"]
Q1, Q2 = "What is 3 plus 4?", "What is the capital of France?"


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """The tiny model runs fastest on one thread (on two it can be 100x slower while
    another process keeps the second core busy)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def fit_detectors(model, tok, root) -> None:
    """A detector per position, fitted on the tiny model with random labels, saved to
    ``root/<position>/detector`` (with metrics in its config, as ``howsure train`` saves)."""
    questions = [f"What is {a} plus {b}?" for a in range(6) for b in range(6)]
    prompts = [question_prompt(tok, q) for q in questions]
    res = generate_and_read(
        model, tok, prompts, layers=[LAYER], max_new_tokens=N_NEW, progress=False
    )
    y = np.random.default_rng(0).random(len(questions)) < 0.5
    for pos in POSITIONS:
        x = res.activations[(LAYER, pos)]
        probe = LogisticProbe(random_state=0).fit(x, y)
        raw = probe.confidence(x)
        cal = PlattCalibrator().fit(raw, y.astype(int))
        det = Detector(
            probe=probe,
            calibrator=cal,
            reader=ReaderSettings(layer=LAYER, position=pos, max_new_tokens=N_NEW),
            fingerprint=model_fingerprint(model),
            info={"metrics": {"test": {"auroc": 0.625, "ece": 0.0425, "brier": 0.25}, "n_test": 7}},
            calibration_scores=cal.confidence(raw),
            calibration_labels=y,
        )
        det.save(root / pos / "detector")


@pytest.fixture(scope="module")
def det_dirs(tiny, tmp_path_factory):
    """Detector folders per position: ``<run>/detector``, as ``howsure train`` saves."""
    model, tok = tiny
    root = tmp_path_factory.mktemp("demo-dets")
    fit_detectors(model, tok, root)
    return {pos: root / pos / "detector" for pos in POSITIONS}


@pytest.fixture(scope="module")
def dets(det_dirs):
    return {pos: Detector.load(folder) for pos, folder in det_dirs.items()}


def pct(x: float) -> int:
    return math.floor(100 * float(x) + 0.5)


def final(replies):
    replies = list(replies)
    assert replies[-1].done and not any(r.done for r in replies[:-1])
    return replies


def score(tiny, folder, prompt) -> float:
    model, tok = tiny
    return float(Detector.load(folder, model=model, tokenizer=tok).score([prompt])[0])


# -- chat ----------------------------------------------------------------------------------


@pytest.mark.parametrize("position", POSITIONS)
def test_chat_badge_is_the_detectors_score(tiny, det_dirs, position):
    model, tok = tiny
    demo = Demo(model, tok, detector=det_dirs[position])
    replies = final(demo.respond(Q1))
    last = replies[-1]
    want = score(tiny, det_dirs[position], Q1)
    assert last.confidence == pytest.approx(want, abs=1e-9)
    assert f">{pct(want)}%</span> The model is {pct(want)}% sure." in last.markdown
    assert f"howsure-{level(want)}" in last.markdown
    assert "howsure-pending" not in last.markdown
    assert not last.abstained and not last.flagged
    # the answer streams: the intermediate states are pending, the answer grows
    assert all("howsure-pending" in r.markdown for r in replies[:-1])
    if position == "last_prompt":  # the confidence is known before the answer
        assert replies[1].confidence == pytest.approx(want)
    else:  # answer positions: at the end
        assert [r.confidence for r in replies[:-1]].count(None) >= 2
    expected = wrap(model, tok, Detector.load(det_dirs[position])).generate(Q1)
    assert last.answer == expected.answer
    assert last.conversation == [
        *question_messages(Q1),
        {"role": "assistant", "content": expected.answer},
    ]


@pytest.mark.parametrize("position", POSITIONS)
def test_chat_is_multi_turn(tiny, det_dirs, position):
    model, tok = tiny
    demo = Demo(model, tok, detector=det_dirs[position])
    first = final(demo.respond(Q1))[-1]
    second = final(demo.respond(Q2, first.conversation))[-1]
    context = [*first.conversation, *question_messages(Q2)]
    want = score(tiny, det_dirs[position], context)
    assert second.confidence == pytest.approx(want, abs=1e-9)
    assert f"The model is {pct(want)}% sure." in second.markdown
    assert second.conversation[:3] == context and len(second.conversation) == 4
    # a fresh conversation scores the question alone
    alone = final(demo.respond(Q2))[-1]
    assert alone.confidence == pytest.approx(score(tiny, det_dirs[position], Q2), abs=1e-9)


@pytest.mark.parametrize("position", POSITIONS)
def test_threshold_slider_abstains_or_flags(tiny, det_dirs, position):
    model, tok = tiny
    demo = Demo(model, tok, detector=det_dirs[position])
    want = score(tiny, det_dirs[position], Q1)
    replies = final(demo.respond(Q1, threshold=1.0))
    last = replies[-1]
    assert last.abstained and not last.flagged
    assert "I'm not sure." in last.markdown and "below your 100% threshold" in last.markdown
    assert f"The model is {pct(want)}% sure." in last.markdown
    assert last.answer  # kept, not shown
    assert all(last.answer not in r.markdown for r in replies)
    flagged = final(demo.respond(Q1, threshold=1.0, mode="flag"))[-1]
    assert flagged.flagged and not flagged.abstained
    assert (
        "below your 100% threshold" in flagged.markdown and "I'm not sure." not in flagged.markdown
    )
    below = final(demo.respond(Q1, threshold=min(want + 0.01, 1.0)))[-1]
    above = final(demo.respond(Q1, threshold=max(want - 0.01, 0.0)))[-1]
    assert below.abstained and not above.abstained
    assert not final(demo.respond(Q1, threshold=0.0))[-1].abstained


def test_chat_bad_input(tiny, det_dirs):
    model, tok = tiny
    demo = Demo(model, tok, detector=det_dirs["last_prompt"])
    with pytest.raises(ValueError, match="type a question"):
        next(demo.respond("  "))
    with pytest.raises(ValueError, match=r"threshold must be a probability in \[0, 1\]; got 1\.5"):
        next(demo.respond(Q1, threshold=1.5))
    with pytest.raises(ValueError, match="mode must be"):
        next(demo.respond(Q1, mode="hide"))
    with pytest.raises(ValueError, match="max_new_tokens must be an int >= 1; got 0"):
        Demo(model, tok, detector=det_dirs["last_prompt"], max_new_tokens=0)
    with pytest.raises(ValueError, match="abstain_below must be a probability"):
        Demo(model, tok, detector=det_dirs["last_prompt"], abstain_below=2)
    with pytest.raises(TypeError, match="brings its own tokenizer"):
        Demo(wrap(model, tok, Detector.load(det_dirs["last_prompt"])), tok)


def test_conversation_too_long_is_a_message_not_a_crash(tiny, det_dirs):
    model, tok = tiny
    demo = Demo(model, tok, detector=det_dirs["last_prompt"])
    long = [{"role": "user", "content": "plus " * 300}, {"role": "assistant", "content": "x"}]
    last = final(demo.respond(Q1, long))[-1]
    assert last.error and "exceeds the model's context" in last.markdown
    assert "New conversation" in last.markdown and last.conversation == long
    assert final(demo.respond(Q1))[-1].confidence is not None  # the lock was released


def test_generation_is_one_at_a_time(tiny, det_dirs, monkeypatch):
    from howsure.plugin.wrapper import ConfidentModel

    model, tok = tiny
    demo = Demo(model, tok, detector=det_dirs["mean_answer"])
    want = {q: final(demo.respond(q))[-1].markdown for q in (Q1, Q2)}
    got: dict[str, str] = {}
    active, peak = [0], [0]
    real_events = ConfidentModel.events

    def counted(self, *args, **kwargs):  # generations running at once, by their events
        events = real_events(self, *args, **kwargs)
        real_close, closed = events.close, []
        active[0] += 1
        peak[0] = max(peak[0], active[0])

        def close() -> None:
            if not closed:
                closed.append(True)
                active[0] -= 1
            real_close()

        events.close = close
        return events

    monkeypatch.setattr(ConfidentModel, "events", counted)

    def ask(q: str) -> None:
        got[q] = list(demo.respond(q))[-1].markdown

    threads = [threading.Thread(target=ask, args=(q,)) for q in (Q1, Q2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert got == want and peak[0] == 1


def test_badge_levels():
    assert [level(x) for x in (0.0, 0.499, 0.5, 0.799, 0.8, 1.0)] == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
    ]
    assert ">83%</span>" in badge(0.834) and "#15803d" in badge(0.834)  # green
    assert "#b91c1c" in badge(0.2) and "#b45309" in badge(0.6)  # red, amber
    assert ">50%</span>" in badge(0.495)  # half up, as the wrapper's prefix
    assert "no confidence" in badge(None)


# -- no detector, wrong detector ---------------------------------------------------------------


def test_no_detector_chats_without_confidence(tiny):
    model, tok = tiny
    with pytest.warns(UserWarning, match="No detector loaded"):
        demo = Demo(model, tok)
    assert demo.chat is None and "No detector loaded" in demo.header()
    last = final(demo.respond(Q1))[-1]
    assert last.confidence is None and "no confidence" in last.markdown
    assert "no detector loaded" in last.markdown
    ref = generate_and_read(
        model, tok, [question_prompt(tok, Q1)], layers=[0], max_new_tokens=32, progress=False
    )
    assert last.answer == ref.answers[0]
    second = final(demo.respond(Q2, last.conversation))[-1]
    assert len(second.conversation) == 4
    res = demo.batch(f"{Q1} | 7")
    assert res.rows[0][2] is None and "no detector loaded" in res.summary
    assert "No detector is loaded" in demo.report.markdown


def test_detector_for_another_model(tiny, tmp_path_factory, det_dirs):
    from conftest import make_tiny_chat_model

    from howsure.probes.models import load_model

    other_dir = make_tiny_chat_model(tmp_path_factory.mktemp("tiny-3"), layers=3)
    model, tok = load_model(str(other_dir), device="cpu")
    with pytest.warns(UserWarning, match="fitted on another model"):
        demo = Demo(model, tok, detector=det_dirs["last_prompt"])
    assert demo.chat is None
    assert "num_layers: detector 4, model 3" in demo.header()
    assert "answers without a confidence" in demo.header()
    last = final(demo.respond(Q1))[-1]
    assert last.confidence is None and last.answer == last.conversation[-1]["content"]
    # a missing or broken folder: the same, with Detector.load's message
    with pytest.warns(UserWarning, match="does not exist"):
        assert Demo(model, tok, detector=tmp_path_factory.mktemp("x") / "nope").chat is None


# -- batch -----------------------------------------------------------------------------------


def test_parse_batch(tmp_path):
    text = f"{Q1}\t7\n\n  {Q2} | Paris | paris city \nWhat is 2 plus 2?\n"
    assert parse_batch(text) == [
        (Q1, ["7"]),
        (Q2, ["Paris", "paris city"]),
        ("What is 2 plus 2?", []),
    ]
    csv_file = tmp_path / "q.csv"
    csv_file.write_text("Question,answers\nWhat is 1 plus 1?,2|two\nWho?,\n", encoding="utf-8")
    jsonl = tmp_path / "q.jsonl"
    rows = [
        {"question": "A?", "answers": ["a", "b"]},
        {"question": "B?", "answer": "c"},
        {"question": "C?"},
    ]
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert parse_batch(None, csv_file) == [("What is 1 plus 1?", ["2", "two"]), ("Who?", [])]
    assert parse_batch("", jsonl) == [("A?", ["a", "b"]), ("B?", ["c"]), ("C?", [])]
    assert parse_batch("X?", jsonl)[0] == ("X?", [])
    bad = tmp_path / "bad.csv"
    bad.write_text("text,answers\nhi,1\n", encoding="utf-8")
    for args, match in [
        (("",), "no questions"),
        (("\n  \n",), "no questions"),
        (("| Paris",), "has no question"),
        ((None, bad), r"expected 'question'"),
        ((None, tmp_path / "q.txt"), "upload a .csv, .jsonl, .json or .parquet"),
        (("q\n" * 501,), "at most 500"),
    ]:
        with pytest.raises(ValueError, match=match):
            parse_batch(*args)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"question": "A?"}\n{nope\n', encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON Lines"):
        parse_batch(None, broken)


def test_batch_table_and_csv(tiny, det_dirs, tmp_path):
    model, tok = tiny
    demo = Demo(model, tok, detector=det_dirs["last_prompt"])
    det = Detector.load(det_dirs["last_prompt"], model=model, tokenizer=tok)
    own = wrap(model, tok, det).generate("What is 1 plus 1?").answer
    upload = tmp_path / "more.jsonl"
    upload.write_text(json.dumps({"question": "What is 1 plus 1?", "answers": [own]}) + "\n")
    res = demo.batch(f"{Q1} | 7 | seven\n{Q2}", upload)
    assert res.columns == ["question", "answer", "confidence", "gold", "correct"]
    questions = [r[0] for r in res.rows]
    assert questions == [Q1, Q2, "What is 1 plus 1?"]
    want = det.score(questions)
    assert np.allclose([r[2] for r in res.rows], want, atol=1e-4)
    assert res.rows[0][3] == "7 | seven" and res.rows[1][3] == ""
    assert res.rows[0][4] is label(res.rows[0][1], ["7", "seven"])
    assert res.rows[1][4] is None  # no gold answers
    assert res.rows[2][4] is True  # the gold answer is the model's own
    assert "3 questions" in res.summary and "mean confidence" in res.summary
    assert "on the 2 with gold answers" in res.summary
    with res.csv_path.open(encoding="utf-8", newline="") as fh:
        table = list(csv.reader(fh))
    assert table[0] == res.columns
    assert [row[0] for row in table[1:]] == questions
    assert [float(row[2]) for row in table[1:]] == [r[2] for r in res.rows]
    assert [row[4] for row in table[1:]] == [str(res.rows[0][4]), "", "True"]
    # without any gold answer: no gold/correct columns
    plain = demo.batch(Q1)
    assert plain.columns == ["question", "answer", "confidence"] and len(plain.rows) == 1
    again = demo.batch(Q1)  # same size, same second: still a file of its own
    assert again.csv_path != plain.csv_path and plain.csv_path.is_file()
    with pytest.raises(ValueError, match="no questions"):
        demo.batch("")


# -- the "how good is this number" tab ---------------------------------------------------------


def write_report(folder, *, images=("reliability.png", "roc.png"), html=True):
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    ci = {"auroc": [0.7, 0.9], "ece": [0.01, 0.08], "brier": [0.1, 0.2]}
    metrics = {
        "n": 123,
        "accuracy": 0.4,
        "dataset": "builtin",
        "split": "test",
        "detector": str(folder / "detector"),
        "methods": {
            "logprob_mean": {"auroc": 0.61, "ece": 0.2, "brier": 0.3, "ci95": ci},
            "probe": {"auroc": 0.8123, "ece": 0.0344, "brier": 0.1567, "ci95": ci},
            "probe_last_prompt": {"auroc": 0.75, "ece": float("nan"), "brier": 0.2},
        },
    }
    (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    for name in images:
        Image.new("RGB", (40, 30), "white").save(folder / name)
    if html:
        (folder / "report.html").write_text("<html>report</html>", encoding="utf-8")
    return folder


def test_report_tab_with_a_saved_report(tmp_path, dets):
    folder = write_report(tmp_path / "run")
    view = load_report(folder, detector=dets["last_prompt"], detector_folder=folder / "detector")
    assert view.found and view.metrics["n"] == 123
    md = view.markdown
    assert (
        "**AUROC 0.812** · **ECE 0.034** · **Brier 0.157** · **accuracy 40.0%** · **n 123**" in md
    )
    assert "| **probe** (this detector) | 0.812 [0.700, 0.900] | 0.034 [0.010, 0.080] |" in md
    assert md.index("**probe** (this detector)") < md.index("| logprob_mean |")
    assert "| probe_last_prompt | 0.750 | n/a | 0.200 |" in md
    assert "dataset `builtin`" in md and "n = 123" in md
    assert [p.name for p, _ in view.images] == ["reliability.png", "roc.png"]
    assert "Reliability diagram" in view.images[0][1]
    assert "Not found in" in md and "risk_coverage.png, histogram.png, sweep.png" in md
    assert view.html == folder / "report.html"
    assert "No saved report" not in md
    # the prompt detector's folder marks its own row
    prompt_view = load_report(folder, detector_folder=folder / "detector-prompt")
    assert "| **probe_last_prompt** (this detector) |" in prompt_view.markdown
    # the tab names the detector loaded, and says when the report names another path
    assert f"Report for the detector `{folder / 'detector'}`." in md
    moved = load_report(folder, detector_folder=tmp_path / "copied" / "detector")
    assert f"Report for the detector `{tmp_path / 'copied' / 'detector'}`" in moved.markdown
    assert f"the report names `{folder / 'detector'}`" in moved.markdown


def test_report_tab_falls_back_to_the_detectors_metrics(tmp_path, tiny, dets, det_dirs):
    view = load_report(tmp_path / "empty", detector=dets["last_prompt"])
    assert not view.found and view.images == [] and view.html is None
    assert f"No saved report found at {tmp_path / 'empty'}; run `howsure eval" in view.markdown
    assert "Showing the held-out metrics saved with the detector" in view.markdown
    assert "**AUROC 0.625** · **ECE 0.043** · **Brier 0.250**" in view.markdown
    assert "**n 7**" in view.markdown
    assert "No saved report found (no report folder given" not in view.markdown
    none = load_report(None)
    assert "no report folder given" in none.markdown and "No detector is loaded" in none.markdown
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "metrics.json").write_text("{not json", encoding="utf-8")
    assert "could not read" in load_report(broken).markdown
    # the demo's default report folder is the detector folder's parent
    model, tok = tiny
    demo = Demo(model, tok, detector=det_dirs["last_prompt"])
    assert demo.report_folder == det_dirs["last_prompt"].parent
    assert "Showing the held-out metrics saved with the detector" in demo.report.markdown
    copy = shutil.copytree(det_dirs["mean_answer"], tmp_path / "run" / "detector")
    write_report(copy.parent, images=("reliability.png",), html=False)
    shown = Demo(model, tok, detector=copy).report
    assert shown.found and [p.name for p, _ in shown.images] == ["reliability.png"]
    explicit = Demo(model, tok, detector=det_dirs["last_prompt"], report=tmp_path / "empty")
    assert explicit.report_folder == tmp_path / "empty"


def _shipped_report_checks(view) -> None:
    """The report tab of the shipped detector: its numbers and plots, no warning."""
    md = view.markdown
    assert "**AUROC 0.866** · **ECE 0.023** · **Brier 0.092**" in md
    assert "n = 774" in md and "0.866 [0.828, 0.899]" in md
    assert "howsure-note" not in md and "Not found" not in md and "No saved report" not in md
    assert "the plots from its stored calibration scores" in md and "accuracy n/a" not in md
    assert len(view.images) >= 1
    for path, caption in view.images:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "stored out-of-fold" in caption


def test_report_tab_of_the_shipped_detector_shows_numbers_and_plots(tmp_path):
    from howsure.plugin.defaults import DEFAULT_DETECTOR_NAME, shipped_detectors

    folder = shipped_detectors()[DEFAULT_DETECTOR_NAME]
    det = Detector.load(folder)
    view = load_report(None, detector=det, detector_folder=folder, plot_dir=tmp_path)
    _shipped_report_checks(view)
    assert [p.name for p, _ in view.images] == [
        "detector-reliability.png",
        "detector-histogram.png",
    ]


def test_the_demo_opens_the_shipped_detectors_own_report(tiny, dets, monkeypatch):
    """The demo never takes the package's data folder for a report folder: it shows the
    shipped detector's saved numbers and draws its plots (the tiny model stands in for the
    embedded one, with the shipped detector's metrics and calibration scores)."""
    import copy

    from howsure.demo import app as app_mod
    from howsure.plugin.defaults import DEFAULT_DETECTOR_NAME, shipped_detectors

    folder = shipped_detectors()[DEFAULT_DETECTOR_NAME]
    shipped = Detector.load(folder)
    stand_in = copy.copy(dets["last_prompt"])
    stand_in.info = shipped.info
    stand_in.calibration_scores = shipped.calibration_scores
    stand_in.calibration_labels = shipped.calibration_labels
    monkeypatch.setattr(app_mod, "wrap", lambda m, t, d: wrap(m, t, stand_in))
    model, tok = tiny
    demo = Demo(model, tok, detector=folder)
    assert demo.report_folder is None
    _shipped_report_checks(demo.report)


# -- the page, launch and the CLI --------------------------------------------------------------


def test_build_app_and_serve(tiny, det_dirs, tmp_path):
    gr = pytest.importorskip("gradio")
    import httpx

    model, tok = tiny
    write_report(tmp_path / "rep")
    app = build_app(model, tok, detector=det_dirs["last_prompt"], report=tmp_path / "rep")
    assert isinstance(app, gr.Blocks) and app.howsure_demo.report.found
    assert app.howsure_demo.chat is not None
    url = launch(app, port=0, block=False, quiet=True)
    try:
        assert url.startswith("http://127.0.0.1:")
        page = httpx.get(url, timeout=10)
        assert page.status_code == 200 and "howsure" in page.text
    finally:
        app.close()
    with pytest.raises(ValueError, match="port must be an integer in 0-65535"):
        launch(app, port=70000)
    assert check_port(None) is None and check_port(0) == 0 and check_port(8080) == 8080
    for bad in (-1, 65536, 1.5, True, "80"):
        with pytest.raises(ValueError, match="port must be"):
            check_port(bad)


def test_build_app_without_gradio(tiny, monkeypatch):
    model, tok = tiny
    monkeypatch.setitem(sys.modules, "gradio", None)
    with pytest.raises(ImportError, match=r"pip install 'howsure\[demo\]'"):
        build_app(model, tok)


@pytest.fixture
def fake_launch(monkeypatch):
    calls = []
    monkeypatch.setattr(demo_mod, "launch", lambda app, **kw: calls.append((app, kw)) or "url")
    return calls


def test_cli_demo_launches(tiny_dir, det_dirs, fake_launch, capsys):
    pytest.importorskip("gradio")
    args = ["demo", "--model", str(tiny_dir), "--detector", str(det_dirs["mean_answer"])]
    assert main([*args, "--port", "0", "--abstain-below", "0.25", "--max-new-tokens", "4"]) == 0
    ((app, kw),) = fake_launch
    assert kw == {"host": "127.0.0.1", "port": 0}
    d = app.howsure_demo
    assert d.chat is not None and d.chat.detector.reader.position == "mean_answer"
    assert d.threshold == 0.25 and d.max_new_tokens == 4
    assert d.report_folder == det_dirs["mean_answer"].parent
    assert "Ctrl-C" in capsys.readouterr().out


def test_cli_demo_without_the_default_detector(tiny_dir, tmp_path, monkeypatch, fake_launch):
    pytest.importorskip("gradio")
    monkeypatch.chdir(tmp_path)  # no howsure-out/train/detector here
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["demo", "--model", str(tiny_dir), "--host", "0.0.0.0"]) == 0
    assert any("No detector loaded" in str(w.message) for w in caught)
    ((app, kw),) = fake_launch
    assert kw == {"host": "0.0.0.0", "port": None} and app.howsure_demo.chat is None


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--detector", "no/such/detector"], "no detector at no/such/detector"),
        (["--port", "70000"], "port must be an integer in 0-65535"),
        (["--port", "-1"], "port must be an integer in 0-65535"),
        (["--abstain-below", "1.5"], r"--abstain-below must be a probability in \[0, 1\]; got"),
        (["--max-new-tokens", "0"], "--max-new-tokens must be an int >= 1; got 0"),
    ],
)
def test_cli_demo_bad_input(tiny_dir, fake_launch, capsys, extra, match):
    import re

    assert main(["demo", "--model", str(tiny_dir), *extra]) == 2
    assert re.search(match, capsys.readouterr().err)
    assert fake_launch == []


def test_cli_demo_without_gradio(tiny_dir, monkeypatch, fake_launch, capsys):
    monkeypatch.setitem(sys.modules, "gradio", None)
    assert main(["demo", "--model", str(tiny_dir)]) == 2
    assert "pip install 'howsure[demo]'" in capsys.readouterr().err


def test_model_text_cannot_inject_markdown_or_html():
    from howsure.demo.render import esc_md as _esc_md

    shown = _esc_md("![x](http://example.com/a.png) <img src=x> 2 * 3 = 6")
    assert "![" not in shown and "<img" not in shown
    assert shown == "\\!\\[x\\](http://example.com/a.png) &lt;img src=x&gt; 2 \\* 3 = 6"


def test_plain_stream_closed_early_stops_generating(tiny):
    """Without a detector, a page that stops listening also stops the generation (the
    same streaming path as with one: ConfidentModel without a detector)."""
    model, tok = tiny
    with pytest.warns(UserWarning, match="No detector loaded"):
        demo = Demo(model, tok, max_new_tokens=120)
    calls = []
    handle = model.register_forward_hook(lambda *a: calls.append(1))
    try:
        assert demo.generator.detector is None and demo.chat is None
        pieces = demo.generator.stream([{"role": "user", "content": Q1}], max_new_tokens=120)
        next(pieces)
        pieces.close()  # joins the generation thread
        n = len(calls)
    finally:
        handle.remove()
    assert n < 60, n


def test_an_unfamiliar_question_gets_the_note():
    """The reply says when the question is unlike the detector's training rows."""
    from howsure.demo.render import render_reply
    from howsure.probes.familiarity import UNFAMILIAR_NOTE

    class Chat:
        abstain_message = "I'm not sure."

        def prefix(self, confidence: float) -> str:
            return f"The model is {round(confidence * 100)}% sure."

    text = render_reply("Lima", chat=Chat(), confidence=0.7, done=True, threshold=0.0)
    assert UNFAMILIAR_NOTE not in text
    odd = render_reply(
        "Lima", chat=Chat(), confidence=0.7, done=True, threshold=0.0, unfamiliar=True
    )
    assert UNFAMILIAR_NOTE in odd and "The model is 70% sure." in odd
