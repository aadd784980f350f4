"""Tests for howsure.qa.sentences: sentence spans, offsets and streaming completion."""

from __future__ import annotations

import itertools
import random

import pytest

from howsure.qa.sentences import Span, complete_sentences, split_sentences


def texts(source: str) -> list[str]:
    return [s.text for s in split_sentences(source)]


def kinds(source: str) -> list[str]:
    return [s.kind for s in split_sentences(source)]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # plain prose: . ! ? followed by whitespace
        (
            "It is Paris. It is big! Is it old? Yes.",
            ["It is Paris.", "It is big!", "Is it old?", "Yes."],
        ),
        # closing quotes and brackets stay with their sentence
        ('He said "go." Then he left.', ['He said "go."', "Then he left."]),
        ("(See the map.) It helps.", ["(See the map.)", "It helps."]),
        ("It is **Paris.** It is big.", ["It is **Paris.**", "It is big."]),
        # line breaks and blank lines end sentences
        ("First line\nSecond line", ["First line", "Second line"]),
        ("One.\n\nTwo", ["One.", "Two"]),
        # abbreviations that never end a sentence
        ("Dr. Smith and Mrs. Jones met Mr. Brown.", ["Dr. Smith and Mrs. Jones met Mr. Brown."]),
        (
            "Fruits, e.g. apples, i.e. the red ones, grow.",
            ["Fruits, e.g. apples, i.e. the red ones, grow."],
        ),
        ("Mt. Everest is approx. 8849 m high.", ["Mt. Everest is approx. 8849 m high."]),
        ("It is Real Madrid vs. Barcelona.", ["It is Real Madrid vs. Barcelona."]),
        ("He lived at No. 10 Downing Street.", ["He lived at No. 10 Downing Street."]),
        ("No. The answer is 6.", ["No.", "The answer is 6."]),
        # initials
        ("J. R. R. Tolkien wrote it.", ["J. R. R. Tolkien wrote it."]),
        ("George W. Bush was president.", ["George W. Bush was president."]),
        ("A. A. Milne wrote it.", ["A. A. Milne wrote it."]),
        ("The answer is option B. It fits.", ["The answer is option B.", "It fits."]),
        # abbreviations that may end a sentence: only before a common opener
        ("He lives in the U.S. It is big.", ["He lives in the U.S.", "It is big."]),
        ("The U.S. Army is big.", ["The U.S. Army is big."]),
        ("Apples, pears, etc. are fruit.", ["Apples, pears, etc. are fruit."]),
        ("It opens at 9 a.m. The shop is small.", ["It opens at 9 a.m.", "The shop is small."]),
        ("Acme Inc. makes anvils.", ["Acme Inc. makes anvils."]),
        ("He lives on St. John's Road.", ["He lives on St. John's Road."]),
        # decimals and dotted names have no whitespace after the point
        ("Pi is 3.14. Python v1.2 is old.", ["Pi is 3.14.", "Python v1.2 is old."]),
        ("Visit example.com. It works.", ["Visit example.com.", "It works."]),
        # ellipses
        ("Well... it depends.", ["Well... it depends."]),
        ("Hmm… The answer is 42.", ["Hmm…", "The answer is 42."]),
        # inline code
        ("Call `a.b()` first. Then `x. Y` runs.", ["Call `a.b()` first.", "Then `x. Y` runs."]),
        ("Use ``a` b. C`` here. Done.", ["Use ``a` b. C`` here.", "Done."]),
        # full-width terminators need no whitespace
        ("北京是中国的首都。它位于华北。", ["北京是中国的首都。", "它位于华北。"]),
        ("他说：「好。」然后走了。", ["他说：「好。」", "然后走了。"]),
        # whitespace only
        ("", []),
        ("  \n\t\n ", []),
    ],
)
def test_split_sentences_cases(source: str, expected: list[str]) -> None:
    assert texts(source) == expected


def test_code_block_is_one_span_with_its_fences() -> None:
    source = "Here is code:\n```python\nx = 1. Y = 2.\n\nprint(x)\n```\nThat prints 1."
    spans = split_sentences(source)
    assert [s.kind for s in spans] == ["sentence", "code", "sentence"]
    assert spans[1].text == "```python\nx = 1. Y = 2.\n\nprint(x)\n```"
    assert spans[2].text == "That prints 1."


def test_unclosed_fence_runs_to_the_end() -> None:
    spans = split_sentences("Try this:\n  ```\nfoo. Bar.\n\nbaz. \n")
    assert [s.kind for s in spans] == ["sentence", "code"]
    assert spans[1].text == "```\nfoo. Bar.\n\nbaz."


def test_closing_fence_needs_as_many_backticks() -> None:
    spans = split_sentences("````\na\n```\nb\n````\nEnd.")
    assert [s.kind for s in spans] == ["code", "sentence"]
    assert spans[0].text == "````\na\n```\nb\n````"


def test_list_items_are_spans_of_kind_item() -> None:
    source = "Steps:\n- First step. Then more.\n* Second\n+ Third\n1. Fourth item.\n2) Fifth"
    assert texts(source) == [
        "Steps:",
        "- First step.",
        "Then more.",
        "* Second",
        "+ Third",
        "1. Fourth item.",
        "2) Fifth",
    ]
    assert kinds(source) == ["sentence"] + ["item"] * 6


def test_not_list_items() -> None:
    assert kinds("-5 degrees is cold.") == ["sentence"]
    assert kinds("*Paris* is the answer.") == ["sentence"]
    assert kinds("1.5 is the answer.") == ["sentence"]


def test_offsets_point_into_the_source() -> None:
    source = "  Sure!  The symbol is Au.\n\n- It is gold.\n```\nx\n```  "
    spans = split_sentences(source)
    assert [(s.start, s.end) for s in spans] == [(2, 7), (9, 26), (28, 41), (42, 51)]
    for s in spans:
        assert source[s.start : s.end] == s.text


VARIED = [
    "The capital of Australia is Canberra. It is located in the Australian Capital Territory.",
    "Sure! The chemical symbol for gold is Au.",
    "I'm not sure, but I think it might be Paris... or maybe not. Dr. Who knows?",
    "J. R. R. Tolkien wrote it in the U.S. It was 1937. The U.S. Army read it at 5 p.m. on Monday.",
    "Here is code:\n```python\nx = 1. Y = 2.\nprint(x)\n```\nThat prints 1. Done!",
    "Steps:\n- First step. Then more.\n* Second\n1. Third item.\n2) Fourth\n\nEnd.",
    'He said "go." (Then he left.) It is **Paris.** Really?! Yes… it is.',
    "Call `a.b()` first. Then `x. Y` runs. No. 5 wins. No. The answer is 6.",
    "北京是中国的首都。「它位于华北。」对。",
    "Unclosed:\n```\ncode. Here\n",
    "Pi is 3.14. Python v1.2 is old. Visit example.com. It works. Apples, etc. are red.",
    "  \n\nThe answer is 42.  \n  It is, e.g. the number. Vitamin C. The end.\r\nBye",
]


@pytest.mark.parametrize("source", VARIED)
def test_no_text_lost_spans_in_order(source: str) -> None:
    spans = split_sentences(source)
    assert "".join(source.split()) == "".join("".join(s.text.split()) for s in spans)
    for a, b in itertools.pairwise(spans):
        assert a.end <= b.start
    for s in spans:
        assert source[s.start : s.end] == s.text == s.text.strip()


@pytest.mark.parametrize("source", VARIED)
def test_complete_sentences_of_every_prefix_are_a_prefix(source: str) -> None:
    full = split_sentences(source)
    grown = 0
    for n in range(len(source) + 1):
        done = complete_sentences(source[:n], final=False)
        assert done == full[: len(done)], source[:n]
        assert len(done) >= grown  # never takes a finished sentence back
        grown = len(done)
    assert complete_sentences(source, final=True) == full


def test_prefix_property_on_random_mixtures() -> None:
    rng = random.Random(7)
    pieces = [
        "Paris", " ", ".", "...", "?", "!", "\n", "```", "`", "U.S.", "W.", "Mr.", "No.",
        "5", "It", "the", '"', ")", "- ", "1. ", "etc.", "。", "」", "*", "I", "A.",
    ]  # fmt: skip
    for _ in range(300):
        source = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 20)))
        full = split_sentences(source)
        for n in range(len(source) + 1):
            done = complete_sentences(source[:n], final=False)
            assert done == full[: len(done)], (source, n)


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("It is Paris.", []),  # the terminator's next character has not arrived
        ("It is Paris. ", ["It is Paris."]),
        ("It is Paris.\n", ["It is Paris."]),
        ("It is Paris. It is", ["It is Paris."]),
        ("A list\n- item", ["A list"]),
        ("A list\n- item\n", ["A list", "- item"]),
        ("He met Mr. ", []),  # never ends after "Mr."
        ("He lives in the U.S. ", []),  # the next word decides
        ("He lives in the U.S. It", []),  # ... once it has arrived whole
        ("He lives in the U.S. It ", ["He lives in the U.S."]),
        ("He lives in the U.S. Army ", []),
        ("Well... ", []),  # the next character decides
        ("Well... it", []),
        ("Well... The", ["Well..."]),
        ('He said "go.', []),  # a closing quote may follow
        ('He said "go." ', ['He said "go."']),
        ("北京。", []),
        ("北京。它", ["北京。"]),
        ("Code:\n```\nx = 1\n", ["Code:"]),  # unclosed fence
        ("Code:\n```\nx = 1\n```", ["Code:"]),  # the closing line has not ended
        ("Code:\n```\nx = 1\n```\n", ["Code:", "```\nx = 1\n```"]),
        ("Use `a. b", []),
    ],
)
def test_complete_sentences_streaming(prefix: str, expected: list[str]) -> None:
    assert [s.text for s in complete_sentences(prefix, final=False)] == expected


def test_complete_sentences_final_gives_all_spans() -> None:
    source = "It is Paris. It is\n```\nx"
    assert complete_sentences(source, final=True) == split_sentences(source)
    assert len(split_sentences(source)) == 3


def test_span_validates_its_fields() -> None:
    assert Span("Hi.", 0, 3).kind == "sentence"
    with pytest.raises(ValueError, match="surrounding whitespace"):
        Span(" Hi.", 0, 4)
    with pytest.raises(ValueError, match="end - start == len"):
        Span("Hi.", 0, 5)
    with pytest.raises(ValueError, match="kind must be one of"):
        Span("Hi.", 0, 3, "para")  # type: ignore[arg-type]


def test_bad_input_raises_clear_errors() -> None:
    with pytest.raises(TypeError, match="text must be a str, got int"):
        split_sentences(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="text must be a str, got NoneType"):
        complete_sentences(None, final=False)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="final must be a bool, got int"):
        complete_sentences("Hi.", final=1)  # type: ignore[arg-type]
