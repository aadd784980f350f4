"""howsure.coding: code tasks, their sandbox and their judge; knows nothing of models.

::

    from howsure.coding import run_tests, extract_code
    run_tests(extract_code(answer, entry_point="add"), "assert add(1, 2) == 3\n").passed

``sandbox``
    :func:`run_tests` / :func:`run_many`: code and its tests in a separate, limited
    process (wall-clock, CPU, memory and file limits; no network, no processes, no
    writes outside its scratch directory); every run's :class:`RunResult`.
``extract``
    :func:`extract_code`: the code in a model's answer (fenced or bare).
``judge``
    :class:`CodeJudge`, :func:`run_answers`, :func:`label_items`: code answers right
    when their tests pass; a mixture of questions and code tasks labelled in one call.
``spec`` / ``specs`` / ``builder``
    The code-task templates (8 families, one module each) and the generator of the shipped tasks
    (``coding/data/code_tasks.jsonl``: written functions and debugging tasks; and
    ``humaneval.jsonl``), every reference solution checked in the sandbox.

Load the tasks as a dataset: ``load_qa("code")`` / ``load_qa("humaneval")``.
"""

from __future__ import annotations

from howsure.core.lazy import lazy_exports

_EXPORTS = {
    "CodeJudge": "howsure.coding.judge",
    "Limits": "howsure.coding.sandbox",
    "RunResult": "howsure.coding.sandbox",
    "Spec": "howsure.coding.spec",
    "build_tasks": "howsure.coding.builder",
    "check_references": "howsure.coding.builder",
    "extract_code": "howsure.coding.extract",
    "label_items": "howsure.coding.judge",
    "run_answers": "howsure.coding.judge",
    "run_many": "howsure.coding.sandbox",
    "run_tests": "howsure.coding.sandbox",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
