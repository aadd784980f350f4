"""The ways people send a question to a chat model, so detectors see chat-style prompts.

``"short"`` is today's prompt (:func:`~howsure.probes.prompts.question_messages`: the
question and ``"Reply with just the answer."``); ``"plain"`` the question alone;
``"system"`` a generic system prompt then the question; ``"request"`` the question inside
a request; ``"chatter"`` small talk around it; ``"multi_turn"`` an earlier exchange
(another question and its gold answer) then the question. Templates are fixed and the
choices hashed, so the prompts are the same on every run.

Every style keeps the question's words whole; only ``"Can you tell me {q_lower_first}"``
lowers its first letter, when it opens with an English question word (``"What is ..."``
-> ``"Can you tell me what is ..."``); for any other question it reads ``"Can you tell
me: {q}"``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Literal

from howsure.core.errors import SettingError
from howsure.probes.prompts import check_messages, question_messages
from howsure.qa.items import QAItem

__all__ = [
    "CHATTER_TEMPLATES",
    "CHAT_STYLES",
    "CODE_STYLES",
    "REQUEST_TEMPLATES",
    "STYLES",
    "SYSTEM_PROMPTS",
    "Style",
    "assign_styles",
    "chat_items",
    "check_styles",
    "style_messages",
    "styled_conversations",
]

Style = Literal["short", "plain", "system", "request", "chatter", "multi_turn"]
STYLES: tuple[str, ...] = ("short", "plain", "system", "request", "chatter", "multi_turn")
"""Every style, in a fixed order."""
CHAT_STYLES: tuple[str, ...] = STYLES[1:]
"""The styles without the answer-format instruction (all but ``"short"``)."""
CODE_STYLES: tuple[str, ...] = ("plain", "system")
"""The styles code tasks are sent in: the request as written, alone or after a system
prompt (a task's phrasings already vary how it is asked; an earlier exchange would show
another task's tests as its answer)."""

SYSTEM_PROMPTS: tuple[str, ...] = (
    "You are a helpful assistant.",
    "You are a knowledgeable assistant. Answer the user's questions accurately.",
    "You are a friendly AI assistant.",
    "You are a helpful, honest and harmless assistant.",
)
"""The system messages of the ``"system"`` style."""

REQUEST_TEMPLATES: tuple[str, ...] = (
    "Tell me: {q}",
    "Can you tell me {q_lower_first}",
    "I'd like to know: {q}",
    "Please answer this: {q}",
)
"""The ``"request"`` style (``{q_lower_first}``: see the module's docstring)."""

CHATTER_TEMPLATES: tuple[str, ...] = (
    "Hi! Quick question: {q} Thanks!",
    "Hey there, I was wondering about something. {q}",
    "{q} I've been arguing about this with a friend.",
    "Good morning! Random thing I've been curious about: {q}",
    "So my kid asked me this today and I had no idea. {q} Any help appreciated!",
)
"""The ``"chatter"`` style; ``{q}`` gets a ``"?"`` if unpunctuated and text follows."""

_QUESTION_WORDS = frozenset("what what's who who's whom whose which when where why how".split())
_PREPOSITIONS = frozenset("in on at from for to of by during after before since".split())
_FIRST_WORDS = re.compile(r"([A-Z][a-z]*(?:'[a-z]+)?)(?:\s+([A-Za-z]+(?:'[a-z]+)?))?")
_END = ".?!…;:。？！؟।॥\u037e"  # sentence ends in several scripts
_TEMPLATES = {"system": SYSTEM_PROMPTS, "request": REQUEST_TEMPLATES, "chatter": CHATTER_TEMPLATES}


def _lower_first(q: str) -> str | None:
    """``q`` with its first letter lowered when it opens with an English question word
    (``"What ..."``, ``"In which ..."``), else None (names, other scripts, statements)."""
    m = _FIRST_WORDS.match(q)
    first, second = (m.group(1).lower(), (m.group(2) or "").lower()) if m else ("", "")
    wh = first in _QUESTION_WORDS or (first in _PREPOSITIONS and second in _QUESTION_WORDS)
    return q[0].lower() + q[1:] if wh else None


def _check_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}: {value!r}")
    return value


def check_styles(styles: Sequence[str]) -> tuple[str, ...]:
    """Validate a list of style names and return it as a tuple.

    Parameters
    ----------
    styles : sequence of str
        Non-empty, each one of :data:`STYLES`, no duplicates.

    Raises
    ------
    TypeError
        A single string (not a sequence of names) or a non-sequence.
    ValueError
        Empty, an unknown style or a duplicate (naming it and the allowed ones).
    """
    allowed = ", ".join(map(repr, STYLES))
    if isinstance(styles, str) or not isinstance(styles, Sequence):
        raise TypeError(f"styles must be a sequence of names, e.g. ({styles!r},); got {styles!r}")
    if len(styles) == 0:
        raise ValueError(f"styles is empty; give at least one of {allowed}")
    for style in styles:
        if style not in STYLES:
            raise ValueError(f"unknown style {style!r}; use one of {allowed}")
        if list(styles).count(style) > 1:
            raise ValueError(f"style {style!r} is listed twice in {tuple(styles)!r}; list it once")
    return tuple(styles)


def _previous(previous: object) -> list[dict]:
    """The earlier exchange of ``"multi_turn"``: the question, the answer as a sentence."""
    if previous is None:
        raise ValueError("style 'multi_turn' needs previous=(question, answer) to put first")
    if not (isinstance(previous, (tuple, list)) and len(previous) == 2):
        raise TypeError(f"previous must be a (question, answer) pair, got {previous!r}")
    earlier, answer = previous
    if not isinstance(answer, str) or not answer.strip():
        raise ValueError(f"previous answer {answer!r} is empty or not a str; give its gold answer")
    answer = answer.strip()
    return [
        *question_messages(earlier, instruction=""),
        {"role": "assistant", "content": answer if answer[-1] in _END else f"{answer}."},
    ]


def style_messages(
    question: str, style: Style, *, variant: int = 0, previous: tuple[str, str] | None = None
) -> list[dict]:
    """Return the chat messages that ask ``question`` in one style.

    Parameters
    ----------
    question : str
        The question as given (surrounding whitespace is stripped); not empty.
    style : {"short", "plain", "system", "request", "chatter", "multi_turn"}
    variant : int, default 0
        Which system prompt, request or chatter template, modulo their count.
    previous : (str, str), optional
        ``(question, answer)`` of the earlier exchange; required by ``"multi_turn"`` (the
        assistant replies ``"<answer>."``), ignored by the other styles.

    Returns
    -------
    list of dict
        Checked by :func:`check_messages`; the last message is the user's question.

    Raises
    ------
    TypeError
        A question, variant or previous of the wrong type.
    ValueError
        An empty question, an unknown style (naming the allowed ones), or
        ``"multi_turn"`` without a usable ``previous``.
    """
    check_styles((style,))
    _check_int("variant", variant)
    if style == "short":
        return check_messages(question_messages(question))
    q = question_messages(question, instruction="")[0]["content"]  # validated, stripped
    templates = _TEMPLATES.get(style, ("{q}",))
    template = templates[variant % len(templates)]
    lowered = _lower_first(q) if "{q_lower_first}" in template else q
    if lowered is None:  # "Can you tell me {q_lower_first}" for a non-wh question
        template, lowered = template.replace(" {q_lower_first}", ": {q}"), q
    text = q if template.endswith("{q}") or q[-1] in _END else f"{q}?"
    content = template.format(q=text, q_lower_first=lowered)
    if style == "system":
        messages = [{"role": "system", "content": template}, {"role": "user", "content": q}]
    else:
        before = _previous(previous) if style == "multi_turn" else []
        messages = [*before, {"role": "user", "content": content}]
    return check_messages(messages)


def _key(*parts: object) -> bytes:
    return hashlib.sha256("\0".join(map(str, parts)).encode("utf-8")).digest()


def _order_key(item: QAItem, seed: int, salt: str) -> tuple:
    """A fixed shuffle by a hash of the id and seed; ties (repeated ids) by content."""
    return (_key(salt, seed, item.id), item.id, item.question, item.source or "", item.split)


def assign_styles(
    items: Sequence[QAItem], *, styles: Sequence[str] = STYLES, seed: int = 0
) -> list[str]:
    """Give each item one style, balanced and deterministic.

    Items are grouped by ``(source, split)`` (groups sorted by name), shuffled within a
    group by a hash of ``(seed, id)``, and dealt the styles round-robin, the deal going on
    from one group to the next. So each style gets ``len(items) / len(styles)`` items
    give or take one, overall, within each source and within each (source, split).

    Parameters
    ----------
    items : sequence of QAItem
    styles : sequence of str, default :data:`STYLES`
        Checked by :func:`check_styles`; their order is the deal's order.
    seed : int, default 0
        Another seed, another deal.

    Returns
    -------
    list of str
        The style of each item, in the order of ``items``; an item's style depends on
        the set of items, ``styles`` and ``seed``, not on the order of ``items``.
    """
    styles, seed = check_styles(styles), _check_int("seed", seed)
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise TypeError(f"items must be a sequence of QAItem, got {type(items).__name__}")
    for i, item in enumerate(items):
        if not isinstance(item, QAItem):
            raise TypeError(f"items[{i}] must be a QAItem, got {type(item).__name__}: {item!r}")
    order = sorted(
        range(len(items)),
        key=lambda i: (items[i].source or "", items[i].split, _order_key(items[i], seed, "style")),
    )
    out: list[str] = [""] * len(items)
    for dealt, i in enumerate(order):
        out[i] = styles[dealt % len(styles)]
    return out


def _partners(items: list[QAItem], wanted: list[int], seed: int) -> dict[int, tuple[str, str]]:
    """For each index in ``wanted``: (question, first gold answer) of another item of the
    same split with a different question text, the next one in a fixed shuffle."""
    by_split: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        by_split.setdefault(item.split, []).append(i)
    order = {
        split: sorted(ids, key=lambda i: _order_key(items[i], seed, "partner"))
        for split, ids in by_split.items()
    }
    position = {i: p for ids in order.values() for p, i in enumerate(ids)}
    out: dict[int, tuple[str, str]] = {}
    for i in wanted:
        ring, own = order[items[i].split], " ".join(items[i].question.lower().split())
        for step in range(1, len(ring)):
            j = ring[(position[i] + step) % len(ring)]
            if " ".join(items[j].question.lower().split()) != own and items[j].answers:
                out[i] = (items[j].question, items[j].answers[0])
                break
        else:
            raise ValueError(
                f"item {items[i].describe()} got style 'multi_turn' but split "
                f"{items[i].split!r} has no other question to put before it; give at least "
                "two different questions per split, or leave 'multi_turn' out of styles"
            )
    return out


def styled_conversations(
    items: Sequence[QAItem], *, styles: Sequence[str] = STYLES, seed: int = 0
) -> tuple[list[list[dict]], list[str]]:
    """The chat messages of each item in its assigned style.

    Parameters
    ----------
    items : sequence of QAItem
    styles : sequence of str, default :data:`STYLES`
    seed : int, default 0

    Returns
    -------
    conversations : list of list of dict
        Each item's messages (:func:`style_messages`), the template chosen by a hash of
        ``(seed, id)``; a ``"multi_turn"`` item is preceded by another item of its split
        (never itself, never the same question text) and that item's first gold answer.
    names : list of str
        Each item's style (:func:`assign_styles`). Both lists follow ``items``; an item's
        entries do not depend on the order of ``items``.

    Raises
    ------
    ValueError
        A ``"multi_turn"`` item whose split holds no other question.
    """
    names = assign_styles(items, styles=styles, seed=seed)
    items = list(items)
    partners = _partners(items, [i for i, s in enumerate(names) if s == "multi_turn"], seed)
    conversations = []
    for i, (item, style) in enumerate(zip(items, names, strict=True)):
        variant = int.from_bytes(_key("variant", seed, item.id)[:4], "big")
        conversations.append(
            style_messages(item.question, style, variant=variant, previous=partners.get(i))
        )
    return conversations, names


def chat_items(items: Sequence[QAItem], per_source: int) -> list[QAItem]:
    """``per_source`` questions of each source among ``items``, in a fixed hash order of
    their ids: the same questions on every run, sources sorted by name.

    Raises
    ------
    ValueError
        ``per_source`` below 1.
    """
    if isinstance(per_source, bool) or not isinstance(per_source, int) or per_source < 1:
        raise SettingError(
            "per_source", "{param} must be an int >= 1, got {value!r}", value=per_source
        )
    by_source: dict[str, list[QAItem]] = {}
    for it in sorted(items, key=lambda it: hashlib.sha256(it.id.encode()).hexdigest()):
        by_source.setdefault(it.source or "unknown", []).append(it)
    return [it for src in sorted(by_source) for it in by_source[src][:per_source]]
