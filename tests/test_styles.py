"""Chat-style prompts (howsure.probes.styles): each style's messages, the balanced and
order-independent assignment, the earlier exchange of "multi_turn", and the errors."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from conftest import make_chat_tokenizer

import howsure.probes
from howsure.probes.prompts import DEFAULT_INSTRUCTION, question_messages, render_chat
from howsure.probes.styles import (
    CHAT_STYLES,
    CHATTER_TEMPLATES,
    REQUEST_TEMPLATES,
    STYLES,
    SYSTEM_PROMPTS,
    assign_styles,
    check_styles,
    style_messages,
    styled_conversations,
)
from howsure.qa.items import QAItem

QUESTIONS = [
    "What is the capital of France?",
    "In which year did the Second World War end?",
    "Paris is the capital of which country?",
    "Name the largest planet in the Solar System",
    "WHO was founded in which year?",
    "東京はどこの国の首都ですか？",
    "ما هي عاصمة مصر؟",
    "Столица Перу",
]
PREVIOUS = ("Who wrote Hamlet?", "William Shakespeare")
ROLES = {
    "short": ["user"],
    "plain": ["user"],
    "system": ["system", "user"],
    "request": ["user"],
    "chatter": ["user"],
    "multi_turn": ["user", "assistant", "user"],
}
N_VARIANTS = max(len(SYSTEM_PROMPTS), len(REQUEST_TEMPLATES), len(CHATTER_TEMPLATES))


def make_items(n: int = 120, *, sources=("trivia", "geo", "science")) -> list[QAItem]:
    splits = ("train", "calibration", "test")
    return [
        QAItem(
            id=f"q{i}",
            question=f"What is fact number {i}?",
            answers=(f"answer {i}", f"alias {i}"),
            split=splits[i % 3],
            source=sources[i % len(sources)] if sources else None,
        )
        for i in range(n)
    ]


def test_style_names() -> None:
    assert STYLES == ("short", "plain", "system", "request", "chatter", "multi_turn")
    assert CHAT_STYLES == STYLES[1:]
    exported = ("STYLES", "CHAT_STYLES", "Style", "check_styles", "style_messages")
    for name in (*exported, "assign_styles", "styled_conversations", "SYSTEM_PROMPTS"):
        assert name in howsure.probes.__all__
    assert howsure.probes.styled_conversations is styled_conversations


@pytest.mark.parametrize("question", QUESTIONS)
def test_short_is_todays_prompt(question: str) -> None:
    assert style_messages(question, "short") == question_messages(question)
    assert style_messages(f"  {question} ", "short", variant=3) == question_messages(question)


@pytest.mark.parametrize("style", CHAT_STYLES)
@pytest.mark.parametrize("question", QUESTIONS)
def test_chat_styles_keep_the_question(style: str, question: str) -> None:
    for variant in range(N_VARIANTS + 1):
        messages = style_messages(question, style, variant=variant, previous=PREVIOUS)
        assert [m["role"] for m in messages] == ROLES[style]
        last = messages[-1]["content"]
        assert question[1:] in last  # the whole question; only its first letter may be lowered
        assert question.lower() in last.lower()
        assert all(DEFAULT_INSTRUCTION not in m["content"] for m in messages)
        assert all(m["content"].strip() for m in messages)


def test_plain_and_system() -> None:
    q = "What is the capital of Peru?"
    assert style_messages(f" {q}\n", "plain") == [{"role": "user", "content": q}]
    systems = [style_messages(q, "system", variant=v)[0]["content"] for v in range(10)]
    assert systems[: len(SYSTEM_PROMPTS)] == list(SYSTEM_PROMPTS)
    assert systems[len(SYSTEM_PROMPTS)] == SYSTEM_PROMPTS[0]  # modulo the count
    assert style_messages(q, "system", variant=-1)[0]["content"] == SYSTEM_PROMPTS[-1]
    assert style_messages(q, "system", variant=2)[1] == {"role": "user", "content": q}


def test_request_templates() -> None:
    contents = [style_messages("What is 2 + 2?", "request", variant=v) for v in range(4)]
    assert [m[0]["content"] for m in contents] == [
        "Tell me: What is 2 + 2?",
        "Can you tell me what is 2 + 2?",
        "I'd like to know: What is 2 + 2?",
        "Please answer this: What is 2 + 2?",
    ]
    ask = "Can you tell me"
    assert style_messages("In which year?", "request", variant=1)[0]["content"] == (
        f"{ask} in which year?"
    )
    for q in ("Paris is the capital of which country?", "WHO began when?", "東京は？", "Name it"):
        assert style_messages(q, "request", variant=1)[0]["content"] == f"{ask}: {q}"


def test_chatter_templates() -> None:
    q = "What is the capital of Peru?"
    contents = [style_messages(q, "chatter", variant=v)[0]["content"] for v in range(10)]
    assert contents[0] == f"Hi! Quick question: {q} Thanks!"
    assert contents[2] == f"{q} I've been arguing about this with a friend."
    assert len(set(contents)) == len(CHATTER_TEMPLATES)
    bare = "capital of peru"  # no punctuation: a "?" before the text that follows it
    assert style_messages(bare, "chatter", variant=0)[0]["content"] == (
        "Hi! Quick question: capital of peru? Thanks!"
    )
    assert style_messages(bare, "chatter", variant=1)[0]["content"].endswith(" capital of peru")
    cjk = "東京はどこの国の首都ですか？"
    assert style_messages(cjk, "chatter", variant=0)[0]["content"] == (
        f"Hi! Quick question: {cjk} Thanks!"
    )


def test_multi_turn_exchange() -> None:
    messages = style_messages("What is 2 + 2?", "multi_turn", previous=PREVIOUS)
    assert messages == [
        {"role": "user", "content": "Who wrote Hamlet?"},
        {"role": "assistant", "content": "William Shakespeare."},
        {"role": "user", "content": "What is 2 + 2?"},
    ]
    dotted = style_messages("Where?", "multi_turn", previous=("Capital of the US?", "D.C."))
    assert dotted[1]["content"] == "D.C."
    with pytest.raises(ValueError, match="previous=\\(question, answer\\)"):
        style_messages("What is 2 + 2?", "multi_turn")
    with pytest.raises(TypeError, match="pair"):
        style_messages("What is 2 + 2?", "multi_turn", previous=("only one",))
    with pytest.raises(ValueError, match="previous answer"):
        style_messages("What is 2 + 2?", "multi_turn", previous=("Who?", "  "))
    with pytest.raises(ValueError, match="empty question"):
        style_messages("What is 2 + 2?", "multi_turn", previous=(" ", "x"))


def test_style_messages_errors() -> None:
    with pytest.raises(ValueError, match=r"unknown style 'casual'.*'multi_turn'"):
        style_messages("What?", "casual")
    with pytest.raises(ValueError, match="empty question"):
        style_messages("   ", "chatter")
    with pytest.raises(TypeError, match="question must be a str"):
        style_messages(None, "plain")
    for bad in (True, 1.0, "1"):
        with pytest.raises(TypeError, match="variant must be an int"):
            style_messages("What?", "request", variant=bad)


def test_check_styles() -> None:
    assert check_styles(["plain", "chatter"]) == ("plain", "chatter")
    assert check_styles(STYLES) == STYLES
    with pytest.raises(ValueError, match="empty"):
        check_styles([])
    with pytest.raises(ValueError, match="unknown style 'polite'; use one of 'short'"):
        check_styles(["plain", "polite"])
    with pytest.raises(ValueError, match="'plain' is listed twice"):
        check_styles(["plain", "system", "plain"])
    with pytest.raises(TypeError, match="sequence of names"):
        check_styles("plain")
    with pytest.raises(TypeError, match="sequence of names"):
        check_styles(None)


def counts_ok(names: list[str], styles=STYLES) -> bool:
    counts = Counter(names)
    low = len(names) // len(styles)
    return all(low <= counts[s] <= low + 1 for s in styles)


@pytest.mark.parametrize("n", [0, 1, 7, 100, 121])
def test_assign_styles_balanced(n: int) -> None:
    items = make_items(n)
    names = assign_styles(items)
    assert len(names) == n and set(names) <= set(STYLES)
    assert counts_ok(names)
    pairs = list(zip(names, items, strict=True))
    for key in ("source", "split"):
        for value in {getattr(it, key) for it in items}:
            assert counts_ok([s for s, it in pairs if getattr(it, key) == value])
    for group in {(it.source, it.split) for it in items}:
        assert counts_ok([s for s, it in pairs if (it.source, it.split) == group])
    if n >= 100:  # every source sees every style
        for source in {it.source for it in items}:
            assert {s for s, it in pairs if it.source == source} == set(STYLES)


def test_assign_styles_deterministic_and_order_free() -> None:
    items = make_items(90, sources=None)
    names = assign_styles(items, seed=3)
    assert names == assign_styles(list(items), seed=3)
    shuffled = items[:]
    random.Random(0).shuffle(shuffled)
    by_id = dict(zip((it.id for it in shuffled), assign_styles(shuffled, seed=3), strict=True))
    assert [by_id[it.id] for it in items] == names
    assert assign_styles(items, seed=4) != names
    chat = assign_styles(items, styles=CHAT_STYLES)
    assert set(chat) == set(CHAT_STYLES) and counts_ok(chat, CHAT_STYLES)
    assert set(assign_styles(items, styles=["plain"])) == {"plain"}


def test_assign_styles_errors() -> None:
    with pytest.raises(TypeError, match=r"items\[1\] must be a QAItem"):
        assign_styles([make_items(1)[0], {"question": "What?"}])
    with pytest.raises(TypeError, match="sequence of QAItem"):
        assign_styles("What?")
    with pytest.raises(TypeError, match="seed must be an int"):
        assign_styles(make_items(3), seed=1.5)
    with pytest.raises(ValueError, match="unknown style"):
        assign_styles(make_items(3), styles=["loud"])


def test_styled_conversations_order_free() -> None:
    items = make_items(60)
    conversations, names = styled_conversations(items, seed=1)
    assert names == assign_styles(items, seed=1)
    assert len(conversations) == len(items)
    shuffled = items[::-1]
    conv2, names2 = styled_conversations(shuffled, seed=1)
    again = {it.id: (c, s) for it, c, s in zip(shuffled, conv2, names2, strict=True)}
    assert all(again[it.id] == (c, s) for it, c, s in zip(items, conversations, names, strict=True))
    assert styled_conversations(items, seed=1) == (conversations, names)
    for item, messages, style in zip(items, conversations, names, strict=True):
        assert [m["role"] for m in messages] == ROLES[style]
        assert item.question in messages[-1]["content"] or style == "request"
    variants = {m[0]["content"] for m, s in zip(conversations, names, strict=True) if s == "system"}
    assert len(variants) > 1  # the template varies with the item


def test_multi_turn_partner() -> None:
    items = make_items(60)
    items.append(QAItem(id="dup", question=items[0].question, answers=("x",), split="train"))
    conversations, names = styled_conversations(items, styles=["multi_turn"], seed=2)
    assert set(names) == {"multi_turn"}
    for i, (item, messages) in enumerate(zip(items, conversations, strict=True)):
        assert messages[0]["content"] != item.question  # never itself, nor its twin "dup"
        assert messages[2]["content"] == item.question
        earlier = [
            other
            for j, other in enumerate(items)
            if j != i
            and other.question == messages[0]["content"]
            and f"{other.answers[0]}." == messages[1]["content"]
        ]
        assert earlier and all(other.split == item.split for other in earlier)
    assert len({m[0]["content"] for m in conversations}) > 10


def test_multi_turn_needs_another_question() -> None:
    lone = [
        QAItem(id="a", question="What is 2 + 2?", answers=("4",), split="test"),
        QAItem(id="b", question="what is 2 +  2?", answers=("4",), split="test"),
        QAItem(id="c", question="Who wrote Hamlet?", answers=("Shakespeare",), split="train"),
    ]
    with pytest.raises(ValueError, match=r"'a'.*split 'test' has no other question"):
        styled_conversations(lone, styles=["multi_turn"])
    conversations, _ = styled_conversations(lone, styles=["plain"])
    assert [c[0]["content"] for c in conversations] == [it.question for it in lone]
    assert styled_conversations([]) == ([], [])


@pytest.mark.parametrize("style", STYLES)
def test_styles_render_with_a_chat_template(style: str) -> None:
    tokenizer = make_chat_tokenizer()
    question = "What is the capital of France?"
    for variant in range(N_VARIANTS):
        messages = style_messages(question, style, variant=variant, previous=PREVIOUS)
        text = render_chat(tokenizer, messages)
        assert question[1:] in text
        assert text.endswith("<|im_start|>assistant\n")
        assert text.count("<|im_start|>") == len(messages) + 1
        if style == "system":
            assert f"<|im_start|>system\n{SYSTEM_PROMPTS[variant % len(SYSTEM_PROMPTS)]}" in text
        if style == "multi_turn":
            assert "<|im_start|>user\nWho wrote Hamlet?<|im_end|>" in text
            assert "<|im_start|>assistant\nWilliam Shakespeare.<|im_end|>" in text
            assert text.index("Hamlet") < text.index(question)
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(ids) == text
