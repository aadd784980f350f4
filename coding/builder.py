"""The generator of the shipped code tasks (build time; the package ships its output).

::

    python -m howsure.coding.builder            # writes coding/data/code_tasks.jsonl
                                                # and coding/data/humaneval.jsonl

Every :class:`~howsure.coding.spec.Spec` of :mod:`howsure.coding.specs` (one module per
family) becomes

* **write tasks**: the request in :data:`WRITE_PHRASINGS` (two per function, chosen by a
  seeded hash), with hidden tests: one ``assert`` per case, the expected value computed
  from the reference solution;
* **debugging tasks**, the seed's own case: each buggy version with the error or wrong
  output it gives, asked as a user asks it (:data:`DEBUG_PHRASINGS`); the answer is
  right when the fixed function it gives passes the tests.

A function's tasks (every phrasing, its bugs) share one split, drawn from a hash of its
family and name, so no function is both trained on and tested. Every reference solution
is run against its tests in the sandbox and every bug must fail them: a task that does
not hold is refused with its id. Deterministic: the same seed gives the same file.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from howsure.coding.sandbox import Limits, RunResult, run_many
from howsure.coding.spec import Spec
from howsure.qa.items import assign_split

__all__ = [
    "DEBUG_PHRASINGS",
    "WRITE_PHRASINGS",
    "build_tasks",
    "check_references",
    "humaneval_rows",
    "main",
    "spec_tests",
]

WRITE_PHRASINGS: tuple[str, ...] = (
    "Write a Python function `{sig}` that {does}.",
    "I need a Python function `{sig}`. It {does}. Can you write it?",
    "How do I write a function `{sig}` in Python that {does}?",
    "Implement `{sig}` in Python: it {does}. For example, `{call}` should return `{result}`.",
    "Please write a python function named {entry} with parameters {params}; it {does}.",
)
"""Requests for a function, as users write them (``{does}`` is the spec's clause)."""

DEBUG_PHRASINGS: tuple[str, ...] = (
    "Why doesn't my code work?\n\n```python\n{bug}```\n\n{symptom}",
    "{symptom}\n\n```python\n{bug}```\n\nWhy doesn't my code work? It should {does_inf}.",
    "My function `{entry}` is supposed to {does_inf}, but it doesn't work:\n\n"
    "```python\n{bug}```\n\n{symptom} What's wrong?",
)
"""Debugging questions (``{symptom}``: the error or wrong output the bug gives)."""

PER_SPEC = 2
"""Write phrasings per function."""
DEBUG_PER_BUG = 2
"""Phrasings per buggy version."""
BUILD_LIMITS = Limits(timeout_s=10.0, cpu_s=10, memory_mb=1024)


def _call(entry: str, args: Sequence) -> str:
    return f"{entry}({', '.join(repr(a) for a in args)})"


def _reference_values(spec: Spec) -> list:
    """The reference's output for each case: our own build-time code, run here."""
    namespace: dict = {}
    exec(compile(spec.reference, f"<reference {spec.entry}>", "exec"), namespace)
    return [namespace[spec.entry](*args) for args in spec.cases]


def spec_tests(spec: Spec) -> str:
    """The hidden tests of a spec: one ``assert`` per case, naming the call on failure.

    Returns
    -------
    str
        Python source, e.g. ``assert (_got := add(1, 2)) == 3, 'add(1, 2) returned %r,
        expected 3' % (_got,)``.
    """
    lines = []
    for args, want in zip(spec.cases, _reference_values(spec), strict=True):
        call = _call(spec.entry, args)
        text = f"{call.replace('%', '%%')} returned %r, expected {repr(want).replace('%', '%%')}"
        lines.append(f"assert (_got := {call}) == {want!r}, {text!r} % (_got,)")
    return "\n".join(lines) + "\n"


def _pick(key: str, options: Sequence[int], k: int) -> list[int]:
    ranked = sorted(options, key=lambda i: hashlib.sha256(f"{key}/{i}".encode()).digest())
    return sorted(ranked[:k])


def _infinitive(does: str) -> str:
    head, _, rest = does.partition(" ")
    verb = {"returns": "return", "checks": "check", "computes": "compute", "gives": "give"}
    return f"{verb.get(head, head)} {rest}".strip()


def _symptom(spec: Spec, bug: str, runs: Sequence[RunResult]) -> str:
    """What the user saw: the SyntaxError, or the first case's wrong output or error."""
    try:
        compile(bug, "<bug>", "exec")  # compiled, not run
    except SyntaxError as err:
        return f"I get `SyntaxError: {err.msg}` (line {err.lineno})."
    for args, run in zip(spec.cases, runs, strict=True):
        if run.passed:
            continue
        call = _call(spec.entry, args)
        if " returned " in run.reason and ", expected " in run.reason:
            got = run.reason.split(" returned ", 1)[1].split(", expected ", 1)[0]
            want = run.reason.split(", expected ", 1)[1].split(" (line", 1)[0]
            return f"`{call}` gives `{got}` but it should be `{want}`."
        return f"`{call}` raises `{run.reason.split(' (line', 1)[0]}`."
    raise ValueError(f"code task {spec.entry!r}: a bug passes every case; make it fail one")


def build_tasks(specs: Sequence[Spec], *, seed: int = 0, progress: bool = True) -> list[dict]:
    """The write and debugging task rows of ``specs``, each checked in the sandbox.

    Parameters
    ----------
    specs : sequence of Spec
    seed : int, default 0
        Picks the phrasings; the same seed gives the same rows.
    progress : bool, default True

    Returns
    -------
    list of dict
        Rows of the code-task schema (:mod:`howsure.qa.items`): ``id``, ``question``,
        ``tests``, ``entry_point``, ``reference``, ``topic`` (the family, or
        ``"debugging"``), ``difficulty`` (``"write"`` or ``"debug"``), ``split``,
        ``source`` (``"code"``).

    Raises
    ------
    ValueError
        Duplicate function names, a reference that fails its own tests, or a bug that
        passes them, naming the task.
    """
    names = [s.entry for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"code task specs: duplicate function names {dupes}; rename them")
    rows: list[dict] = []
    bug_jobs: list[tuple[Spec, str, list[tuple[str, str]]]] = []
    for spec in specs:
        tests = spec_tests(spec)
        split = assign_split(f"{spec.family}/{spec.entry}")
        fields = {
            "sig": f"{spec.entry}({spec.params})",
            "entry": spec.entry,
            "params": ", ".join(f"`{p.strip()}`" for p in spec.params.split(",")),
            "does": spec.does,
            "call": _call(spec.entry, spec.cases[0]),
            "result": repr(_reference_values(spec)[0]),
        }
        for k in _pick(f"{seed}/{spec.entry}", range(len(WRITE_PHRASINGS)), PER_SPEC):
            rows.append(
                {
                    "id": f"code-{spec.family}-{spec.entry}-w{k}",
                    "question": WRITE_PHRASINGS[k].format(**fields),
                    "tests": tests,
                    "entry_point": spec.entry,
                    "reference": spec.reference,
                    "topic": spec.family,
                    "difficulty": "write",
                    "split": split,
                    "source": "code",
                }
            )
        for b, bug in enumerate(spec.bugs):
            # one run per case (one assert line each): the symptom names the first failing call
            bug_jobs.append((spec, bug, [(bug, line + "\n") for line in tests.splitlines()]))
            for k in _pick(f"{seed}/{spec.entry}/bug{b}", range(len(DEBUG_PHRASINGS)), 2):
                rows.append(
                    {
                        "id": f"code-debug-{spec.entry}-b{b}p{k}",
                        "question": "",  # the symptom is filled in below
                        "phrasing": k,
                        "bug": bug,
                        "tests": tests,
                        "entry_point": spec.entry,
                        "reference": spec.reference,
                        "topic": "debugging",
                        "difficulty": "debug",
                        "split": split,
                        "source": "code",
                    }
                )
    flat = [job for _, _, jobs in bug_jobs for job in jobs]
    results = iter(run_many(flat, limits=BUILD_LIMITS, progress=progress, desc="bugs"))
    symptoms = {}
    for spec, bug, jobs in bug_jobs:
        runs = [next(results) for _ in jobs]
        symptoms[bug] = (spec, _symptom(spec, bug, runs))
    for row in rows:
        if "bug" in row:
            spec, symptom = symptoms[row["bug"]]
            bug = row.pop("bug")
            row["question"] = DEBUG_PHRASINGS[row.pop("phrasing")].format(
                bug=bug if bug.endswith("\n") else bug + "\n",
                symptom=symptom,
                does_inf=_infinitive(spec.does),
                entry=spec.entry,
            )
    check_references(rows, progress=progress)
    return rows


def check_references(rows: Sequence[dict], *, progress: bool = True) -> None:
    """Run every row's ``reference`` against its ``tests`` in the sandbox.

    Raises
    ------
    ValueError
        A row without tests, or whose reference fails its own tests (naming the rows
        and the sandbox's reason).
    """
    missing = [str(r.get("id")) for r in rows if not str(r.get("tests") or "").strip()]
    if missing:
        raise ValueError(f"code tasks without tests: {missing[:8]}; give each one 'tests'")
    checked = [r for r in rows if r.get("reference")]
    jobs = [(r["reference"], r["tests"]) for r in checked]
    runs = run_many(jobs, limits=BUILD_LIMITS, progress=progress, desc="reference solutions")
    bad = [
        f"{r['id']}: {run.outcome}, {run.reason}"
        for r, run in zip(checked, runs, strict=True)
        if not run.passed
    ]
    if bad:
        raise ValueError(
            f"{len(bad)} code tasks' reference solutions fail their own tests "
            f"({'; '.join(bad[:5])}); fix the reference or the tests"
        )


def humaneval_rows(path: str | Path) -> list[dict]:
    """OpenAI's HumanEval (``HumanEval.jsonl.gz``) as code-task rows.

    Each problem is asked as "Complete this Python function:" and its signature and
    docstring in a fence; its tests are HumanEval's ``check`` called on the entry point;
    the reference is the canonical solution; the split is drawn from a hash of the
    question.
    """
    rows = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            task = json.loads(line)
            question = f"Complete this Python function:\n\n```python\n{task['prompt'].strip()}\n```"
            rows.append(
                {
                    "id": task["task_id"],
                    "question": question,
                    "tests": f"{task['test']}\n\ncheck({task['entry_point']})\n",
                    "entry_point": task["entry_point"],
                    "reference": task["prompt"] + task["canonical_solution"],
                    "topic": "humaneval",
                    "difficulty": "write",
                    "split": assign_split(question),
                    "source": "humaneval",
                }
            )
    return rows


def _write(rows: Sequence[dict], path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Build ``code_tasks.jsonl`` and ``humaneval.jsonl`` into ``--out``."""
    from howsure.coding.specs import SPECS

    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(prog="python -m howsure.coding.builder")
    parser.add_argument("--out", type=Path, default=here / "data")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--humaneval", type=Path, default=here.parent.parent / "shared/code/HumanEval.jsonl.gz"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = build_tasks(SPECS, seed=args.seed)
    _write(rows, args.out / "code_tasks.jsonl")
    human = humaneval_rows(args.humaneval)
    check_references(human)
    _write(human, args.out / "humaneval.jsonl")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
