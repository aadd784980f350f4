"""Code answers judged by their tests: extract the code, run it in the sandbox.

A code task (:func:`howsure.qa.items.code_tests`) is right when the code its answer gives
(:func:`~howsure.coding.extract.extract_code`) passes the task's tests in the sandbox
(:mod:`howsure.coding.sandbox`); every run's outcome (passed, failed, error, timeout,
refused) and reason is kept. Questions with gold answers go to the text judge, so one
call labels a mixture of both.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from howsure.coding.extract import extract_code
from howsure.coding.sandbox import Limits, RunResult, run_many, run_tests
from howsure.qa.items import QAItem, code_tests
from howsure.qa.judge import Judge, label_all

__all__ = ["CodeJudge", "label_items", "run_answers"]


class CodeJudge:
    """A :class:`~howsure.qa.judge.Judge` for one code answer: True when its code passes
    the tests its gold holds (one sandboxed run; :func:`run_answers` runs many in
    parallel).

    Parameters
    ----------
    limits : Limits, optional
        The sandbox's limits (default :class:`~howsure.coding.sandbox.Limits`).
    """

    def __init__(self, *, limits: Limits | None = None) -> None:
        self.limits = limits

    def __call__(self, answer: str, golds: Sequence[str]) -> bool:
        parsed = code_tests(golds)
        if parsed is None:
            raise ValueError(
                "CodeJudge judges code tasks (golds that hold tests); this question has gold "
                "answers: use MatchJudge or LongJudge"
            )
        tests, entry = parsed
        return run_tests(extract_code(answer, entry_point=entry), tests, limits=self.limits).passed


def run_answers(
    answers: Sequence[str],
    items: Sequence[QAItem],
    *,
    limits: Limits | None = None,
    progress: bool = True,
) -> list[RunResult]:
    """Run each code answer against its task's tests, in parallel.

    Parameters
    ----------
    answers : sequence of str
        Shape ``(n,)``.
    items : sequence of QAItem
        Shape ``(n,)``: code tasks only.
    limits : Limits, optional
    progress : bool, default True

    Returns
    -------
    list of RunResult
        Length ``n``.

    Raises
    ------
    ValueError
        Lengths differ, or an item is not a code task (named).
    """
    if len(answers) != len(items):
        raise ValueError(f"{len(answers)} answers for {len(items)} code tasks; give one each")
    jobs = []
    for answer, item in zip(answers, items, strict=True):
        parsed = code_tests(item)
        if parsed is None:
            raise ValueError(f"item {item.describe()} is not a code task (it has no tests)")
        tests, entry = parsed
        jobs.append((extract_code(answer, entry_point=entry), tests))
    return run_many(jobs, limits=limits, progress=progress, desc="running code answers")


def label_items(
    answers: Sequence[str],
    items: Sequence[QAItem],
    *,
    judge: Judge | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, list[str] | None]:
    """Label a mixture of questions and code tasks.

    Parameters
    ----------
    answers : sequence of str
        Shape ``(n,)``.
    items : sequence of QAItem
        Shape ``(n,)``.
    judge : Judge, optional
        For the questions with gold answers (:func:`~howsure.qa.judge.label_all`).
    progress : bool, default True

    Returns
    -------
    labels : numpy.ndarray of bool, shape (n,)
    outcomes : list of str or None
        Shape ``(n,)``: each code task's run, ``"<outcome>: <reason>"``, ``""`` for a
        question; ``None`` when no item is a code task.
    """
    code = [code_tests(it) is not None for it in items]
    qa_idx = [i for i, c in enumerate(code) if not c]
    labels = np.zeros(len(items), dtype=bool)
    if qa_idx:
        labels[qa_idx] = label_all(
            [answers[i] for i in qa_idx],
            [items[i].answers for i in qa_idx],
            judge=judge,
            questions=[items[i].question for i in qa_idx],
        )
    if not any(code):
        return labels, None
    code_idx = [i for i, c in enumerate(code) if c]
    runs = run_answers(
        [answers[i] for i in code_idx], [items[i] for i in code_idx], progress=progress
    )
    outcomes = [""] * len(items)
    for i, run in zip(code_idx, runs, strict=True):
        labels[i] = run.passed
        outcomes[i] = f"{run.outcome}: {run.reason}"
    return labels, outcomes
