"""Code tasks: extraction of the code in an answer, the task rows, the builder's checks,
labelling by the sandbox, and code rows in collections and training (tiny model)."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from howsure.coding.builder import build_tasks, check_references, spec_tests
from howsure.coding.extract import extract_code
from howsure.coding.judge import CodeJudge, label_items
from howsure.coding.spec import Spec
from howsure.qa.items import QAItem, code_gold, code_tests, item_from_row
from howsure.qa.load import load_qa

ADD = Spec(
    family="arithmetic",
    entry="add",
    params="a, b",
    does="returns the sum of `a` and `b`",
    reference="def add(a, b):\n    return a + b\n",
    cases=((1, 2), (0, 0), (-1, 5)),
    bugs=("def add(a, b):\n    return a - b\n", "def add(a, b)\n    return a + b\n"),
)


def code_item(tests: str, *, entry: str | None = None, id: str = "c1") -> QAItem:
    return QAItem(
        id=id,
        question="Write add(a, b).",
        answers=(code_gold(tests, entry_point=entry),),
        topic="arithmetic",
        source="code",
    )


# --- extraction ---------------------------------------------------------------------


def test_extract_takes_the_fenced_fix_and_drops_demo_lines():
    answer = (
        "Your code:\n```python\ndef add(a, b)\n    return a - b\n```\nThe fix:\n"
        "```python\ndef add(a, b):\n    return a + b\n\nprint(add(1, 2))\nx = add(3, 4)\n```\n"
        "Then it prints 3."
    )
    code = extract_code(answer, entry_point="add")
    assert code.startswith("def add(a, b):\n    return a + b")
    assert "print" not in code and "x = add" not in code  # the demo is not judged


def test_extract_prefers_the_block_defining_the_entry_point():
    answer = "```python\ndef add(a, b):\n    return a + b\n```\nUse it:\n```python\nadd(1, 2)\n```"
    assert "def add" in extract_code(answer, entry_point="add")
    # without an entry point, the last block that parses
    assert extract_code("```\nx = 1\n```\n```\ny = 2\n```") == "y = 2\n"


def test_extract_bare_code_cuts_trailing_prose_and_keeps_constants():
    answer = (
        "Sure!\nVOWELS = 'aeiou'\ndef count(s):\n    return sum(c in VOWELS for c in s)\n"
        "This counts."
    )
    code = extract_code(answer, entry_point="count")
    assert "VOWELS = 'aeiou'" not in code  # prose before the first def/import is skipped
    assert code.rstrip().endswith("return sum(c in VOWELS for c in s)")
    assert extract_code("import math\ndef f(x):\n    return math.sqrt(x)\nDone.") == (
        "import math\ndef f(x):\n    return math.sqrt(x)"
    )


def test_extract_without_code_and_with_an_unclosed_fence():
    assert extract_code("I don't know how to do that.") == ""
    unclosed = "```python\ndef add(a, b):\n    return a + b\n"
    assert "return a + b" in extract_code(unclosed, entry_point="add")
    with pytest.raises(TypeError, match="answer must be a str"):
        extract_code(None)


# --- task rows ----------------------------------------------------------------------


def test_a_row_with_tests_is_a_code_task():
    item = item_from_row(
        {"question": "Write add(a, b).", "tests": "assert add(1, 2) == 3\n", "entry_point": "add"},
        index=1,
        source="tasks.jsonl",
    )
    assert code_tests(item) == ("assert add(1, 2) == 3", "add")
    assert code_tests(QAItem(id="q", question="Capital of Peru?", answers=("Lima",))) is None


@pytest.mark.parametrize(
    ("row", "match"),
    [
        (
            {"question": "Write f."},
            r"tasks.jsonl row 3.*missing 'answers'.*'tests' for a code task",
        ),
        ({"question": "Write f.", "tests": "  "}, r"tasks.jsonl row 3: no tests"),
        (
            {"question": "Write f.", "tests": "assert f(1) ==\n"},
            r"tasks.jsonl row 3: its tests do not parse: SyntaxError.*line 1",
        ),
        (
            {"question": "Write f.", "tests": "assert f(1)\n", "entry_point": "not a name"},
            r"entry_point 'not a name' is not a Python name",
        ),
    ],
)
def test_bad_code_rows_are_refused_naming_the_row(row, match):
    with pytest.raises(ValueError, match=match):
        item_from_row(row, index=3, source="tasks.jsonl")


def test_a_code_task_file_loads_through_load_qa(tmp_path):
    path = tmp_path / "tasks.jsonl"
    rows = [{"id": "t1", "question": "Write add.", "tests": "assert add(1, 2) == 3\n"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (item,) = load_qa(path)
    assert code_tests(item)[0] == "assert add(1, 2) == 3"


def test_shipped_code_tasks_are_code_items_split_by_function():
    items = load_qa("code")
    assert all(code_tests(it) is not None and it.source == "code" for it in items)
    topics = Counter(it.topic for it in items)
    families = {"string", "list", "dict", "arithmetic", "recursion", "parsing", "sorting", "dates"}
    assert set(topics) == families | {"debugging"}
    assert all(topics[f] >= 30 for f in families) and topics["debugging"] >= 40
    # every phrasing and bug of one function shares its split: none is trained and tested
    splits: dict[str, set] = {}
    for it in items:
        splits.setdefault(code_tests(it)[1], set()).add(it.split)
    assert all(len(s) == 1 for s in splits.values())
    assert {s for v in splits.values() for s in v} == {"train", "calibration", "test"}
    debug = [it for it in items if it.topic == "debugging"]
    assert all("```python" in it.question for it in debug)
    assert any("SyntaxError" in it.question for it in debug)
    assert any("but it should be" in it.question for it in debug)


def test_shipped_humaneval_keeps_its_tests_and_license():
    from howsure.qa.files import humaneval_path

    items = load_qa("humaneval")
    assert len(items) == 164 and {it.source for it in items} == {"humaneval"}
    tests, entry = code_tests(items[0])
    assert "def check(candidate)" in tests and tests.rstrip().endswith(f"check({entry})")
    assert (humaneval_path().parent / "LICENSE-HumanEval").read_text().startswith("The MIT")


# --- the builder --------------------------------------------------------------------


def test_builder_makes_write_and_debug_tasks_deterministically():
    rows = build_tasks([ADD], progress=False)
    assert rows == build_tasks([ADD], progress=False)  # deterministic
    write = [r for r in rows if r["difficulty"] == "write"]
    debug = [r for r in rows if r["difficulty"] == "debug"]
    assert len(write) == 2 and len(debug) == 4 and len({r["split"] for r in rows}) == 1
    assert all("add(a, b)" in r["question"] or "add" in r["question"] for r in write)
    symptoms = " ".join(r["question"] for r in debug)
    assert "`add(1, 2)` gives `-1` but it should be `3`." in symptoms
    assert "SyntaxError: expected ':'" in symptoms
    assert spec_tests(ADD).splitlines()[0].startswith("assert (_got := add(1, 2)) == 3")


def test_builder_refuses_a_reference_that_fails_and_a_bug_that_passes():
    wrong = Spec(**{**ADD.__dict__, "reference": "def add(a, b):\n    return a + b + (a == 0)\n"})
    rows = build_tasks([ADD], progress=False)
    rows[0]["reference"] = wrong.reference
    with pytest.raises(
        ValueError, match=r"code-arithmetic-add-w\d: failed.*add\(0, 0\) returned 1"
    ):
        check_references(rows, progress=False)
    harmless = Spec(**{**ADD.__dict__, "bugs": ("def add(a, b):\n    return b + a\n",)})
    with pytest.raises(ValueError, match=r"code task 'add': a bug passes every case"):
        build_tasks([harmless], progress=False)
    with pytest.raises(ValueError, match=r"duplicate function names \['add'\]"):
        build_tasks([ADD, ADD], progress=False)
    with pytest.raises(ValueError, match=r"code tasks without tests: \['x'\]"):
        check_references([{"id": "x", "tests": ""}], progress=False)


# --- labelling ----------------------------------------------------------------------


def test_label_items_runs_code_and_judges_questions_in_one_call():
    items = [
        code_item("assert add(1, 2) == 3\n", entry="add", id="c1"),
        QAItem(id="q1", question="What is the capital of Peru?", answers=("Lima",)),
        code_item("assert add(1, 2) == 3\n", entry="add", id="c2"),
    ]
    answers = [
        "```python\ndef add(a, b):\n    return a + b\n```",
        "The capital of Peru is Lima.",
        "```python\ndef add(a, b):\n    return a * b\n```",
    ]
    labels, outcomes = label_items(answers, items, progress=False)
    assert labels.tolist() == [True, True, False]
    assert outcomes[0].startswith("passed") and outcomes[1] == ""
    assert outcomes[2].startswith("failed")
    assert label_items(answers[1:2], items[1:2], progress=False)[1] is None
    assert CodeJudge()(answers[0], items[0].answers) is True
    with pytest.raises(ValueError, match="CodeJudge judges code tasks"):
        CodeJudge()("Lima", ["Lima"])


def test_a_code_answer_is_never_a_refusal():
    from howsure.qa.longform import abstained

    item = code_item("assert add(1, 2) == 3\n", entry="add")
    assert abstained(["I'm sorry, I can't help with that."], [item]).tolist() == [False]


# --- collections and training on the tiny model ------------------------------------


@pytest.fixture(scope="module")
def tiny_qa(tiny, tmp_path_factory):
    """A QA file in three topics where the tiny model is right about half the time."""
    from conftest import write_half_right_qa

    model, tok = tiny
    return write_half_right_qa(model, tok, tmp_path_factory.mktemp("tinyqa"), n_questions=120)


def half_passing_tasks(tmp_path, n=48):
    """Code tasks whose tests pass whatever the answer (half) or never (half): random
    weights write no code, so the labels have both classes."""
    families = ["string", "list", "dict"]
    rows = [
        {
            "id": f"t{i}",
            "question": f"Write a Python function `f{i}(x)` that returns x plus {i}.",
            "tests": "assert 1 == 1\n" if i % 2 else f"assert f{i}(1) == {i + 1}\n",
            "entry_point": f"f{i}",
            "topic": families[i % 3],
            "source": "code",
        }
        for i in range(n)
    ]
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_collect_labels_code_rows_by_their_tests_and_records_outcomes(tiny, tmp_path):
    from howsure.probes.collect import Collection, collect

    model, tok = tiny
    items = load_qa(half_passing_tasks(tmp_path, n=8))
    coll = collect(model, tok, items, layers=[1], max_new_tokens=4, progress=False)
    assert coll.labels.tolist() == [i % 2 == 1 for i in range(8)]
    outcomes = coll.extras["code_outcome"]
    assert all(o.startswith("passed") for o in outcomes[1::2])
    assert all(o.startswith(("failed", "error")) for o in outcomes[::2])
    saved = Collection.load(coll.save(tmp_path / "coll"))
    assert saved.extras["code_outcome"].tolist() == outcomes.tolist()
    again = collect(model, tok, items, layers=[1], max_new_tokens=4, progress=False)
    assert again.labels.tolist() == coll.labels.tolist()  # a cache hit is labelled again


def test_training_mixes_code_tasks_in_as_their_own_source(tiny, tiny_qa, tmp_path):
    from howsure.plugin.rows import code_style, style_for
    from howsure.plugin.train import train_detector
    from howsure.probes.styles import CODE_STYLES

    model, tok = tiny
    tasks = half_passing_tasks(tmp_path)
    with pytest.raises(
        ValueError, match=r"code tasks join it as their own source\) have no 'source'"
    ):
        train_detector(model, tok, dataset=str(tiny_qa), chat_per_source=8, code=(str(tasks),))
    rows = [json.loads(line) for line in tiny_qa.read_text().splitlines()]
    sourced = tmp_path / "sourced.jsonl"
    sourced.write_text("".join(json.dumps({**r, "source": "tiny"}) + "\n" for r in rows))
    res = train_detector(
        model,
        tok,
        dataset=str(sourced),
        layers=[1, 3],
        max_new_tokens=4,
        cv=3,
        progress=False,
        chat_per_source=8,
        chat_max_new_tokens=6,
        code=(str(tasks),),
    )
    colls, det = res.collections, res.detector
    code = {s: colls[f"code-{s}"] for s in ("train", "calibration", "test")}
    assert sum(len(c) for c in code.values()) == 48
    assert all(set(c.extras["style"]) <= set(CODE_STYLES) for c in code.values())
    fitted = sum(len(colls[k]) for k in ("train", "calibration", "chat-train", "chat-calibration"))
    fitted += len(code["train"]) + len(code["calibration"])
    assert det.info["training"]["n_train"] == fitted
    assert det.info["training"]["code"]["datasets"] == [str(tasks)]
    assert code_style(det) == {"sentences": True, "styles": CODE_STYLES, "max_new_tokens": 6}
    items = load_qa(tasks, split="test")
    assert style_for(det, items) == code_style(det)
    assert style_for(det, load_qa(sourced, split="test")) == det.qa_style
    with pytest.raises(ValueError, match="evaluate code tasks and questions as separate"):
        style_for(det, [*items, *load_qa(sourced, split="test")])


def test_training_with_code_needs_chat_rows_and_code_tasks(tiny, tiny_qa):
    from howsure.plugin.train import train_detector

    model, tok = tiny
    with pytest.raises(ValueError, match="needs chat_per_source >= 1"):
        train_detector(model, tok, dataset=str(tiny_qa), code=("code",), progress=False)
    with pytest.raises(TypeError, match="wrap it"):
        train_detector(model, tok, dataset=str(tiny_qa), code="code", progress=False)
    with pytest.raises(ValueError, match=r"is not a code-task set"):
        train_detector(
            model,
            tok,
            dataset=str(tiny_qa),
            chat_per_source=4,
            code=(str(tiny_qa),),
            layers=[1],
            max_new_tokens=2,
            progress=False,
        )


def test_label_arrays_are_bool():
    labels, _ = label_items(["x"], [code_item("assert 1 == 1\n")], progress=False)
    assert labels.dtype == np.bool_


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")  # random weights
def test_cli_train_eval_and_loto_with_code_tasks(tiny_dir, tiny_qa, tmp_path, capsys):
    from howsure.cli import main

    rows = [json.loads(line) for line in tiny_qa.read_text().splitlines()]
    sourced = tmp_path / "sourced.jsonl"
    sourced.write_text("".join(json.dumps({**r, "source": "tiny"}) + "\n" for r in rows))
    tasks = half_passing_tasks(tmp_path, n=60)
    model = ["--model", str(tiny_dir)]
    train = ["train", *model, "--dataset", str(sourced), "--layers", "1,3"]
    train += ["--max-new-tokens", "4", "--cv", "3", "--n-boot", "20", "--quiet"]
    train += ["--chat-per-source", "8", "--chat-max-new-tokens", "6", "--out", str(tmp_path / "t")]
    # bad input first, before the model loads
    assert main([*train[:-2], "--code", str(sourced), "--out", str(tmp_path / "x")]) == 2
    assert "is not a code-task set" in capsys.readouterr().err
    assert main(["train", *model, "--dataset", str(sourced), "--code", str(tasks)]) == 2
    assert "needs --chat-per-source" in capsys.readouterr().err
    assert main([*train, "--code", str(tasks)]) == 0
    text = capsys.readouterr().out
    assert "Held-out test split, code tasks (" in text and "labelled by running their tests" in text
    det = tmp_path / "t" / "detector"
    # eval on the code tasks: their test split (the detector trained on the others), no
    # sampling consistency (code answers agree by what they do, not by their words)
    ev = ["eval", *model, "--detector", str(det), "--dataset", str(tasks), "--quiet"]
    assert main([*ev, "--n-boot", "20", "--out", str(tmp_path / "ev")]) == 0
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert metrics["split"] == "test" and metrics["n"] == len(load_qa(tasks, split="test"))
    assert "consistency" not in metrics["methods"]  # (P(True): no one-token "yes" here)
    assert "Sampling consistency left out" in (tmp_path / "ev" / "report.md").read_text()
    # leave one code family out, the QA source always in training
    lo = ["loto", *model, "--detector", str(det), "--dataset", str(sourced), "--quiet"]
    lo += ["--by", "topic", "--within", "code", "--n-boot", "20", "--out", str(tmp_path / "lo")]
    assert main(lo) == 0
    report = json.loads((tmp_path / "lo" / "loto.json").read_text())
    assert report["code"] == [str(tasks)]
    assert [r["group"] for r in report["groups"]] == ["code:dict", "code:list", "code:string"]
    assert sum(r["n"] for r in report["groups"]) == 60


def test_the_shipped_code_tasks_are_the_builders_output():
    """Rebuilding from the specs gives the shipped file, every reference checked in the
    sandbox and every bug failing its tests on the way (the builder refuses otherwise)."""
    from howsure.coding.specs import SPECS
    from howsure.qa.files import code_path

    rows = build_tasks(SPECS, progress=False)
    shipped = [json.loads(line) for line in code_path().read_text().splitlines()]
    assert rows == shipped
