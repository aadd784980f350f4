"""Decide whether a chat model's free-text answer matches the gold answers.

Rules of :class:`MatchJudge` (and :func:`label`), applied to normalised text
(see :func:`normalize_answer`):

1. A gold alias hits when its tokens equal the answer's tokens or appear inside the
   answer as a whole-token run: "The capital of France is Paris." hits "Paris",
   "Parisian" does not, "112" does not hit "12".
2. Numbers compare by value, token by token: "6.0" hits "6", "1,000" hits "1000",
   "one" hits "1", but "16" does not hit "6" and "-5" does not hit "5".
3. Hedging is not a hit: when the answer holds "or", "either", "neither", "nor" or
   "/" anywhere outside the matched gold ("Paris or Lyon", "Paris/Lyon"), it is a
   miss. Words inside the gold itself are fine ("Trinidad and Tobago").
4. A gold directly preceded by a negation ("not", "isn't", "never", ...) is not a
   hit at that place: "It is not Paris" misses "Paris".
5. An empty or punctuation-only answer is a miss.
6. An echo of the question is not a hit (when the question is given): where the answer
   repeats the question's words around a gold alias (two or more tokens of the question
   next to it, as the question has them), that occurrence does not count. "What is the
   capital of Gmina Krapkowice?" (gold "Krapkowice"): "The capital of Gmina Krapkowice
   is Kresna" misses; "Krapkowice" and "The capital of Gmina Krapkowice is Krapkowice"
   hit; "Which war lasted longer, the Korean War or the Gulf War?" (gold "Korean War"):
   "The Korean War lasted longer" hits. And a gold alias the question contains does
   not count at the start of a longer answer, where it is the question's subject
   repeated ("Who performed Bob Dylan?": "Bob Dylan performed a song..." misses),
   except in a choice question ("X or Y?").

Every script counts: "Москва", "Ελλάδα" and "हिन्दी" are words; Chinese, Japanese, Thai
and the other scripts written without spaces are compared character by character, so
"東京です" hits "東京". Accents are dropped only from Latin, Greek, Cyrillic, Arabic
and Hebrew letters; other scripts keep their marks (a Devanagari vowel sign or a
Japanese voicing mark changes the word).

Known limits: the rules are lexical. Any "or" outside the gold counts as hedging
("Paris, or so I think" is a miss); only a negation directly before the gold is seen
("Paris is wrong" is a hit); a right answer that also names a wrong one without
hedging ("Paris and Lyon") is a hit; "a"/"an"/"the" are dropped before another word, so
"vitamin a deficiency" reads "vitamin deficiency"; ordinals ("first") and mixed forms
("5 thousand") are not converted; paraphrases and synonyms need a stronger
:class:`Judge`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import regex

__all__ = ["Judge", "MatchJudge", "label", "label_all", "normalize_answer"]

# Scripts written without spaces between words: one token a character (marks attached).
_UNSEGMENTED = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\u30fc"
_TOKEN = regex.compile(
    r"(?:(?<![\p{L}\p{N}])-)?\d+(?:\.\d+)?"  # a number, with a leading minus sign
    rf"|[{_UNSEGMENTED}]\p{{M}}*"  # one character of an unsegmented script
    rf"|(?:(?![{_UNSEGMENTED}])[\p{{L}}\p{{N}}])(?:(?![{_UNSEGMENTED}])[\p{{L}}\p{{N}}\p{{M}}])*"
    r"|/"
)
# accents: marks on letters of the scripts where they are optional in writing
_ACCENTS = regex.compile(r"([\p{Latin}\p{Greek}\p{Cyrillic}\p{Arabic}\p{Hebrew}])\p{M}+")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_THOUSANDS_SEP = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_APOSTROPHES = re.compile(r"['’`]")
_POSSESSIVE = re.compile(r"(?<=\w)['’`]s\b")
_ARTICLES = frozenset({"a", "an", "the"})
_HEDGES = frozenset({"or", "either", "neither", "nor", "/"})
_NEGATIONS = frozenset({"not", "isnt", "arent", "wasnt", "werent", "never"})

_UNITS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
    " fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_SMALL = {w: v for v, w in enumerate(_UNITS, start=1)} | {
    w: 10 * v for v, w in enumerate(_TENS, start=2)
}
_SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}


class Judge(Protocol):
    """Anything that decides whether ``answer`` matches one of ``golds``."""

    def __call__(self, answer: str, golds: Sequence[str]) -> bool: ...


def _read_number(tokens: list[str], start: int) -> tuple[int, int] | None:
    """Parse number words at ``tokens[start:]``; return ``(value, end)`` or None."""
    if tokens[start] == "zero":
        return 0, start + 1
    total = current = 0
    i = end = start
    while i < len(tokens):
        word = tokens[i]
        if word in _SMALL:
            value, tail = _SMALL[word], current % 100
            # After "twenty" only a unit may follow; after "five" or "twelve" nothing may.
            if tail and not (tail >= 20 and tail % 10 == 0 and value < 10):
                break
            current += value
        elif word == "hundred":
            if current >= 100:
                break
            current = (current or 1) * 100
        elif word in _SCALES:
            if total % (_SCALES[word] * 1000):
                break
            total, current = total + (current or 1) * _SCALES[word], 0
        elif (
            word == "and"
            and (total + current) % 100 == 0
            and end > start
            and i + 1 < len(tokens)
            and tokens[i + 1] in _SMALL
        ):
            i += 1  # "one hundred and five": the "and" belongs to the number.
            continue
        else:
            break
        i = end = i + 1
    return None if end == start else (total + current, end)


def _tokens(text: str, *, keep_slash: bool = False, possessive: bool = True) -> list[str]:
    """Normalised tokens of ``text``; see :func:`normalize_answer`.

    ``possessive=False`` keeps a possessive "'s" as a trailing "s" ("McDonald's" ->
    "mcdonalds"), the other reading :class:`MatchJudge` also tries.
    """
    text = unicodedata.normalize("NFKD", text)
    text = unicodedata.normalize("NFC", _ACCENTS.sub(r"\1", text)).casefold()
    text = text.replace("&", " and ")
    if possessive:
        text = _POSSESSIVE.sub("", text)
    text = _THOUSANDS_SEP.sub("", _APOSTROPHES.sub("", text))
    words = [t for t in _TOKEN.findall(text) if keep_slash or t != "/"]
    words = [w for i, w in enumerate(words) if w not in _ARTICLES or i == len(words) - 1]
    out: list[str] = []
    i = 0
    while i < len(words):
        parsed = _read_number(words, i)
        if parsed is None:
            out.append(words[i])
            i += 1
        else:
            out.append(str(parsed[0]))
            i = parsed[1]
    return out


def normalize_answer(text: str) -> str:
    """Return ``text`` in the canonical form that answers and golds are compared in.

    Parameters
    ----------
    text : str
        An answer or a gold alias.

    Returns
    -------
    str
        Space-separated normalised tokens; empty when ``text`` has no letters or digits.

    Notes
    -----
    Steps, in order:

    1. Unicode NFKD, then drop the marks (accents) of Latin, Greek, Cyrillic, Arabic
       and Hebrew letters, then NFC: "Bogotá" -> "bogota"; other scripts keep theirs.
    2. Lower-case (``str.casefold``, so "ß" -> "ss").
    3. "&" -> "and"; a possessive "'s" dropped ("China's" -> "china"); other
       apostrophes removed ("isn't" -> "isnt").
    4. Thousands separators removed: "1,000,000" -> "1000000".
    5. Punctuation removed, keeping a decimal point between digits ("3.14") and a
       leading minus sign ("-5"); a hyphen between words or digits splits them. A
       character of a script written without spaces (Chinese, Japanese, Thai, ...) is
       a token of its own.
    6. Articles "a", "an", "the" dropped, except as the last token.
    7. Whitespace collapsed to single spaces.
    8. Number words -> digits: "twenty-one" -> "21", "one hundred and five" -> "105",
       "two thousand twenty four" -> "2024" (up to billions; ordinals are not converted).

    Examples
    --------
    >>> normalize_answer("The Café & Bar, twenty-one!")
    'cafe and bar 21'
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}: {text!r}")
    return " ".join(_tokens(text))


def _same(a: str, b: str) -> bool:
    """Tokens are equal, or both numbers of equal value ("6" and "6.0")."""
    if a == b:
        return True
    return bool(_NUMBER.fullmatch(a) and _NUMBER.fullmatch(b)) and float(a) == float(b)


def _check_inputs(answer: str, golds: Sequence[str]) -> None:
    if not isinstance(answer, str):
        raise TypeError(f"answer must be a str, got {type(answer).__name__}: {answer!r}")
    if isinstance(golds, str) or not isinstance(golds, Sequence):
        raise TypeError(
            f"golds must be a sequence of str such as a list, got {type(golds).__name__}: "
            f"{golds!r}; wrap a single gold answer as [gold]"
        )
    if len(golds) == 0:
        raise ValueError(f"golds is empty ({golds!r}): give at least one gold answer")
    for gold in golds:
        if not isinstance(gold, str):
            raise TypeError(f"every gold must be a str, got {type(gold).__name__}: {gold!r}")


class MatchJudge:
    """Rule-based judge: normalised token matching with hedge and negation checks.

    See the module docstring for the rules and their limits.
    """

    takes_question = True
    """:func:`label_all` passes it each question (``question=``)."""

    def __call__(self, answer: str, golds: Sequence[str], *, question: str | None = None) -> bool:
        """Return True when ``answer`` names one of ``golds`` without hedging or negating.

        Parameters
        ----------
        answer : str
            The model's free-text answer.
        golds : sequence of str
            Gold aliases; at least one, each with letters or digits.
        question : str, optional
            The question asked: a gold alias it contains must occur in the answer
            outside what the answer repeats from the question (rule 6).

        Returns
        -------
        bool
        """
        _check_inputs(answer, golds)
        # two readings of "'s": a possessive ("China's" -> china) or part of a name
        # ("McDonald's" -> mcdonalds, as in a gold "McDonalds"); either may match
        for possessive in (True, False):
            gold_runs = [
                run
                for run in (_tokens(g, keep_slash=True, possessive=possessive) for g in golds)
                if run
            ]
            if not gold_runs:
                raise ValueError(
                    f"no gold answer in {list(golds)!r} has letters or digits: "
                    "give at least one gold answer with letters or digits"
                )
            tokens = _tokens(answer, keep_slash=True, possessive=possessive)
            asked = _tokens(question, keep_slash=True, possessive=possessive) if question else []
            if _matches(tokens, gold_runs, asked):
                return True
        return False


def _occurs(run: list[str], tokens: list[str]) -> bool:
    """``run`` occurs in ``tokens`` as a whole-token run."""
    return any(tokens[i : i + len(run)] == run for i in range(len(tokens) - len(run) + 1))


def _echo(tokens: list[str], start: int, end: int, asked: list[str]) -> bool:
    """``tokens[start:end]`` (which ``asked`` also has) opens a longer answer, or sits
    inside a run of ``tokens`` that ``asked`` also has and that adds two or more tokens
    around it: the answer repeats the question there."""
    if not asked or not _occurs(tokens[start:end], asked):
        return False
    if start == 0 and end < len(tokens) and "or" not in asked:  # the subject, repeated
        return True  # (a choice question, "X or Y?", is answered by naming X first)
    a, b = start, end
    while a > 0 and _occurs(tokens[a - 1 : b], asked):
        a -= 1
    while b < len(tokens) and _occurs(tokens[a : b + 1], asked):
        b += 1
    return (b - a) - (end - start) >= 2


def _matches(tokens: list[str], gold_runs: list[list[str]], asked: list[str]) -> bool:
    """A gold run occurs in ``tokens``, not negated just before, with no hedge around, and
    not as an echo of the question's tokens ``asked``."""
    for run in gold_runs:
        for start in range(len(tokens) - len(run) + 1):
            end = start + len(run)
            if not all(_same(a, g) for a, g in zip(tokens[start:end], run, strict=True)):
                continue
            if _echo(tokens, start, end, asked):
                continue
            if start and tokens[start - 1] in _NEGATIONS:
                continue
            if _HEDGES.intersection(tokens[:start] + tokens[end:]):
                continue
            return True
    return False


def label(answer: str, golds: Sequence[str], *, question: str | None = None) -> bool:
    """Return ``MatchJudge()(answer, golds)``: whether ``answer`` matches a gold alias.

    Parameters
    ----------
    answer : str
        The model's free-text answer.
    golds : sequence of str
        Gold aliases (at least one).
    question : str, optional
        The question asked (rule 6: an echo of it is not a hit).

    Returns
    -------
    bool

    Raises
    ------
    TypeError
        If ``answer`` is not a str or ``golds`` is not a sequence of str.
    ValueError
        If ``golds`` is empty or none of its entries has letters or digits.
    """
    return MatchJudge()(answer, golds, question=question)


def label_all(
    answers: Sequence[str],
    golds_list: Sequence[Sequence[str]],
    *,
    judge: Judge | None = None,
    questions: Sequence[str] | None = None,
) -> np.ndarray:
    """Label many answers at once.

    Parameters
    ----------
    answers : sequence of str
        One answer per question.
    golds_list : sequence of sequence of str
        The gold aliases of each question, in the same order as ``answers``.
    judge : Judge, optional
        Decides each pair; default :class:`MatchJudge`.
    questions : sequence of str, optional
        The questions, in the same order: :class:`MatchJudge` then does not count an
        echo of the question as a hit (rule 6). Judges with a true ``takes_question``
        attribute get ``question=``; others get ``(answer, golds)``.

    Returns
    -------
    numpy.ndarray
        Bool array of shape ``(len(answers),)``.

    Raises
    ------
    ValueError
        If ``answers`` and ``golds_list`` differ in length.
    """
    if isinstance(answers, str):
        raise TypeError("answers must be a sequence of str, got a single str; wrap it as [answer]")
    if len(answers) != len(golds_list):
        raise ValueError(
            f"answers has {len(answers)} items but golds_list has {len(golds_list)}: "
            "give one list of gold answers per answer"
        )
    judge = MatchJudge() if judge is None else judge
    if questions is not None and len(questions) != len(answers):
        raise ValueError(
            f"questions has {len(questions)} items but answers has {len(answers)}: give one "
            "question per answer"
        )
    if questions is not None and getattr(judge, "takes_question", False):
        verdicts = [
            judge(a, g, question=q) for a, g, q in zip(answers, golds_list, questions, strict=True)
        ]
    else:
        verdicts = [judge(a, g) for a, g in zip(answers, golds_list, strict=True)]
    return np.array([bool(v) for v in verdicts], dtype=bool)
