"""End to end: the demo served on loopback, driven by Debian's Chromium through Playwright.

Marked ``browser`` (``-m "not slow and not browser"`` leaves it out). Skipped when
``/usr/bin/chromium`` or the ``playwright`` package is missing (scripts/setup.sh installs
both), unless ``HOWSURE_REQUIRE_BROWSER=1`` (as CI sets): then it fails. Playwright
never downloads a browser here: it drives the system one. Screenshots go to pytest's
``tmp_path`` and, when ``HOWSURE_SCREENSHOTS`` names a folder, there too.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import math
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000
LAYER = 2

pytestmark = pytest.mark.browser  # -m "not browser" runs the suite without Chromium


def _missing() -> str | None:
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing (bash scripts/setup.sh installs Debian's chromium)"
    for module in ("playwright", "gradio"):
        if importlib.util.find_spec(module) is None:
            return f"the {module} package is missing (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="module")
def browser():
    why = _missing()
    if why:
        if os.environ.get("HOWSURE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"HOWSURE_REQUIRE_BROWSER=1 but {why}")
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def served(browser, tiny, tmp_path_factory):
    """The demo on a free loopback port (served from a background thread) with a
    last_prompt detector fitted on the tiny model; yields (url, bound detector)."""
    import torch

    from howsure.calibration.calibrators import PlattCalibrator
    from howsure.demo import build_app, launch
    from howsure.plugin.detector import Detector, ReaderSettings
    from howsure.probes.activations import generate_and_read
    from howsure.probes.linear import LogisticProbe
    from howsure.probes.models import model_fingerprint
    from howsure.probes.prompts import question_prompt

    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the tiny model is fastest on one thread
    model, tok = tiny
    questions = [f"What is {a} plus {b}?" for a in range(5) for b in range(5)]
    prompts = [question_prompt(tok, q) for q in questions]
    res = generate_and_read(model, tok, prompts, layers=[LAYER], max_new_tokens=6, progress=False)
    x = res.activations[(LAYER, "last_prompt")]
    y = np.random.default_rng(1).random(len(questions)) < 0.5
    probe = LogisticProbe(random_state=0).fit(x, y)
    run = tmp_path_factory.mktemp("demo-run")
    Detector(
        probe=probe,
        calibrator=PlattCalibrator().fit(probe.confidence(x), y.astype(int)),
        reader=ReaderSettings(layer=LAYER, position="last_prompt", max_new_tokens=6),
        fingerprint=model_fingerprint(model),
    ).save(run / "detector")
    metrics = {
        "n": 25,
        "accuracy": 0.48,
        "dataset": "tiny",
        "detector": str(run / "detector"),
        "methods": {"probe": {"auroc": 0.6875, "ece": 0.05, "brier": 0.2}},
    }
    (run / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    app = build_app(model, tok, detector=run / "detector")
    url = launch(app, host="127.0.0.1", port=0, block=False, quiet=True)
    try:
        yield url, Detector.load(run / "detector", model=model, tokenizer=tok)
    finally:
        app.close()
        torch.set_num_threads(n_threads)


def expected_pct(det, prompt) -> int:
    """The detector's score for a question or conversation, in whole percent."""
    return math.floor(100 * float(det.score([prompt])[0]) + 0.5)


def ask(page, question: str) -> None:
    box = page.locator("#howsure-question textarea, #howsure-question input").first
    box.fill(question)
    box.press("Enter")


def wait_answered(page, n: int = 1) -> str:
    """Wait until the chat shows ``n`` finished replies; return the last badge's text."""
    page.wait_for_function(
        """n => {
            const chat = document.querySelector('#howsure-chat');
            return chat && chat.querySelectorAll('.howsure-badge').length >= n
                && !chat.querySelector('.howsure-pending');
        }""",
        arg=n,
        timeout=TIMEOUT_MS,
    )
    return page.locator("#howsure-chat .howsure-badge").last.inner_text().strip()


def screenshot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    extra = os.environ.get("HOWSURE_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / name)
    return path


def test_chat_in_the_browser(browser, served, tmp_path):
    url, det = served
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    external: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(url) else external.append(r.url))
    page.goto(url)
    question = "What is 3 plus 4?"
    ask(page, question)
    got = wait_answered(page)
    want = expected_pct(det, question)
    assert got == f"{want}%"
    chat = page.locator("#howsure-chat").inner_text()
    assert question in chat and f"The model is {want}% sure." in chat
    assert screenshot(page, tmp_path, "demo-chat.png").stat().st_size > 10_000
    # a follow-up: the badge is the detector's score of the whole conversation
    from howsure.plugin.wrapper import wrap
    from howsure.probes.prompts import question_messages

    first = wrap(det.model, det.tokenizer, det).generate(question).answer
    assert first  # so the conversation holds it
    follow = "And 5 plus 5?"
    conversation = [
        *question_messages(question),
        {"role": "assistant", "content": first},
        *question_messages(follow),
    ]
    ask(page, follow)
    assert wait_answered(page, 2) == f"{expected_pct(det, conversation)}%"
    assert page.locator("#howsure-chat .howsure-badge").count() == 2
    # the "how good" tab shows the saved report
    page.get_by_role("tab", name="How good is this number?").click()
    report = page.locator("#howsure-report")
    report.get_by_text("AUROC 0.688").wait_for(timeout=TIMEOUT_MS)
    assert "n = 25" in report.inner_text()
    screenshot(page, tmp_path, "demo-report.png")
    assert external == []  # the page loads nothing from outside
    page.close()


def test_two_sessions_at_once(browser, served, tmp_path):
    url, det = served
    candidates = [f"What is {a} plus {b}?" for a in range(7, 10) for b in range(7, 10)]
    by_pct = {expected_pct(det, q): q for q in candidates}
    assert len(by_pct) >= 2, "the questions' confidences should differ"
    (pct_a, q_a), (pct_b, q_b) = list(by_pct.items())[:2]
    pages = []
    for _ in range(2):
        context = browser.new_context(viewport={"width": 1000, "height": 800})
        page = context.new_page()
        page.goto(url)
        page.locator("#howsure-question textarea, #howsure-question input").first.wait_for()
        pages.append(page)
    # Slow every forward pass down so that the two questions are in flight together, and
    # record which thread ran each: one generation at a time means no interleaving.
    threads: list[threading.Thread] = []

    def slow(module, args):
        threads.append(threading.current_thread())
        time.sleep(0.05)

    hook = det.model.register_forward_pre_hook(slow)
    try:
        ask(pages[0], q_a)
        ask(pages[1], q_b)  # queued behind the first
        assert wait_answered(pages[0]) == f"{pct_a}%"
        assert wait_answered(pages[1]) == f"{pct_b}%"
    finally:
        hook.remove()
    assert len(set(threads)) == 2
    assert sum(a is not b for a, b in itertools.pairwise(threads)) == 1  # AAA...BBB
    chat_a = pages[0].locator("#howsure-chat").inner_text()
    chat_b = pages[1].locator("#howsure-chat").inner_text()
    assert q_a in chat_a and q_b not in chat_a
    assert q_b in chat_b and q_a not in chat_b
    screenshot(pages[1], tmp_path, "demo-second-session.png")
    for page in pages:
        page.context.close()


def test_batch_in_the_browser(browser, served, tmp_path):
    url, det = served
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.goto(url)
    page.get_by_role("tab", name="Batch").click()
    questions = ["What is 1 plus 2?", "What is the capital of Peru?"]
    page.locator("#howsure-batch-text textarea").fill(f"{questions[0]} | 3\n{questions[1]}")
    page.locator("#howsure-batch-run").click()
    page.get_by_text("2 questions").wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function(
        "q => (document.querySelector('#howsure-batch-table')?.innerText || '').includes(q)",
        arg=questions[1],
        timeout=TIMEOUT_MS,
    )
    table = page.locator("#howsure-batch-table").inner_text()
    for q in questions:
        assert q in table and f"{expected_pct(det, q)}%" in table
    download = page.get_by_role("button", name="Download CSV")
    assert download.is_visible()
    with page.expect_download() as info:
        download.click()
    lines = Path(info.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "question,answer,confidence,gold,correct" and len(lines) == 3
    screenshot(page, tmp_path, "demo-batch.png")
    page.close()
