"""Judge long free-form answers: chat answers of a few sentences or paragraphs.

:func:`howsure.qa.judge.label` (the short-answer judge) applied to the spans of
:func:`howsure.qa.sentences.split_sentences`. Phrases are matched lower-cased, with
straight apostrophes and no Markdown emphasis. Rules of :func:`judge_long`:

1. An empty or whitespace-only answer is "wrong" ("empty answer"), not a refusal.
2. Substantive sentences are the spans that are neither code blocks nor chatter.
   Chatter makes no claim: pleasantries only ("Sure!", "Great question!", "Of course.",
   "Hello!", "I'd be happy to help.", "Here's the answer:", "Let me explain."); a
   sentence ending with ":" that introduces; for a wh-question, a sentence of only the
   question's content words ("The capital of Australia."). The last two are chatter
   only when they name no gold. No substantive sentence: "wrong" ("no answer stated").
3. Refusal: when the first substantive sentence is a refusal or an admission of not
   knowing ("I don't know", "I'm not sure", "I'm sorry, but I can't", "I cannot", "I
   do not have enough information", "I'm unable to", "there is no information", "it is
   unknown", "As an AI ...", "I couldn't find") and names no gold, and the next
   substantive sentence offers no answer, the verdict is "abstain" ("refusal"). That
   sentence offers an answer when it names a gold, or, being neither a refusal nor a
   pointer elsewhere ("You could check Wikipedia.", "My knowledge cutoff is 2021."),
   it guesses ("I think", "it might be", "probably") or names a candidate (rule 4).
   An admission that answers in the same sentence ("I'm not sure, but I think it might
   be Paris.", "I don't know, maybe Lyon.") is no refusal but a hedged answer, right
   or wrong like any other: a wrong guess is "wrong", so a guess scores the same way
   whether it is right or not.
4. The answering sentence is the first substantive sentence if it names a gold (by
   ``label(sentence, golds, question=question)``); else the second, if that names a
   gold and the first names no candidate of its own (no digit, no capitalised word but
   common sentence openers and the question's words): "I'm not sure. It might be
   Paris.", "Let me think. The answer is 42."; after a refusal (rule 3), the second
   when it offers an answer. Else it is the first, and the verdict is "wrong": a gold
   named later, after a different claim, is not the answer ("The headquarters of the
   Mormon church is in Provo. It is near Salt Lake City.", gold "Salt Lake City", is
   wrong: "gold after a different claim"; otherwise "no gold in answering sentence").
5. In the answering sentence the short judge's rules apply: hedging with "or"/
   "either", a negated gold and a question echo are misses. A hit is still "wrong"
   ("alternatives offered") when any non-code sentence offers alternatives: "but it
   could also be X", "or possibly X", "Alternatively,", "some sources say".
6. ``hedged``: the answering sentence or the first substantive one holds a hedge word
   ("I think", "I believe", "probably", "likely", "might", "maybe", "I'm not sure");
   without an alternative it leaves a right answer right.

Known limits: the rules are lexical. A gold anywhere in the answering sentence counts,
even beside a different main claim: "The Mormon church's headquarters is Brigham Young
University, located in Salt Lake City." (gold "Salt Lake City") is correct. Background
that names a candidate is taken for the answer: "Australia is a large country. Its
capital is Canberra." is wrong without the question (with it, "Australia" is the
question's word, so right). A refusal naming the gold ("I don't know if it is Paris.")
is a hedged right answer. An alternatives phrase about anything makes a hit wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from howsure.qa.items import QAItem, code_tests
from howsure.qa.judge import label, normalize_answer
from howsure.qa.sentences import Span, split_sentences

__all__ = [
    "LongJudge",
    "LongLabel",
    "LongVerdict",
    "abstained",
    "judge_long",
    "judge_long_all",
    "sentence_labels",
]

LongLabel = Literal["correct", "wrong", "abstain"]

_CHATTER = re.compile(
    r"(?:(?:that's |that is |what )?an? (?:great|good|excellent|interesting|fantastic|fair) "
    r"question|(?:great|good|excellent|interesting|fantastic|fair) question"
    r"|sure(?: thing)?|certainly|of course|absolutely|definitely|okay|ok|alright|all right"
    r"|great|gladly|no problem|hello|hi|hey|there|greetings|well|so|hmm+|ah|oh"
    r"|thanks?(?: you)?(?: for (?:asking|your question|the question))?"
    r"|(?:i'd|i would|i'm|i am)(?: be)? (?:happy|glad|delighted) to (?:help|answer|assist|explain)"
    r"|(?:happy|glad) to (?:help|answer|assist)|let me (?:help|explain|think|check|see|tell you)"
    r"|let me answer|here's|here is|(?:the|my|an|your) answer|what i (?:know|found)"
    r"|you|with|that|this|it|about|to your question|as follows)\b"
)
_LEAD = (
    r"(?:(?:sorry|unfortunately|honestly|to be honest|frankly|well|hmm+|i apologi[sz]e"
    r"|apologies|(?:i'm|i am) sorry(?: (?:for|about) (?:\w+ ){0,3}(?:confusion|misunderstanding"
    r"|loss|inconvenience|trouble))?|i'm afraid|i am afraid"
    r"|as an? (?:ai|chatbot|assistant|language model|smollm ai)(?: [^,.]{0,60})?)"
    r"[,!.;]?\s+(?:but\s+)?)*"
)
_REFUSAL = (
    r"i (?:do not|don't|dont) (?:know|have (?:\w+ ){0,3}(?:information|data|knowledge|details"
    r"|records|access|answer|context))"
    r"|i(?:'m| am) (?:not (?:sure|certain|aware|able to|familiar)|unsure|unable to|uncertain)"
    r"|i (?:cannot|can't|can not|cant|could not|couldn't|was unable to|wasn't able to)\b"
    r"|i have no (?:\w+ ){0,2}(?:information|idea|knowledge|data|records?|way)"
    r"|there (?:is|are|was|were) no (?:\w+ ){0,3}(?:information|data|records?|answer|evidence)"
    r"|(?:it is|it's) (?:unknown|unclear|not known|not clear|impossible to)"
    r"|as an ai\b|no one knows|nobody knows"
    r"|i (?:do not|don't|dont) have the (?:\w+ ){0,2}(?:capability|ability|capacity|means)"
    r"|i(?:'m| am) not (?:equipped|designed|programmed) to"
    r"|(?:[\w' ]{0,40}) (?:is|are|was) not (?:specified|available|provided|given|mentioned)\b"
)
_REFUSAL_AT_START = re.compile(_LEAD + "(?:" + _REFUSAL + ")")
_BUT = re.compile(r"\b(?:but|however|though)\b")
_NON_ANSWER = re.compile(
    r"\b(?:check|consult|search|look (?:it )?up|refer to|recommend|suggest|visit|contact"
    r"|knowledge cut-?off|training data|real[- ]time|up-to-date|as of my)\b"
)
_GUESS = re.compile(
    r"\b(?:i think|i believe|i guess|i suspect|my (?:best )?guess|(?:it|this|that|the answer)"
    r" (?:might|may|could|would) be|probably|possibly|perhaps|maybe|likely)\b"
)
_HEDGE = re.compile(
    r"\b(?:i think|i believe|i guess|i suspect|probably|likely|possibly|perhaps|maybe|might"
    r"|may be|could be|not (?:sure|certain)|unsure|if i (?:recall|remember)|it seems"
    r"|appears to be|seems to be|(?:do not|don't) know)\b"
)
_ALTERNATIVES = re.compile(
    r"\b(?:alternatively|or (?:possibly|perhaps|maybe|it (?:could|might|may) be)"
    r"|(?:could|might|may) also be(?! (?:seen|known|called|described|found|considered|used"
    r"|named|referred|spelled|spelt|written|thought|viewed|regarded|reached|visited)\b)"
    r"|but (?:it |this |that )?(?:could|might|may) (?:also )?be"
    r"|another (?:possibility|option|candidate|possible answer)"
    r"|other (?:possibilities|candidates)"
    r"|some (?:sources|people|historians|scholars|accounts) (?:say|claim|believe|argue|suggest)"
    r"|others (?:say|claim|believe|argue|suggest))\b"
)
_WORD = re.compile(r"\w+(?:['’]\w+)*")
_FIRST_LETTERS = re.compile(r"[^\W\d_]+")
_NOT_CANDIDATES = frozenset(
    """the a an it its he she they we i you this that these those there here his her their
    our my in on at for from however but and so also yet thus therefore today after before
    during when while as if although though since because many most some all each both
    such what which who other another ai sure yes no well unfortunately sorry let hello hi
    okay ok certainly of course great good note answer according based maybe perhaps
    probably hmm""".split()
)
_STOP = frozenset(
    """the a an is are was were be been of in on at to for by with from what which who whom
    whose where when why how do does did that this these those it its and you your i me my
    we asked ask asking question about regarding let s name tell can could would please
    called known as""".split()
)
_AUX = frozenset(
    "is are was were do does did can could will would should has have had may might must"
    " shall".split()
)


@dataclass(frozen=True)
class LongVerdict:
    """The judgement of one long answer.

    Attributes
    ----------
    label : {"correct", "wrong", "abstain"}
    sentence : Span or None
        The answering sentence (the one labelled); None for an abstention, an empty
        answer or one that states no answer.
    index : int or None
        Its index in ``split_sentences(answer)``; None when ``sentence`` is.
    hedged : bool
        A hedge word in the answering sentence or the first substantive one (rule 6).
    reason : str
        One of "gold in answering sentence", "no gold in answering sentence", "gold after
        a different claim", "alternatives offered", "refusal", "empty answer", "no answer
        stated".
    """

    label: LongLabel
    sentence: Span | None
    index: int | None
    hedged: bool
    reason: str

    @property
    def correct(self) -> bool | None:
        """True for "correct", False for "wrong", None for "abstain"."""
        return None if self.label == "abstain" else self.label == "correct"


def _flat(text: str) -> str:
    """Lower-cased text with straight apostrophes and no Markdown emphasis."""
    text = text.casefold().replace("’", "'").replace("‘", "'")
    return " ".join(re.sub(r"[*_#>`]+", " ", text).split())


def _asked(question: str | None) -> tuple[frozenset[str], bool]:
    """The question's normalised tokens, and whether it is a wh-question (neither yes/no
    nor a choice "X or Y?"), where a sentence of only its words is chatter."""
    tokens = normalize_answer(question).split() if question else []
    return frozenset(tokens), bool(tokens) and tokens[0] not in _AUX and "or" not in tokens


def _is_chatter(span: Span, hit: bool, asked: tuple[frozenset[str], bool]) -> bool:
    """A code block, or a sentence that makes no claim (rule 2)."""
    if span.kind == "code":
        return True
    text, rest = span.text, _flat(span.text)
    while (m := _CHATTER.match(rest)) is not None:
        rest = re.sub(r"^\W+", "", rest[m.end() :])
    if not re.search(r"\w", rest):
        return True
    if hit:
        return False
    if re.search(r":\W*$", text):
        return True
    return asked[1] and set(normalize_answer(text).split()) - _STOP <= asked[0]


def _is_refusal(text: str) -> bool:
    """A refusal or admission of not knowing that does not go on to answer (rule 3)."""
    flat = _flat(text)
    m = _REFUSAL_AT_START.match(flat)
    if m is None:
        return False
    rest = flat[m.end() :]
    if _GUESS.search(rest):
        return False
    but = _BUT.search(rest)
    if but is not None:
        clause = rest[but.end() :]
        refused = re.search(_REFUSAL, clause) or _NON_ANSWER.search(clause)
        if re.search(r"\w", clause) and not refused:
            return False
    return True


def _names_candidate(text: str, asked: frozenset[str]) -> bool:
    """A digit, or a capitalised word that is neither a common opener nor the question's."""
    for word in _WORD.findall(text):
        letters = _FIRST_LETTERS.match(word)
        capital = letters is not None and word[0].isupper()
        if not (capital or any(ch.isdigit() for ch in word)):
            continue
        if capital and letters.group().casefold() in _NOT_CANDIDATES:
            continue
        if not set(normalize_answer(word).split()) <= asked:
            return True
    return False


def _offers_answer(text: str, asked: frozenset[str]) -> bool:
    """After a refusal: a guess or a candidate, not another refusal or a pointer elsewhere."""
    flat = _flat(text)
    if _is_refusal(text) or _NON_ANSWER.search(flat):
        return False
    return bool(_GUESS.search(flat)) or _names_candidate(text, asked)


def _analyse(
    answer: str, golds: Sequence[str], question: str | None
) -> tuple[tuple[Span, ...], list[bool], LongVerdict]:
    """Spans, whether each names a gold, and the verdict."""
    if not isinstance(answer, str):
        raise TypeError(f"answer must be a str, got {type(answer).__name__}: {answer!r}")
    if question is not None and not isinstance(question, str):
        raise TypeError(
            f"question must be a str or None, got {type(question).__name__}: {question!r}"
        )
    label("", golds)  # checks golds: a sequence of str, one at least with letters or digits
    spans = split_sentences(answer)
    if not spans:
        return spans, [], LongVerdict("wrong", None, None, False, "empty answer")
    hits = [s.kind != "code" and label(s.text, golds, question=question) for s in spans]
    asked = _asked(question)
    chosen = [i for i, s in enumerate(spans) if not _is_chatter(s, hits[i], asked)]
    if not chosen:
        return spans, hits, LongVerdict("wrong", None, None, False, "no answer stated")
    first, second = chosen[0], (chosen[1] if len(chosen) > 1 else None)
    answering = first
    if not hits[first] and _is_refusal(spans[first].text):
        if second is None or not (hits[second] or _offers_answer(spans[second].text, asked[0])):
            return spans, hits, LongVerdict("abstain", None, None, False, "refusal")
        answering = second
    elif not hits[first] and second is not None and hits[second]:
        answering = first if _names_candidate(spans[first].text, asked[0]) else second
    span = spans[answering]
    hedged = any(_HEDGE.search(_flat(spans[i].text)) for i in (first, answering))
    if not hits[answering]:
        later = any(hits[i] for i in chosen if i > answering)
        kind = "wrong"
        reason = "gold after a different claim" if later else "no gold in answering sentence"
    elif any(s.kind != "code" and _ALTERNATIVES.search(_flat(s.text)) for s in spans):
        kind, reason = "wrong", "alternatives offered"
    else:
        kind, reason = "correct", "gold in answering sentence"
    return spans, hits, LongVerdict(kind, span, answering, hedged, reason)


def judge_long(answer: str, golds: Sequence[str], *, question: str | None = None) -> LongVerdict:
    """Judge a long free-form answer against the gold aliases (module rules 1-6).

    Parameters
    ----------
    answer : str
        The model's whole answer: one or more sentences, list items, code blocks.
    golds : sequence of str
        Gold aliases; at least one, each with letters or digits.
    question : str, optional
        The question asked: an echo of it is not a hit and, for a wh-question, a
        sentence that only repeats it is chatter; its words are not candidates (rule 4).

    Returns
    -------
    LongVerdict

    Raises
    ------
    TypeError
        If ``answer`` is not a str, ``question`` not a str or None, or ``golds`` not a
        sequence of str.
    ValueError
        If ``golds`` is empty or none of its entries has letters or digits.

    Examples
    --------
    >>> judge_long("Sure! The chemical symbol for gold is Au.", ["Au"]).index
    1
    """
    return _analyse(answer, golds, question)[2]


def judge_long_all(
    answers: Sequence[str],
    golds: Sequence[Sequence[str]],
    *,
    questions: Sequence[str] | None = None,
) -> list[LongVerdict]:
    """Judge many long answers: ``judge_long`` of each.

    Parameters
    ----------
    answers : sequence of str
        Shape ``(n,)``: one answer per question.
    golds : sequence of sequence of str
        Shape ``(n,)``: the gold aliases of each answer.
    questions : sequence of str, optional
        Shape ``(n,)``: the questions, in the same order.

    Returns
    -------
    list of LongVerdict
        Length ``n``.

    Raises
    ------
    TypeError, ValueError
        As :func:`judge_long`; ``ValueError`` too if the lengths differ.
    """
    for name, seq in (("answers", answers), ("questions", questions)):
        if isinstance(seq, str):
            raise TypeError(f"{name} must be a sequence of str, got a single str; wrap it as [...]")
    if len(answers) != len(golds):
        raise ValueError(
            f"answers has {len(answers)} items but golds has {len(golds)}: give one list of "
            "gold answers per answer"
        )
    if questions is not None and len(questions) != len(answers):
        raise ValueError(
            f"questions has {len(questions)} items but answers has {len(answers)}: give one "
            "question per answer"
        )
    asked = [None] * len(answers) if questions is None else list(questions)
    return [judge_long(a, g, question=q) for a, g, q in zip(answers, golds, asked, strict=True)]


def sentence_labels(
    answer: str, golds: Sequence[str], *, question: str | None = None
) -> list[bool | None]:
    """Per-sentence labels: what a sentence-level probe is trained and scored on.

    Only sentences that state an answer get a label: the answering sentence gets its
    verdict, and, after a correct answering sentence, each later sentence that itself
    names a gold gets True. All other sentences (chatter, refusals, background, code, and
    everything but the answering sentence of a wrong answer) get None.

    Parameters
    ----------
    answer : str
        The model's whole answer.
    golds : sequence of str
        Gold aliases (at least one).
    question : str, optional
        The question asked (see :func:`judge_long`).

    Returns
    -------
    list of (bool or None)
        One entry per span of ``split_sentences(answer)``; all None for an abstention,
        empty for an empty answer.

    Raises
    ------
    TypeError, ValueError
        As :func:`judge_long`.
    """
    spans, hits, verdict = _analyse(answer, golds, question)
    out: list[bool | None] = [None] * len(spans)
    if verdict.index is None:
        return out
    out[verdict.index] = verdict.label == "correct"
    if verdict.label == "correct":
        for i in range(verdict.index + 1, len(spans)):
            if hits[i]:
                out[i] = True
    return out


class LongJudge:
    """The long-answer judge as a :class:`~howsure.qa.judge.Judge`: True when
    :func:`judge_long` says ``"correct"``.

    A refusal (``"abstain"``) is False here, as a wrong answer is: collections label
    each answer right or not. :func:`judge_long` tells abstentions apart.
    """

    takes_question = True
    """:func:`~howsure.qa.judge.label_all` passes it each question (``question=``)."""

    def __call__(self, answer: str, golds: Sequence[str], *, question: str | None = None) -> bool:
        """Return True when the long answer states a gold (module rules 1-6)."""
        return judge_long(answer, golds, question=question).label == "correct"


def abstained(answers: Sequence[str], items: Sequence[QAItem]) -> np.ndarray:
    """Where the long-answer judge calls an answer a refusal.

    Parameters
    ----------
    answers : sequence of str
        Shape ``(n,)``.
    items : sequence of QAItem
        Shape ``(n,)``: each answer's question (its text and gold answers).

    Returns
    -------
    numpy.ndarray of bool, shape (n,)
        True for ``"abstain"`` (:func:`judge_long`); False for every code task.
    """
    if len(answers) != len(items):
        raise ValueError(f"{len(answers)} answers for {len(items)} items; give one answer each")
    # a code task is never a refusal: its tests decide (an answer with no code fails them)
    out = np.zeros(len(items), dtype=bool)
    asked = [i for i, it in enumerate(items) if code_tests(it) is None]
    verdicts = judge_long_all(
        [answers[i] for i in asked],
        [items[i].answers for i in asked],
        questions=[items[i].question for i in asked],
    )
    out[asked] = [v.label == "abstain" for v in verdicts]
    return out
