"""Tests of the hub QA mappings and loader (no network: loaders are injected), and of
local Parquet files and wrong-column errors. All rows are made up for these tests."""

from __future__ import annotations

import json
import sys

import pytest

from howsure.qa.files import load_items
from howsure.qa.hub import (
    HUB_DATASETS,
    HubSpec,
    load_hub,
    nq_open_row,
    popqa_row,
    sciq_row,
    triviaqa_row,
    truthfulqa_row,
)
from howsure.qa.items import SPLITS
from howsure.qa.load import load_qa

datasets = pytest.importorskip("datasets")


# --- hand-written examples in the hub datasets' shapes -------------------------------


def _trivia(qid: str, question: str, value: str, aliases: list[str]) -> dict:
    return {
        "question": question,
        "question_id": qid,
        "question_source": "http://example.org/",
        "entity_pages": {"doc_source": [], "filename": [], "title": [], "wiki_context": []},
        "search_results": {
            "description": [],
            "filename": [],
            "rank": [],
            "title": [],
            "url": [],
            "search_context": [],
        },
        "answer": {
            "aliases": aliases,
            "normalized_aliases": [a.lower() for a in aliases],
            "matched_wiki_entity_name": "",
            "normalized_matched_wiki_entity_name": "",
            "normalized_value": value.lower(),
            "type": "WikipediaEntity",
            "value": value,
        },
    }


TRIVIA = [
    _trivia("tq_1", "Which made-up river flows through Fooville?", "Barflow", ["Barflow", "Bar"]),
    _trivia("tq_2", "What colour is the imaginary Zorb bird?", "Teal", ["Teal"]),
    # the hub's test split: no answers
    {**_trivia("tq_3", "Who wrote the invented novel Quux?", "<unk>", []), "answer": {
        "aliases": [], "normalized_aliases": [], "matched_wiki_entity_name": "<unk>",
        "normalized_matched_wiki_entity_name": "<unk>", "normalized_value": "<unk>",
        "type": "", "value": "<unk>"}},
]  # fmt: skip
NQ = [
    {"question": "who painted the fictional mural of glimtown", "answer": ["Ada Pell", "Pell"]},
    {"question": "how many moons does planet zed have", "answer": ["7"]},
    {"question": "when was the pretend bridge built", "answer": []},
]
SCIQ = [
    {
        "question": "What gas do made-up glowplants release?",
        "distractor1": "argon",
        "distractor2": "neon",
        "distractor3": "xenon",
        "correct_answer": "oxygen",
        "support": "Invented support text.",
    },
    {
        "question": "Which organ of the toy frog pumps sap?",
        "distractor1": "lung",
        "distractor2": "liver",
        "distractor3": "skin",
        "correct_answer": "heart",
        "support": "",
    },
    {
        "question": "Blank answer row?",
        "distractor1": "a",
        "distractor2": "b",
        "distractor3": "c",
        "correct_answer": "  ",
        "support": "",
    },
]


def _pop(i: int, question: str, prop: str, answers: list[str]) -> dict:
    return {
        "id": i,
        "subj": "Somebody",
        "prop": prop,
        "obj": answers[0] if answers else "",
        "subj_id": 1,
        "prop_id": 2,
        "obj_id": 3,
        "s_aliases": "[]",
        "o_aliases": "[]",
        "s_uri": "",
        "o_uri": "",
        "s_wiki_title": "",
        "o_wiki_title": "",
        "s_pop": 10,
        "o_pop": 20,
        "question": question,
        "possible_answers": json.dumps(answers),
    }


POPQA = [
    _pop(101, "What is Mira Tolk's occupation?", "occupation", ["painter", "artist"]),
    _pop(102, "In what city was Ben Ostra born?", "place of birth", ["Lindholt"]),
    _pop(103, "Who is the father of Kel Varn?", "father", []),
]
TRUTHFUL = [
    {
        "type": "Adversarial",
        "category": "Misconceptions",
        "question": "What happens if you whistle at a made-up moon?",
        "best_answer": "Nothing in particular happens",
        "correct_answers": ["Nothing happens", "I have no comment"],
        "incorrect_answers": ["The moon falls"],
        "source": "https://example.org/",
    },
    {
        "type": "Non-Adversarial",
        "category": "Fiction",
        "question": "Are the invented Glorbs real?",
        "best_answer": "No, Glorbs are fictional",
        "correct_answers": ["No"],
        "incorrect_answers": ["Yes"],
        "source": "",
    },
    {
        "type": "Adversarial",
        "category": "Fiction",
        "question": "An empty one?",
        "best_answer": "",
        "correct_answers": [],
        "incorrect_answers": ["x"],
        "source": "",
    },
]


# --- mappings ------------------------------------------------------------------------


def test_triviaqa_row() -> None:
    row = triviaqa_row(TRIVIA[0])
    assert row == {
        "question": "Which made-up river flows through Fooville?",
        "answers": ["Barflow", "Bar", "barflow", "bar"],
        "id": "triviaqa-tq_1",
        "topic": "trivia",
    }
    assert triviaqa_row(TRIVIA[1])["answers"] == ["Teal", "teal"]
    assert triviaqa_row(TRIVIA[2]) is None  # hub test split: no answers


def test_nq_open_row() -> None:
    assert nq_open_row(NQ[0]) == {
        "question": NQ[0]["question"],
        "answers": ["Ada Pell", "Pell"],
        "topic": "general",
    }
    assert nq_open_row(NQ[1])["answers"] == ["7"]
    assert nq_open_row(NQ[2]) is None


def test_sciq_row_ignores_distractors() -> None:
    row = sciq_row(SCIQ[0])
    assert row == {"question": SCIQ[0]["question"], "answers": ["oxygen"], "topic": "science"}
    assert sciq_row(SCIQ[1])["answers"] == ["heart"]
    assert sciq_row(SCIQ[2]) is None


def test_popqa_row_decodes_json_answers() -> None:
    row = popqa_row(POPQA[0])
    assert row == {
        "question": "What is Mira Tolk's occupation?",
        "answers": ["painter", "artist"],
        "id": "popqa-101",
        "topic": "occupation",
    }
    assert popqa_row({**POPQA[1], "possible_answers": ["Lindholt"]})["answers"] == ["Lindholt"]
    assert popqa_row(POPQA[2]) is None
    with pytest.raises(ValueError, match=r"103.*not a JSON-encoded list"):
        popqa_row({**POPQA[2], "possible_answers": "[broken"})


def test_truthfulqa_row() -> None:
    row = truthfulqa_row(TRUTHFUL[0])
    # the refusal "I have no comment" is not a right answer here
    assert row["answers"] == ["Nothing in particular happens", "Nothing happens"]
    assert row["topic"] == "Misconceptions"
    assert truthfulqa_row(TRUTHFUL[1])["answers"] == ["No, Glorbs are fictional", "No"]
    assert truthfulqa_row(TRUTHFUL[2]) is None


# --- load_hub with an injected loader --------------------------------------------------


class FakeLoader:
    """Stands in for ``datasets.load_dataset``: returns a ``datasets.Dataset`` built from
    local rows per hub split, and records its calls."""

    def __init__(self, by_split: dict[str, list[dict]]) -> None:
        self.by_split = by_split
        self.calls: list[tuple] = []

    def __call__(self, path, name=None, *, split, **kwargs):
        self.calls.append((path, name, split))
        return datasets.Dataset.from_list(self.by_split[split])


@pytest.mark.filterwarnings("ignore:.*skipped:UserWarning")
@pytest.mark.parametrize(
    ("name", "rows"),
    [
        ("triviaqa", TRIVIA),
        ("nq_open", NQ),
        ("sciq", SCIQ),
        ("popqa", POPQA),
        ("truthfulqa", TRUTHFUL),
    ],
)
def test_load_hub_every_dataset(name: str, rows: list[dict]) -> None:
    spec = HUB_DATASETS[name]
    first = spec.splits["train"]  # the rows in one hub split, the others empty
    loader = FakeLoader({s: rows if s == first else [] for s in set(spec.splits.values())})
    with pytest.warns(UserWarning, match=r"skipped \d+ example"):
        items = load_hub(name, split="all", loader=loader)
    assert {c[:2] for c in loader.calls} == {(spec.path, spec.config)}
    assert sorted(c[2] for c in loader.calls) == sorted(set(spec.splits.values()))
    assert items and all(it.split in SPLITS and it.answers for it in items)
    assert len({it.id for it in items}) == len(items)
    for s in SPLITS:
        part = load_hub(name, split=s, loader=loader) if any(it.split == s for it in items) else []
        assert [it.id for it in part] == [it.id for it in items if it.split == s]


def test_load_hub_split_mapping() -> None:
    spec = HUB_DATASETS["triviaqa"]
    assert spec.path == "mandarjoshi/trivia_qa" and spec.config == "rc.nocontext"
    assert spec.splits == {"train": "train", "calibration": "train", "test": "validation"}
    assert HUB_DATASETS["sciq"].splits["calibration"] == "validation"
    assert set(HUB_DATASETS["popqa"].splits.values()) == {"test"}
    assert HUB_DATASETS["truthfulqa"].config == "generation"
    questions = [f"Invented question number {i}?" for i in range(60)]
    train = [_trivia(f"t{i}", q, "Yes", ["Yes"]) for i, q in enumerate(questions)]
    val = [_trivia("v1", "A validation-only question?", "No", ["No"])]
    loader = FakeLoader({"train": train, "validation": val})
    test = load_hub("triviaqa", split="test", loader=loader)
    assert loader.calls == [("mandarjoshi/trivia_qa", "rc.nocontext", "validation")]
    assert [(it.id, it.split) for it in test] == [("triviaqa-v1", "test")]
    tr = load_hub("triviaqa", split="train", loader=loader)
    cal = load_hub("triviaqa", split="calibration", loader=loader)
    assert len(tr) + len(cal) == 60 and len(tr) > len(cal) > 0  # 2:1 by question hash
    assert not {it.question for it in tr} & {it.question for it in cal}
    assert all(it.split == "train" for it in tr) and all(it.split == "calibration" for it in cal)
    assert len(load_hub("triviaqa", split="train", limit=3, loader=loader)) == 3


def test_load_hub_assigns_ids_when_missing() -> None:
    loader = FakeLoader({"train": NQ[:2], "validation": [NQ[0]]})
    items = load_hub("nq_open", split="test", loader=loader)
    assert [it.id for it in items] == ["nq_open-validation-1"]


def test_load_hub_invalid_row_names_source() -> None:
    loader = FakeLoader({"test": [_pop(7, "   ", "genre", ["jazz"])]})
    with pytest.raises(ValueError, match=r"popqa.*akariasai/PopQA.*row 1.*question"):
        load_hub("popqa", split="all", loader=loader)


def test_load_hub_real_json_loader(tmp_path) -> None:
    """The real ``datasets.load_dataset`` on local JSON files in TriviaQA's shape."""
    files = {}
    for hub_split, rows in {"train": TRIVIA[:2], "validation": TRIVIA[1:]}.items():
        files[hub_split] = str(tmp_path / f"{hub_split}.jsonl")
        with open(files[hub_split], "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in rows)
    calls = []

    def loader(path, name=None, *, split):
        calls.append((path, name, split))
        return datasets.load_dataset(
            "json", data_files=files, split=split, cache_dir=str(tmp_path / "cache")
        )

    with pytest.warns(UserWarning, match="skipped 1 example"):
        items = load_hub("triviaqa", split="test", loader=loader)
    assert calls == [("mandarjoshi/trivia_qa", "rc.nocontext", "validation")]
    assert [(it.id, it.answers, it.split) for it in items] == [
        ("triviaqa-tq_2", ("Teal", "teal"), "test")
    ]
    with pytest.warns(UserWarning) as record:
        both = load_hub("triviaqa", split="all", loader=loader)
    messages = sorted(str(w.message) for w in record)
    assert messages == [
        "triviaqa: dropped 1 example(s) with a duplicate id",  # tq_2 is in both files
        "triviaqa: skipped 1 example(s) with no gold answer",
    ]
    assert {it.id for it in both} == {"triviaqa-tq_1", "triviaqa-tq_2"}


def test_load_hub_offline_error() -> None:
    def offline(path, name=None, *, split):
        raise ConnectionError(f"Couldn't reach '{path}' on the Hub (LocalEntryNotFoundError)")

    with pytest.raises(ValueError, match=r"could not be downloaded.*Hugging Face Hub.*network"):
        load_hub("sciq", split="test", loader=offline)
    with pytest.raises(ValueError, match="HF_DATASETS_CACHE"):
        load_hub("sciq", split="test", loader=offline)

    def broken(path, name=None, *, split):
        raise RuntimeError("something else")

    with pytest.raises(RuntimeError, match="something else"):  # other errors pass through
        load_hub("sciq", split="test", loader=broken)


def test_load_hub_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"unknown hub dataset 'squad'.*triviaqa"):
        load_hub("squad", split="test", loader=FakeLoader({}))
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        load_hub("sciq", split="dev", loader=FakeLoader({}))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="limit"):
        load_hub("sciq", split="test", limit=0, loader=FakeLoader({}))
    with pytest.raises(ValueError, match="splits must map"):
        HubSpec(path="x/y", config=None, splits={"train": "train"}, to_row=sciq_row)


# --- load_qa --------------------------------------------------------------------------


def test_load_qa_unknown_name_lists_known() -> None:
    with pytest.raises(ValueError, match=r"unknown dataset 'trivia'.*triviaqa.*popqa.*file"):
        load_qa("trivia")


def test_load_qa_hub_name_uses_load_hub(monkeypatch) -> None:
    import howsure.qa.load as load_module

    seen = {}

    def fake_load_hub(name, *, split, limit=None, loader=None):
        seen.update(name=name, split=split)
        return load_hub(name, split=split, loader=FakeLoader({"test": SCIQ[:2]}))

    monkeypatch.setattr(load_module, "load_hub", fake_load_hub)
    items = load_qa("sciq", split="test", limit=1)
    assert seen == {"name": "sciq", "split": "test"} and len(items) == 1


def test_load_qa_does_not_import_datasets_for_builtin() -> None:
    code = (
        "import sys; from howsure.qa.load import load_qa; "
        "load_qa('builtin', limit=2); assert 'datasets' not in sys.modules"
    )
    import subprocess

    subprocess.run([sys.executable, "-c", code], check=True)


# --- local files: Parquet and wrong columns ----------------------------------------


def test_parquet_round_trip(tmp_path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [
        {"question": "What is 3 plus 4?", "answers": ["7", "seven"], "topic": "math", "id": "a"},
        {"question": "Capital of Nowhereland?", "answers": ["Nowhere"], "topic": "geo", "id": "b"},
    ]
    path = tmp_path / "qa.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    items = load_qa(path)
    assert [(it.id, it.question, it.answers, it.topic) for it in items] == [
        ("a", "What is 3 plus 4?", ("7", "seven"), "math"),
        ("b", "Capital of Nowhereland?", ("Nowhere",), "geo"),
    ]
    assert [it.to_dict() for it in load_items(path)] == [it.to_dict() for it in items]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
@pytest.mark.parametrize(
    "columns", [["prompt", "answers"], ["question", "label"]], ids=["no-question", "no-answers"]
)
def test_wrong_columns_error_up_front(tmp_path, suffix: str, columns: list[str]) -> None:
    values = [["What is 1 plus 1?", "2"], ["Q2?", "3"]]
    rows = [dict(zip(columns, v, strict=True)) for v in values]
    path = tmp_path / f"bad{suffix}"
    if suffix == ".csv":
        path.write_text(
            ",".join(columns) + "\n" + "".join(",".join(r.values()) + "\n" for r in rows),
            encoding="utf-8",
        )
    elif suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    else:
        pa = pytest.importorskip("pyarrow")
        pq = pytest.importorskip("pyarrow.parquet")
        pq.write_table(pa.Table.from_pylist(rows), path)
    with pytest.raises(
        ValueError, match=r"wrong columns \[.*'label'|wrong columns \[.*'prompt'"
    ) as e:
        load_qa(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: wrong columns")  # the whole file, not a row
    for part in ("'question'", "'answers'", "'id'", "'topic'", "'difficulty'", "'split'"):
        assert part in msg.split("wrong columns")[1]
