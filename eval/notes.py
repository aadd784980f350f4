"""Report notes: the warnings metrics give on a small or one-class set, and detectors
that rank answers no better than chance or a free baseline.

On a few dozen answers, some bootstrap resamples hold only right (or only wrong)
answers, and on a set without both classes AUROC, AUPRC and PRR are undefined: the
metric functions warn once per metric and method. :func:`small_set_notes` gathers those
expected warnings while a report is computed and says each kind once, in plain words, in
the report's notes; any other warning passes through unchanged.
:func:`weak_detector_notes` says when a detector just trained is worse than a coin or
than a baseline that costs nothing, so that it is never saved silently.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from howsure.eval.compare import BASELINES

__all__ = ["small_set_notes", "weak_detector_notes"]

_SINGLE = re.compile(
    r"(\w+) is undefined when y holds a single class \(all (\d+) labels are (\d)\)"
)
_SKIPPED = re.compile(r"bootstrap of (\w+): skipped (\d+) of (\d+) resamples")
_ALL_NAN = re.compile(r"bootstrap of (\w+): all (\d+) resamples gave nan")
_NUMERIC_HOMES = ("numpy", "sklearn", "scipy")


def _from_numeric_library(filename: str) -> bool:
    parts = Path(filename).parts
    return any(home in parts for home in _NUMERIC_HOMES)


def _listed(names: set[str]) -> str:
    return ", ".join(n.upper() for n in sorted(names))


@contextmanager
def small_set_notes(notes: list[str]) -> Iterator[None]:
    """Gather the expected small-set warnings raised inside the block into ``notes``.

    Parameters
    ----------
    notes : list of str
        Appended to (after the block): one line for metrics undefined on a single class,
        one for bootstrap resamples left out of the intervals, one for numpy / sklearn /
        scipy runtime warnings (e.g. the mean of an empty slice).

    Notes
    -----
    Any other warning raised inside the block is re-issued as it was.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    single: dict[str, tuple[int, str]] = {}
    skipped: dict[str, tuple[int, int]] = {}
    all_nan: set[str] = set()
    numeric: list[str] = []
    for w in caught:
        text = str(w.message)
        if m := _SINGLE.search(text):
            single[m.group(1)] = (int(m.group(2)), "wrong" if m.group(3) == "0" else "right")
        elif m := _SKIPPED.search(text):
            k, n = int(m.group(2)), int(m.group(3))
            skipped[m.group(1)] = (max(k, skipped.get(m.group(1), (0, n))[0]), n)
        elif m := _ALL_NAN.search(text):
            all_nan.add(m.group(1))
        elif _from_numeric_library(w.filename):
            if text not in numeric:
                numeric.append(text)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    if single:
        n, which = next(iter(single.values()))
        notes.append(
            f"Only {which} answers among the {n} scored: {_listed(set(single))} (and their "
            "intervals) are undefined and show as n/a; evaluate on rows with both right and "
            "wrong answers."
        )
    if all_nan - set(single):
        notes.append(
            f"No bootstrap resample held both right and wrong answers for "
            f"{_listed(all_nan - set(single))}: their 95% intervals show as n/a."
        )
    if skipped:
        worst = max(k for k, _ in skipped.values())
        n_boot = next(iter(skipped.values()))[1]
        notes.append(
            f"Small set: up to {worst} of {n_boot} bootstrap resamples held only right or only "
            f"wrong answers and were left out of the 95% intervals of {_listed(set(skipped))}; "
            "those intervals are rough."
        )
    if numeric:
        notes.append(
            "Some figures are undefined on this small set and show as n/a ("
            + "; ".join(numeric[:3])
            + ")."
        )


def _auroc(row: object) -> float:
    value = row.get("auroc") if isinstance(row, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return float("nan")
    return float(value)


def weak_detector_notes(
    methods: Mapping[str, Mapping],
    detectors: Mapping[str, str],
    *,
    baselines: Sequence[str] = BASELINES,
) -> list[str]:
    """One line per detector whose test AUROC is below chance (0.5) or below the best
    free baseline's AUROC on the same rows.

    Parameters
    ----------
    methods : mapping of method name to metrics
        :func:`howsure.eval.compare.compare_methods`'s result (``auroc`` and ``ci95``).
    detectors : mapping of method name to str
        The detectors' rows, each with how to name it (e.g. its saved folder).
    baselines : sequence of str, default :data:`howsure.eval.compare.BASELINES`
        The free (single-pass) baselines to beat.

    Returns
    -------
    list of str
        Empty when every detector beats both; rows whose AUROC is nan are skipped.
    """
    free = {b: _auroc(methods.get(b)) for b in baselines}
    free = {b: v for b, v in free.items() if v == v}
    best = max(free, key=free.__getitem__) if free else None
    lines = []
    for name, label in detectors.items():
        value = _auroc(methods.get(name))
        if value != value:
            continue
        ci = (methods[name].get("ci95") or {}).get("auroc")
        interval = f" (95% interval [{ci[0]:.3f}, {ci[1]:.3f}])" if ci and len(ci) == 2 else ""
        fix = "train on more rows (raise --limit) or check the dataset's labels before using it"
        if value < 0.5:
            lines.append(
                f"{label} has test AUROC {value:.3f}{interval}, below chance (0.5): it ranks "
                f"right and wrong answers worse than a coin; {fix}"
            )
        elif best is not None and value < free[best]:
            lines.append(
                f"{label} has test AUROC {value:.3f}{interval}, below the free baseline "
                f"{best} ({free[best]:.3f}) on the same test rows; {fix}"
            )
    return lines
