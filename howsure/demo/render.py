"""How the demo shows a confidence and a reply: badges, escaping, the reply's Markdown."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from howsure.plugin.generation import percent
from howsure.probes.familiarity import UNFAMILIAR_NOTE

__all__ = [
    "LEVELS",
    "PENDING",
    "SHADES",
    "Level",
    "Reply",
    "badge",
    "esc",
    "esc_md",
    "level",
    "render_reply",
    "shaded_sentences",
]

Level = Literal["low", "medium", "high"]

LEVELS: tuple[tuple[float, Level, str], ...] = (
    (0.5, "low", "#b91c1c"),  # red below 50%
    (0.8, "medium", "#b45309"),  # amber below 80%
    (math.inf, "high", "#15803d"),  # green otherwise
)
"""``(upper bound, level, colour)``: a confidence below the bound gets that level."""

SHADES: dict[str, str] = {"low": "#fee2e2", "medium": "#fef3c7", "high": "#dcfce7"}
"""A sentence's background by its :func:`level` (light tints of the badge colours)."""

PENDING = '<span class="howsure-pending">…</span>'
"""Marks a reply that is still coming."""


def esc(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` (the chat renders Markdown with HTML)."""
    return html.escape(text, quote=False)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]!|#])")


def esc_md(text: str) -> str:
    """Model or user text shown as itself: HTML-escaped and Markdown-escaped, so an answer
    like ``![x](http://...)`` cannot make the page fetch anything."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", esc(text))


def level(confidence: float) -> Level:
    """``"low"`` below 0.5, ``"medium"`` below 0.8, else ``"high"``."""
    for bound, name, _ in LEVELS:
        if confidence < bound:
            return name
    return "high"  # nan


def badge(confidence: float | None) -> str:
    """HTML badge with the confidence in whole percent, coloured by :func:`level`.

    ``None`` gives a grey "no confidence" badge.
    """
    if confidence is None:
        return (
            '<span class="howsure-badge howsure-none" style="background:#6b7280;'
            'color:#fff;border-radius:999px;padding:1px 9px">no confidence</span>'
        )
    name = level(confidence)
    colour = {n: c for _, n, c in LEVELS}[name]
    return (
        f'<span class="howsure-badge howsure-{name}" data-confidence="{confidence:.6f}" '
        f'style="background:{colour};color:#fff;border-radius:999px;padding:1px 9px;'
        f'font-weight:700">{percent(confidence)}%</span>'
    )


def shaded_sentences(answer: str, sentences: Sequence[Any]) -> str:
    """The answer with each sentence shaded by its confidence, a legend, and the least
    sure sentence named in words.

    Parameters
    ----------
    answer : str
    sentences : sequence of SentenceConfidence
        Offsets into ``answer``, in order; the text between them is shown unshaded.

    Returns
    -------
    str
        Markdown with inline HTML; just the escaped answer when there are no sentences.
    """
    if not sentences:
        return esc_md(answer)
    parts, at = [], 0
    for s in sentences:
        parts.append(esc_md(answer[at : s.start]))
        name = level(s.confidence)
        parts.append(
            f'<span class="howsure-sentence howsure-{name}" '
            f'data-confidence="{s.confidence:.6f}" title="{percent(s.confidence)}% sure" '
            f'style="background:{SHADES[name]};border-radius:3px">{esc_md(s.text)}</span>'
        )
        at = s.end
    parts.append(esc_md(answer[at:]))
    lowest = min(sentences, key=lambda s: s.confidence)
    quoted = lowest.text if len(lowest.text) <= 80 else lowest.text[:77] + "..."
    legend = (
        "*Each sentence is shaded by its own confidence: "
        + " · ".join(
            f'<span style="background:{SHADES[n]};padding:0 4px">{words}</span>'
            for n, words in (("low", "below 50%"), ("medium", "50–80%"), ("high", "80% and up"))
        )
        + f". Least sure: “{esc_md(quoted)}” ({percent(lowest.confidence)}%).*"
    )
    return "".join(parts) + "\n\n" + legend


@dataclass(frozen=True)
class Reply:
    """One state of a streamed chat reply (see :meth:`Demo.respond`).

    Attributes
    ----------
    markdown : str
        The reply as shown in the chat (Markdown with an HTML badge).
    done : bool
        True for the last state, after generation ended.
    answer : str
        The model's answer so far (the whole answer when done, also when replaced).
    confidence : float or None
        Calibrated P(answer correct) once known; ``None`` before, or without a detector.
    abstained, flagged : bool
        Below the threshold, in ``"replace"`` / ``"flag"`` mode (when done).
    unfamiliar : bool
        The question looks unlike the detector's training rows (when done).
    sentences : tuple of SentenceConfidence
        Each sentence of the answer with its confidence (when done, with a sentence
        detector).
    conversation : list of dict
        The model's context after this turn (when done): the messages given, plus this
        question and the answer when there was one.
    error : str or None
        Why the question was not answered (e.g. the conversation outgrew the context).
    """

    markdown: str
    done: bool = False
    answer: str = ""
    confidence: float | None = None
    abstained: bool = False
    flagged: bool = False
    unfamiliar: bool = False
    sentences: tuple = ()
    conversation: list[dict] = field(default_factory=list)
    error: str | None = None


def render_reply(
    answer: str,
    *,
    chat: Any,
    confidence: float | None,
    done: bool,
    threshold: float,
    abstained: bool = False,
    flagged: bool = False,
    unfamiliar: bool = False,
    sentences: Sequence[Any] = (),
) -> str:
    """The Markdown of a reply so far.

    Parameters
    ----------
    answer : str
        The answer text to show so far (the model's words, escaped here).
    chat : ConfidentModel or None
        The wrapped model with a detector (its prefix and abstain message), or None.
    confidence : float or None
        Known confidence, or None (not yet known, or no detector).
    done : bool
        The last state: no "pending" mark.
    threshold : float
        The slider's threshold (named in the abstain and flag notes).
    abstained, flagged : bool
        The answer is withheld, or kept and marked.
    unfamiliar : bool
        The question is unlike the detector's training rows: the note
        :data:`UNFAMILIAR_NOTE` follows the confidence.
    sentences : sequence of SentenceConfidence, default ()
        When done: each sentence shaded by its confidence (:func:`shaded_sentences`).
    """
    if chat is None and confidence is not None:
        raise RuntimeError("a confidence without a detector")
    shaded = done and bool(sentences) and not abstained
    body = shaded_sentences(answer, sentences) if shaded else esc_md(answer)
    body = body if answer else ("*(empty answer)*" if done else "")
    if chat is None:
        line = f"{badge(None)} no detector loaded" if done else PENDING
        return f"{body}\n\n{line}" if body else line
    if confidence is None:  # answer positions: the confidence comes at the end
        return f"{body}\n\n{PENDING} *reading the confidence…*" if body else PENDING
    line = f"{badge(confidence)} {esc(chat.prefix(confidence))}"
    if abstained:
        body = (
            f"{esc(chat.abstain_message)}\n\n*(the answer is withheld: the "
            f"confidence is below your {percent(threshold)}% threshold)*"
        )
    elif flagged:
        line += f" ⚠ *below your {percent(threshold)}% threshold: double-check this answer*"
    if unfamiliar:
        line += f" · *{UNFAMILIAR_NOTE}*"
    if not done:
        body = (body + " " + PENDING) if body else PENDING
    return f"{line}\n\n{body}"
