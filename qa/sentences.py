"""Split a model's free-form answer into sentences, keeping character offsets.

Rules of :func:`split_sentences`:

1. A fenced code block (a line that starts, after optional indentation, with three or
   more backticks, up to a line holding only as many or more backticks) is one span of
   kind "code", fences included; it is never split. A fence that is not closed runs to
   the end of the text.
2. Outside code, every line break ends a span (so does a blank line).
3. A Markdown list item line ("- x", "* x", "+ x", "1. x", "2) x") gives spans of kind
   "item", the marker inside the first; an item of several sentences is split further,
   every piece of kind "item".
4. Within a line a sentence ends after a run of ".", "!", "?" or "…" (with any closing
   quotes, brackets or "*"/"_" emphasis right after it) that whitespace follows. After
   "。", "！" or "？" no whitespace is needed.
5. These are not sentence ends:

   a. a title or abbreviation that never ends a sentence: Mr. Mrs. Ms. Dr. Prof. Mt.
      vs. v. e.g. i.e. cf. approx. Fig. ca.; and "No." before a digit ("No. 5");
   b. an abbreviation that may end one (etc. St. Jr. Sr. Inc. Ltd. Co. Corp. and
      dotted letters such as U.S., U.K., D.C., a.m., p.m., J.R.R.) or a single capital
      initial ("W."), unless the next word is a capitalised common sentence opener
      ("The", "It", "I", "This", "However", ...) that is not itself an initial: "George W.
      Bush" and "J. R. R. Tolkien" stay whole, "... in the U.S. It is ..." splits;
   c. an ellipsis ("..." or "…") followed by a lower-case letter;
   d. anything inside inline code (`a. b`): a run of backticks up to the next run of
      the same length; one that never closes runs to the end of its line;
   e. a point with no whitespace after it: decimals ("3.14"), versions ("v1.2"),
      names ("a.b()", "example.com").

Every character that is not whitespace lies in exactly one span; spans are in order,
do not overlap, and carry no leading or trailing whitespace.

Known limits: a sentence that ends with an abbreviation of rule 5b is joined to the
next one unless that one opens with a common word ("... in the U.S. Americans ..."
stays one span); quotes are not tracked ('He said "Go. Now." and left' splits inside
the quote); a hard-wrapped paragraph splits at every line break; only backtick fences
("```") are code blocks, not "~~~" or indented code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Span", "SpanKind", "complete_sentences", "split_sentences"]

SpanKind = Literal["sentence", "code", "item"]
_KINDS = ("sentence", "code", "item")

_FENCE = re.compile(r"[ \t]*(`{3,})")
_ITEM = re.compile(r"[ \t]*(?:[-*+]|\d{1,3}[.)])(?=[ \t]|$)")
_TICKS = re.compile(r"`+")
_CLOSERS = "\"'”’»)]}*_」』）】〕"
_END = re.compile(rf"([.!?…]+|[。！？]+)([{re.escape(_CLOSERS)}]*)")
_OPENERS = "\"'“‘«([{*_"
_NEVER_END = frozenset("mr. mrs. ms. dr. prof. mt. vs. v. e.g. i.e. cf. approx. fig. ca.".split())
_MAY_END = frozenset("etc. st. jr. sr. inc. ltd. co. corp. bros.".split())
_DOTTED = re.compile(r"(?:[^\W\d_]\.){2,}")  # U.S., a.m., J.R.R.
_INITIAL = re.compile(r"[^\W\d_]")  # one letter, checked upper-case below
_FIRST_LETTERS = re.compile(r"[^\W\d_]+")
_SENTENCE_OPENERS = frozenset(
    """the a an it its he she they we i you this that these those there here his her
    their our my in on at for from however but and so also yet thus therefore today
    after before during when while as if although though since because many most some
    all each both such what which who other another""".split()
)


@dataclass(frozen=True)
class Span:
    """One sentence, list item or code block of a text.

    Attributes
    ----------
    text : str
        ``source[start:end]``: no leading or trailing whitespace, never empty.
    start, end : int
        Character offsets into the source text, ``0 <= start < end``.
    kind : {"sentence", "code", "item"}
        "code" for a fenced code block, "item" for (a sentence of) a list item line.
    """

    text: str
    start: int
    end: int
    kind: SpanKind = "sentence"

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text or self.text != self.text.strip():
            raise ValueError(
                f"Span text must be a non-empty str without surrounding whitespace, got "
                f"{self.text!r}: strip it and shift start/end accordingly"
            )
        if not (0 <= self.start < self.end) or self.end - self.start != len(self.text):
            raise ValueError(
                f"Span offsets start={self.start}, end={self.end} do not fit text of length "
                f"{len(self.text)}: need 0 <= start and end - start == len(text)"
            )
        if self.kind not in _KINDS:
            raise ValueError(f"Span kind must be one of {_KINDS}, got {self.kind!r}")


def _span(text: str, a: int, b: int, kind: SpanKind) -> Span | None:
    """The span of ``text[a:b]`` without surrounding whitespace, or None if blank."""
    piece = text[a:b]
    stripped = piece.strip()
    if not stripped:
        return None
    start = a + len(piece) - len(piece.lstrip())
    return Span(stripped, start, start + len(stripped), kind)


def _lines(text: str) -> list[tuple[int, int, bool]]:
    """``(start, end, ends_with_newline)`` of each line of ``text``."""
    out, pos = [], 0
    while pos < len(text):
        nl = text.find("\n", pos)
        end = len(text) if nl < 0 else nl
        out.append((pos, end, nl >= 0))
        pos = end + 1
    return out


def _inline_code(line: str, begin: int) -> list[tuple[int, int]]:
    """Ranges of ``line`` (from ``begin``) inside inline code, backtick runs included."""
    runs = [(m.start(), m.end()) for m in _TICKS.finditer(line, begin)]
    ranges, k = [], 0
    while k < len(runs):
        a, b = runs[k]
        close = next((j for j in range(k + 1, len(runs)) if runs[j][1] - runs[j][0] == b - a), None)
        if close is None:
            ranges.append((a, len(line)))
            break
        ranges.append((a, runs[close][1]))
        k = close + 1
    return ranges


def _lookahead(line: str, j: int, *, final: bool, whole: bool) -> str | None:
    """The next word after ``line[j:]``'s whitespace ('' when the line ends first), or
    None when the text so far cannot tell (the word, or its first character if not
    ``whole``, has not fully arrived)."""
    k = j
    while k < len(line) and line[k].isspace():
        k += 1
    if k == len(line):
        return "" if final else None
    e = k
    while e < len(line) and not line[e].isspace():
        e += 1
    if whole and e == len(line) and not final:
        return None
    return line[k:e]


def _ends(line: str, m: re.Match[str], *, final: bool) -> bool | None:
    """Whether the terminator ``m`` (followed by whitespace) ends a sentence; None when
    that depends on text that has not arrived yet."""
    term, j = m.group(1), m.end()
    k = m.start()
    while k > 0 and not line[k - 1].isspace():
        k -= 1
    word = line[k : m.start()].lstrip(_OPENERS)
    if set(term) <= {".", "…"} and (len(term) > 1 or term == "…"):  # an ellipsis
        nxt = _lookahead(line, j, final=final, whole=False)
        return None if nxt is None else not nxt[:1].islower()
    if term != "." or not word:
        return True
    abbreviation = (word + ".").casefold()
    if abbreviation in _NEVER_END:
        return False
    if abbreviation == "no.":
        nxt = _lookahead(line, j, final=final, whole=False)
        return None if nxt is None else not nxt[:1].isdigit()
    initial = _INITIAL.fullmatch(word) is not None and word.isupper()
    if abbreviation in _MAY_END or _DOTTED.fullmatch(word + ".") or initial:
        nxt = _lookahead(line, j, final=final, whole=True)
        if nxt is None:
            return None
        head = nxt.lstrip(_OPENERS)
        letters = _FIRST_LETTERS.match(head)
        if letters is None or re.fullmatch(r"[^\W\d_]\.", head):  # a further initial
            return False
        first = letters.group()
        return first[0].isupper() and first.casefold() in _SENTENCE_OPENERS
    return True


def _split_line(text: str, start: int, end: int, *, final: bool) -> list[tuple[Span, bool]]:
    """Spans of the line ``text[start:end]`` with whether each is certainly finished;
    ``final`` says the line's end is known (a newline follows, or the text is whole)."""
    line = text[start:end]
    item = _ITEM.match(line)
    kind: SpanKind = "item" if item else "sentence"
    begin = item.end() if item else 0
    code = _inline_code(line, begin)
    out: list[tuple[Span, bool]] = []
    cur = 0
    for m in _END.finditer(line, begin):
        if any(a <= m.start() < b for a, b in code):
            continue
        j = m.end()
        if m.group(1)[0] in "。！？":
            ends: bool | None = True if j < len(line) else (None if not final else True)
        elif j == len(line) or not line[j].isspace():
            continue  # the line's end closes it anyway, or no whitespace follows
        else:
            ends = _ends(line, m, final=final)
        if ends is None:
            break  # undecided: the rest of the line is one unfinished span
        if ends:
            span = _span(text, start + cur, start + j, kind)
            if span is not None:
                out.append((span, True))
            cur = j
    span = _span(text, start + cur, end, kind)
    if span is not None:
        out.append((span, final))
    return out


def _scan(text: str, *, final: bool) -> list[tuple[Span, bool]]:
    """All spans of ``text`` with whether each is certainly finished."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}: {text!r}")
    lines = _lines(text)
    out: list[tuple[Span, bool]] = []
    i = 0
    while i < len(lines):
        start, end, newline = lines[i]
        fence = _FENCE.match(text, start, end)
        if fence is None:
            out.extend(_split_line(text, start, end, final=final or newline))
            i += 1
            continue
        ticks = len(fence.group(1))
        j = i + 1
        while j < len(lines):
            body = text[lines[j][0] : lines[j][1]].strip()
            if len(body) >= ticks and set(body) == {"`"}:
                break
            j += 1
        if j < len(lines):  # closed: finished once the closing fence's line has ended
            stop, certain, i = lines[j][1], final or lines[j][2], j + 1
        else:  # unclosed: runs to the end, never finished while streaming
            stop, certain, i = len(text), final, len(lines)
        span = _span(text, fence.start(1), stop, "code")
        if span is not None:
            out.append((span, certain))
    return out


def split_sentences(text: str) -> tuple[Span, ...]:
    """Split ``text`` into sentences, list items and code blocks (module rules).

    Parameters
    ----------
    text : str
        A model's free-form answer.

    Returns
    -------
    tuple of Span
        In order, non-overlapping; ``text[s.start:s.end] == s.text`` for each. Empty
        for empty or whitespace-only text.

    Raises
    ------
    TypeError
        If ``text`` is not a str.

    Examples
    --------
    >>> [s.text for s in split_sentences("Dr. Smith met George W. Bush. It rained.")]
    ['Dr. Smith met George W. Bush.', 'It rained.']
    """
    return tuple(span for span, _ in _scan(text, final=True))


def complete_sentences(text: str, *, final: bool) -> tuple[Span, ...]:
    """The spans of ``split_sentences(text)`` that are certainly finished (streaming).

    Parameters
    ----------
    text : str
        The answer so far.
    final : bool
        True when ``text`` is the whole answer: every span is finished.

    Returns
    -------
    tuple of Span
        When ``final`` is False, a prefix of ``split_sentences(text)`` that is also a
        prefix of ``split_sentences(text + more)`` for any continuation ``more``. A
        sentence is finished once its line has ended or whitespace has arrived after its
        terminator and the module's exceptions are decided (after "U.S." the next whole
        word, after "..." or "No." the next character); a code block once the line of
        its closing fence has ended (an unclosed fence never is).

    Raises
    ------
    TypeError
        If ``text`` is not a str or ``final`` is not a bool.

    Examples
    --------
    >>> [s.text for s in complete_sentences("It is Paris. It is", final=False)]
    ['It is Paris.']
    """
    if not isinstance(final, bool):
        raise TypeError(
            f"final must be a bool, got {type(final).__name__}: {final!r}; pass "
            "final=True once the whole answer has arrived"
        )
    out = []
    for span, certain in _scan(text, final=final):
        if not certain:
            break
        out.append(span)
    return tuple(out)
