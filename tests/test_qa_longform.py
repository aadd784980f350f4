"""Tests for howsure.qa.longform: the judge of long chat answers and per-sentence labels."""

from __future__ import annotations

import pytest

import howsure.qa as qa
from howsure.qa.longform import LongVerdict, judge_long, judge_long_all, sentence_labels
from howsure.qa.sentences import split_sentences

CAP_AUS = "What is the capital of Australia?"
MORMON = "Where is the headquarters of the Mormon church?"

# (answer, golds, question, label, index of the answering sentence, hedged, reason)
CASES = [
    # rule 4: the first substantive sentence names the gold
    (
        "The capital of Australia is Canberra. It is located in the Australian Capital "
        "Territory.",
        ["Canberra"], None, "correct", 0, False, "gold in answering sentence",
    ),
    ("Canberra.", ["Canberra"], CAP_AUS, "correct", 0, False, "gold in answering sentence"),
    (
        "The capital of Australia is Sydney. Canberra is another big city.",
        ["Canberra"], CAP_AUS, "wrong", 0, False, "gold after a different claim",
    ),
    (
        "The headquarters of the Mormon church is in Provo. It is near Salt Lake City.",
        ["Salt Lake City"], None, "wrong", 0, False, "gold after a different claim",
    ),
    (
        "The headquarters of the Mormon church is in Provo. It is near Salt Lake City.",
        ["Salt Lake City"], MORMON, "wrong", 0, False, "gold after a different claim",
    ),
    # known limit: a gold anywhere in the answering sentence counts
    (
        "The Mormon church's headquarters is Brigham Young University, located in Salt Lake "
        "City.",
        ["Salt Lake City"], MORMON, "correct", 0, False, "gold in answering sentence",
    ),
    (
        "The largest planet is Saturn. Jupiter is second.",
        ["Jupiter"], None, "wrong", 0, False, "gold after a different claim",
    ),
    (
        "The largest planet in our solar system is Jupiter. It has 95 known moons. Saturn is "
        "second.",
        ["Jupiter"], None, "correct", 0, False, "gold in answering sentence",
    ),
    # rule 2: leading chatter is skipped
    ("Sure! The chemical symbol for gold is Au.", ["Au"], None, "correct", 1, False,
     "gold in answering sentence"),
    ("Great question! I'd be happy to help. The answer is 42.", ["42"], None, "correct", 2,
     False, "gold in answering sentence"),
    ("Of course. Hello! Certainly! The Nile is the longest river.", ["Nile"], None, "correct",
     3, False, "gold in answering sentence"),
    ("Here's the answer:\nThe longest river is the Nile.", ["Nile"], None, "correct", 1, False,
     "gold in answering sentence"),
    ("Good question. Sure, I'd be happy to help you with that! It is Lima.", ["Lima"], None,
     "correct", 2, False, "gold in answering sentence"),
    ("The capital of Australia. It is Canberra.", ["Canberra"], CAP_AUS, "correct", 1, False,
     "gold in answering sentence"),
    ("Sure! The capital of Australia is Sydney.", ["Canberra"], CAP_AUS, "wrong", 1, False,
     "no gold in answering sentence"),
    ("Sure!", ["Paris"], None, "wrong", None, False, "no answer stated"),
    ("Hello! Great question!", ["Paris"], None, "wrong", None, False, "no answer stated"),
    # code spans are never the answering sentence
    (
        "Here is how to check:\n```python\nprint('Paris')\n```\nThe capital of France is Paris.",
        ["Paris"], None, "correct", 2, False, "gold in answering sentence",
    ),
    (
        "```python\nprint('Paris')\n```\nThe capital is Lyon.",
        ["Paris"], None, "wrong", 1, False, "no gold in answering sentence",
    ),
    ("```\nParis\n```", ["Paris"], None, "wrong", None, False, "no answer stated"),
    # list answers
    (
        "The three largest cities in France are:\n1. Paris\n2. Marseille\n3. Lyon",
        ["Paris"], "What is the largest city in France?", "correct", 1, False,
        "gold in answering sentence",
    ),
    # the second sentence answers only when the first names no candidate
    ("Let me think. The answer is 42.", ["42"], None, "correct", 1, False,
     "gold in answering sentence"),
    ("Australia is a large country. Its capital is Canberra.", ["Canberra"], CAP_AUS, "correct",
     1, False, "gold in answering sentence"),
    ("Australia is a large country. Its capital is Canberra.", ["Canberra"], None, "wrong", 0,
     False, "gold after a different claim"),
    # rule 3: refusals abstain ...
    ("I don't know the answer to that question.", ["Paris"], None, "abstain", None, False,
     "refusal"),
    ("I'm sorry, but I can't answer that. You could check Wikipedia.", ["Paris"], None,
     "abstain", None, False, "refusal"),
    ("As an AI language model, I don't have access to real-time data.", ["Paris"], None,
     "abstain", None, False, "refusal"),
    ("Unfortunately, there is no information about that person.", ["Paris"], None, "abstain",
     None, False, "refusal"),
    ("I do not have enough information to answer.", ["Paris"], None, "abstain", None, False,
     "refusal"),
    ("I couldn't find anything about it. My knowledge cutoff is 2021.", ["Paris"], None,
     "abstain", None, False, "refusal"),
    ("Sure! I'm unable to verify that. I recommend checking an atlas.", ["Paris"], None,
     "abstain", None, False, "refusal"),
    ("It is unknown who built it.", ["Imhotep"], None, "abstain", None, False, "refusal"),
    # ... unless they answer: an admission followed by an answer is a hedged answer
    ("I'm not sure, but I think it might be Paris.", ["Paris"], None, "correct", 0, True,
     "gold in answering sentence"),
    ("I'm not sure, but I think it might be Lyon.", ["Paris"], None, "wrong", 0, True,
     "no gold in answering sentence"),
    ("I don't know, maybe Lyon.", ["Paris"], None, "wrong", 0, True,
     "no gold in answering sentence"),
    ("I'm not sure. It might be Paris.", ["Paris"], None, "correct", 1, True,
     "gold in answering sentence"),
    ("I'm not sure. It might be Lyon.", ["Paris"], None, "wrong", 1, True,
     "no gold in answering sentence"),
    ("I don't know. The capital is Lyon.", ["Paris"], None, "wrong", 1, True,
     "no gold in answering sentence"),
    ("I cannot browse the web, but the capital of France is Paris.", ["Paris"], None,
     "correct", 0, False, "gold in answering sentence"),
    ("I don't know if it is Paris.", ["Paris"], None, "correct", 0, True,
     "gold in answering sentence"),
    # rule 5: the short judge's rules inside the answering sentence
    ("It is either Paris or Lyon.", ["Paris"], None, "wrong", 0, False,
     "no gold in answering sentence"),
    ("It is not Paris. It is Lyon.", ["Paris"], None, "wrong", 0, False,
     "no gold in answering sentence"),
    # ... and alternatives elsewhere in the answer
    ("The capital of France is Paris, but it could also be Lyon.", ["Paris"], None, "wrong", 0,
     False, "alternatives offered"),
    ("The capital of France is Paris. Alternatively, some say Lyon.", ["Paris"], None, "wrong",
     0, False, "alternatives offered"),
    ("It was written by Shakespeare. Some scholars argue it was Marlowe.", ["Shakespeare"],
     None, "wrong", 0, False, "alternatives offered"),
    ("The capital is Paris. It could also be described as the city of light.", ["Paris"], None,
     "correct", 0, False, "gold in answering sentence"),
    # rule 6: a hedge word alone keeps a right answer right
    ("The capital of France is probably Paris.", ["Paris"], None, "correct", 0, True,
     "gold in answering sentence"),
    ("I believe the author is Jane Austen.", ["Jane Austen"], None, "correct", 0, True,
     "gold in answering sentence"),
    ("It is likely Mount Everest. It is 8,849 m tall.", ["Mount Everest"], None, "correct", 0,
     True, "gold in answering sentence"),
    ("It might be Lyon.", ["Paris"], None, "wrong", 0, True, "no gold in answering sentence"),
    # rule 1: empty answers
    ("", ["Paris"], None, "wrong", None, False, "empty answer"),
    ("   \n\t", ["Paris"], None, "wrong", None, False, "empty answer"),
    # numbers and other scripts through the short judge
    ("Water boils at one hundred degrees Celsius at sea level.", ["100"], None, "correct", 0,
     False, "gold in answering sentence"),
    ("日本の首都は東京です。人口は多いです。", ["東京"], None, "correct", 0, False,
     "gold in answering sentence"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "golds", "question", "expected", "index", "hedged", "reason"), CASES
)
def test_judge_long_cases(
    answer: str,
    golds: list[str],
    question: str | None,
    expected: str,
    index: int | None,
    hedged: bool,
    reason: str,
) -> None:
    verdict = judge_long(answer, golds, question=question)
    assert (verdict.label, verdict.index, verdict.hedged, verdict.reason) == (
        expected,
        index,
        hedged,
        reason,
    )
    if index is None:
        assert verdict.sentence is None
    else:
        assert verdict.sentence == split_sentences(answer)[index]


def test_answering_sentence_offsets_point_into_the_answer() -> None:
    answer = "Sure!  The chemical symbol for gold is Au. It is a metal."
    verdict = judge_long(answer, ["Au"])
    assert verdict.sentence is not None
    assert answer[verdict.sentence.start : verdict.sentence.end] == (
        "The chemical symbol for gold is Au."
    )


def test_correct_property() -> None:
    assert judge_long("It is Paris.", ["Paris"]).correct is True
    assert judge_long("It is Lyon.", ["Paris"]).correct is False
    assert judge_long("I don't know.", ["Paris"]).correct is None


def test_verdict_is_frozen() -> None:
    verdict = judge_long("It is Paris.", ["Paris"])
    with pytest.raises(AttributeError):
        verdict.label = "wrong"  # type: ignore[misc]


def test_question_echo_is_not_a_hit() -> None:
    question = "What is the capital of Gmina Krapkowice?"
    wrong = judge_long("The capital of Gmina Krapkowice is Kresna.", ["Krapkowice"],
                       question=question)  # fmt: skip
    assert wrong.label == "wrong"
    right = judge_long("Sure! It is Krapkowice.", ["Krapkowice"], question=question)
    assert (right.label, right.index) == ("correct", 1)


@pytest.mark.parametrize(
    ("answer", "golds", "question", "expected"),
    [
        (
            "Sure! The capital of Australia is Canberra. It is in the ACT. Canberra was "
            "founded in 1913.",
            ["Canberra"], None, [None, True, None, True],
        ),
        (
            "The headquarters of the Mormon church is in Provo. It is near Salt Lake City.",
            ["Salt Lake City"], None, [False, None],
        ),
        ("I don't know. I have never heard of it.", ["Lyon"], None, [None, None]),
        ("I don't know. Paris is nice, though.", ["Lyon"], None, [None, False]),
        ("I'm not sure. It might be Paris.", ["Paris"], None, [None, True]),
        (
            "Here you go:\n```\nprint('Paris')\n```\nIt is Paris. Paris is big.",
            ["Paris"], None, [None, None, True, True],
        ),
        ("The capital is Paris. It could also be Lyon. Paris is big.", ["Paris"], None,
         [False, None, None]),
        ("", ["Paris"], None, []),
    ],
)  # fmt: skip
def test_sentence_labels(
    answer: str, golds: list[str], question: str | None, expected: list[bool | None]
) -> None:
    labels = sentence_labels(answer, golds, question=question)
    assert labels == expected
    assert len(labels) == len(split_sentences(answer))


def test_judge_long_all_matches_judge_long() -> None:
    answers = ["Sure! It is Canberra.", "It is Sydney.", "I don't know."]
    golds = [["Canberra"]] * 3
    verdicts = judge_long_all(answers, golds, questions=[CAP_AUS] * 3)
    assert [v.label for v in verdicts] == ["correct", "wrong", "abstain"]
    one_by_one = [judge_long(a, g, question=CAP_AUS) for a, g in zip(answers, golds, strict=True)]
    assert verdicts == one_by_one
    assert judge_long_all([], []) == []


def test_judge_long_all_checks_lengths() -> None:
    with pytest.raises(ValueError, match="answers has 2 items but golds has 1"):
        judge_long_all(["a", "b"], [["a"]])
    with pytest.raises(ValueError, match="questions has 1 items but answers has 2"):
        judge_long_all(["a", "b"], [["a"], ["b"]], questions=["q"])
    with pytest.raises(TypeError, match="answers must be a sequence of str, got a single str"):
        judge_long_all("Paris", [["Paris"]])


@pytest.mark.parametrize(
    ("answer", "golds", "question", "error", "match"),
    [
        (None, ["Paris"], None, TypeError, "answer must be a str, got NoneType"),
        (42, ["42"], None, TypeError, "answer must be a str, got int"),
        ("Paris", [], None, ValueError, r"golds is empty \(\[\]\)"),
        ("Paris", "Paris", None, TypeError, "wrap a single gold answer as"),
        ("Paris", ["?!"], None, ValueError, "letters or digits"),
        ("Paris", ["Paris"], 3, TypeError, "question must be a str or None, got int"),
    ],
)
def test_bad_input_raises_clear_errors(
    answer: object, golds: object, question: object, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        judge_long(answer, golds, question=question)  # type: ignore[arg-type]
    with pytest.raises(error, match=match):
        sentence_labels(answer, golds, question=question)  # type: ignore[arg-type]


def test_exported_from_the_package() -> None:
    assert qa.judge_long is judge_long
    assert qa.LongVerdict is LongVerdict
    assert qa.split_sentences is split_sentences


def test_abstained_marks_refusals_only():
    from howsure.qa.items import QAItem

    item = QAItem(id="q1", question="What is the capital of Peru?", answers=("Lima",))
    answers = ["I'm sorry, but I don't know.", "The capital of Peru is Lima.", "It is Cusco."]
    got = qa.abstained(answers, [item] * 3)
    assert got.dtype == bool and got.tolist() == [True, False, False]
    with pytest.raises(ValueError):
        qa.abstained(answers, [item])  # one item for three answers
