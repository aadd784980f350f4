"""Collection: the model's own answers to QA items, their correctness and activations.

A :class:`Collection` is what probes train on. It is saved as a folder:

``records.jsonl``
    One row per question: id, question, gold answers, topic, difficulty, split, the
    model's answer, ``correct``, answer token count, ``truncated``, and the single-pass
    baselines ``logprob_mean``, ``logprob_min``, ``entropy_mean``.
``activations.safetensors``
    One float32 (or, collected with ``store="float16"``, float16) tensor
    ``(n, hidden_size)`` per ``"L{layer}.{position}"``.
``meta.json``
    Format version, model fingerprint, dataset, split, generation settings, accuracy.
``sentences.safetensors``, ``sentences.json``
    Only when collected with ``sentences=True``: each answer's sentences (their answer
    row, character offsets, mean token state per layer, token statistics; see
    :class:`~howsure.probes.spans.SentenceTable`) and their kinds.

Collected with ``styles``, each question is sent in one of the chat styles of
:mod:`howsure.probes.styles` (recorded per row as ``style``).

:func:`collect` keeps such folders in a disk cache keyed by model fingerprint, the
questions (which fixes the split and limit) and generation settings; an entry holds the
layers and positions read so far, so a second run asking for those (or fewer) reads
instead of recomputing, and one asking for more recomputes with the union. The key
covers the questions, not their gold answers: a corrected gold only re-labels the cached
answers (in memory, on every hit).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from howsure.coding.judge import label_items
from howsure.core.checks import check_choice
from howsure.core.files import cache_dir, staged_files
from howsure.core.version import __version__
from howsure.probes.activations import generate_and_read
from howsure.probes.distributed import all_gather_json, generate_sharded, is_main_process, setup
from howsure.probes.inputs import check_length, model_device
from howsure.probes.models import fingerprint_key, model_fingerprint
from howsure.probes.positions import (
    BASE_POSITIONS,
    COMBINED_POSITIONS,
    POSITIONS,
    Key,
    base_positions,
    combine_positions,
    resolve_layers,
    resolve_positions,
)
from howsure.probes.prompts import DEFAULT_INSTRUCTION, question_prompt, render_chat
from howsure.probes.spans import SentenceTable
from howsure.probes.styles import check_styles, styled_conversations
from howsure.qa.items import QAItem, dataset_fingerprint
from howsure.qa.judge import Judge

__all__ = [
    "FORMAT_VERSION",
    "RECORD_FIELDS",
    "Collection",
    "StoreDtype",
    "check_questions_fit",
    "collect",
    "concat",
]

FORMAT_VERSION = 1
READER_VERSION = 1  # bump when generation or reading changes what is stored
RECORD_FIELDS = (
    "answer",
    "correct",
    "n_answer_tokens",
    "truncated",
    "logprob_mean",
    "logprob_min",
    "entropy_mean",
    "style",
    "code_outcome",
)


StoreDtype = Literal["float32", "float16"]
"""Precision collected activations are kept in."""


def _tensor_name(key: Key) -> str:
    return f"L{key[0]}.{key[1]}"


def _parse_tensor_name(name: str) -> Key:
    layer, _, pos = name.partition(".")
    if not layer.startswith("L") or pos not in BASE_POSITIONS:
        raise ValueError(f"unexpected tensor {name!r} in activations file")
    return int(layer[1:]), pos


@dataclass
class Collection:
    """Questions, the model's answers, correctness labels and activations.

    Attributes
    ----------
    items : list of QAItem, length n
    answers : list of str, length n
    labels : numpy.ndarray of bool, shape (n,)
        True where the answer is correct (see :mod:`howsure.qa.judge`).
    activations : dict of (int, str) to numpy.ndarray of float32, shape (n, hidden_size)
        The positions read from the model (``BASE_POSITIONS``); combined positions
        (``mean_last_answer``) are built from them by :meth:`features`.
    extras : dict of str to numpy.ndarray, each shape (n,)
        ``n_answer_tokens``, ``truncated``, ``logprob_mean``, ``logprob_min``,
        ``entropy_mean``; ``style`` when collected with styles.
    meta : dict
        Model fingerprint, dataset, split and generation settings.
    sentences : SentenceTable, optional
        The answers' sentences and their features (collected with ``sentences=True``).
    """

    items: list[QAItem]
    answers: list[str]
    labels: np.ndarray
    activations: dict[Key, np.ndarray]
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    sentences: SentenceTable | None = None

    def __len__(self) -> int:
        return len(self.items)

    @property
    def accuracy(self) -> float:
        """Fraction of correct answers."""
        return float(np.mean(self.labels)) if len(self.labels) else float("nan")

    def topic_accuracy(self) -> dict[str, tuple[int, float]]:
        """Per topic: ``(count, accuracy)``, topics sorted by name."""
        topics = np.array([it.topic for it in self.items])
        return {
            t: (int((topics == t).sum()), float(self.labels[topics == t].mean()))
            for t in sorted(set(topics.tolist()))
        }

    def features(self, layer: int, position: str) -> np.ndarray:
        """Activation matrix ``(n, hidden_size)`` for one layer and position, float32
        (also when stored in float16).

        ``(n, k * hidden_size)`` for a combined position of ``k`` parts.
        """
        parts = COMBINED_POSITIONS.get(position, (position,))
        self._check_collected([(layer, p) for p in parts], position)
        if len(parts) == 1:
            return self.activations[(layer, position)].astype(np.float32, copy=False)
        return np.concatenate(
            [self.activations[(layer, p)] for p in parts], axis=1, dtype=np.float32
        )

    def feature_matrices(self, positions: Sequence[str] | None = None) -> dict[Key, np.ndarray]:
        """Every collected layer's matrix at each of ``positions`` (combined ones built).

        Parameters
        ----------
        positions : list of str, optional
            Default: the collected positions, plus each combined position whose parts
            were all collected.

        Returns
        -------
        dict of (int, str) to numpy.ndarray, each ``(n, d)`` or ``(n, k * d)``
        """
        have = {k[1] for k in self.activations}
        if positions is None:
            positions = [p for p in POSITIONS if set(COMBINED_POSITIONS.get(p, (p,))) <= have]
        positions = resolve_positions(positions)
        layers = sorted({k[0] for k in self.activations})
        for pos in positions:
            parts = COMBINED_POSITIONS.get(pos, (pos,))
            self._check_collected([(la, p) for la in layers for p in parts], pos)
        return combine_positions(self.activations, positions)

    def subset(self, mask: Any) -> Collection:
        """The rows where ``mask`` is True.

        Parameters
        ----------
        mask : array-like of bool, shape (n,)

        Returns
        -------
        Collection
            Items, answers, labels, activations and extras sliced to the selected rows;
            ``meta`` copied (a shallow copy).

        Raises
        ------
        ValueError
            ``mask`` is not a boolean array of shape (n,).
        """
        m = np.asarray(mask)
        if m.dtype != bool or m.shape != (len(self),):
            raise ValueError(
                f"mask must be a boolean array of shape ({len(self)},); "
                f"got dtype {m.dtype}, shape {m.shape}"
            )
        idx = np.flatnonzero(m)
        return Collection(
            items=[self.items[i] for i in idx],
            answers=[self.answers[i] for i in idx],
            labels=np.asarray(self.labels)[idx],
            activations={k: v[idx] for k, v in self.activations.items()},
            extras={k: np.asarray(v)[idx] for k, v in self.extras.items()},
            meta=dict(self.meta),
            sentences=None if self.sentences is None else self.sentences.take(idx),
        )

    def _check_collected(self, keys: Sequence[Key], position: str) -> None:
        missing = [k for k in keys if k not in self.activations]
        if missing:
            layer, part = missing[0]
            what = f"position {position!r}" + (f" (its part {part!r})" if part != position else "")
            raise ValueError(
                f"no activations for layer {layer}, {what}; collected: {sorted(self.activations)}"
            )

    def records(self) -> list[dict]:
        """One JSON-ready dict per question (item fields plus the model's answer)."""
        rows = []
        for i, it in enumerate(self.items):
            row = it.to_dict()
            row["answer"] = self.answers[i]
            row["correct"] = bool(self.labels[i])
            for name, values in self.extras.items():
                v = values[i]
                row[name] = v.item() if hasattr(v, "item") else v
            rows.append(row)
        return rows

    def save(self, folder: str | Path) -> Path:
        """Write the collection to ``folder`` (created; files replaced atomically)."""
        from safetensors.numpy import save_file

        folder = Path(folder)
        with staged_files(folder) as tmp:
            with (tmp / "records.jsonl").open("w", encoding="utf-8") as fh:
                for row in self.records():
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            tensors = {
                _tensor_name(k): np.ascontiguousarray(v) for k, v in self.activations.items()
            }
            save_file(tensors, str(tmp / "activations.safetensors"))
            if self.sentences is not None:
                save_file(self.sentences.tensors(), str(tmp / "sentences.safetensors"))
                kinds = {"kind": self.sentences.kind.tolist()}
                (tmp / "sentences.json").write_text(json.dumps(kinds), encoding="utf-8")
            meta = dict(self.meta, format_version=FORMAT_VERSION, n=len(self))
            meta["accuracy"] = self.accuracy
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> Collection:
        """Read a folder written by :meth:`save`; clear errors for missing or bad files."""
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        folder = Path(folder)
        paths = {n: folder / n for n in ("records.jsonl", "activations.safetensors", "meta.json")}
        missing = [n for n, p in paths.items() if not p.is_file()]
        if missing:
            raise ValueError(f"{folder} is not a howsure collection: missing {missing}")
        try:
            meta = json.loads(paths["meta.json"].read_text(encoding="utf-8"))
            rows = [
                json.loads(line)
                for line in paths["records.jsonl"].read_text(encoding="utf-8").splitlines()
                if line.strip()
            ]
            tensors = load_file(str(paths["activations.safetensors"]))
            sentences = None
            if (folder / "sentences.safetensors").is_file():
                kinds = json.loads((folder / "sentences.json").read_text(encoding="utf-8"))
                sentences = SentenceTable.from_tensors(
                    load_file(str(folder / "sentences.safetensors")), kinds["kind"]
                )
        except (json.JSONDecodeError, SafetensorError, OSError, KeyError, ValueError) as err:
            raise ValueError(f"corrupt collection in {folder}: {err}; collect it again") from err
        if meta.get("format_version", 0) > FORMAT_VERSION:
            raise ValueError(
                f"{folder} has collection format {meta.get('format_version')}, newer than this "
                f"howsure ({FORMAT_VERSION}); upgrade howsure"
            )
        activations = {_parse_tensor_name(k): v for k, v in tensors.items()}
        for key, value in activations.items():
            if value.shape[0] != len(rows):
                raise ValueError(
                    f"corrupt collection in {folder}: {_tensor_name(key)} has {value.shape[0]} "
                    f"rows but records.jsonl has {len(rows)}; collect it again"
                )
        item_keys = ("id", "question", "answers", "topic", "difficulty", "split")
        items = [
            QAItem(
                **{k: tuple(r[k]) if k == "answers" else r[k] for k in item_keys},
                source=r.get("source"),
            )
            for r in rows
        ]
        extras = {
            name: np.asarray([r[name] for r in rows])
            for name in RECORD_FIELDS[2:]
            if rows and name in rows[0]
        }
        return cls(
            items=items,
            answers=[r["answer"] for r in rows],
            labels=np.asarray([r["correct"] for r in rows], dtype=bool),
            activations=activations,
            extras=extras,
            meta=meta,
            sentences=sentences,
        )


def check_questions_fit(
    model: Any,
    tokenizer: Any,
    items: Sequence[QAItem],
    *,
    instruction: str = DEFAULT_INSTRUCTION,
    max_new_tokens: int = 32,
) -> None:
    """Refuse questions whose prompt with ``max_new_tokens`` new tokens does not fit the
    model's context window, naming each by its id and dataset row; nothing is generated.

    Raises
    ------
    ValueError
        As :func:`howsure.probes.activations.check_length`.
    """
    prompts = [question_prompt(tokenizer, it.question, instruction=instruction) for it in items]
    lengths = [len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]
    names = [f"question {it.describe()}" for it in items]
    check_length(model, tokenizer, lengths, max_new_tokens, names=names)


def collect(
    model: Any,
    tokenizer: Any,
    items: Sequence[QAItem],
    *,
    layers: int | Sequence[int] | Literal["all"] = "all",
    positions: str | Sequence[str] = POSITIONS,
    max_new_tokens: int = 32,
    batch_size: int = 16,
    instruction: str = DEFAULT_INSTRUCTION,
    judge: Judge | None = None,
    dataset: str = "unknown",
    split: str = "all",
    cache: bool = True,
    progress: bool = True,
    store: StoreDtype = "float32",
    styles: Sequence[str] | None = None,
    sentences: bool = False,
) -> Collection | None:
    """Answer every question greedily, label the answers and read activations.

    Parameters
    ----------
    model, tokenizer : transformers causal LM and its tokenizer
        E.g. from :func:`howsure.load_model`.
    items : sequence of QAItem, length n
    layers : int, list of int, or "all", default "all"
    positions : str or list of str, default every position
        Only the positions read from the model are stored; ``mean_last_answer`` is
        built from its parts by :meth:`Collection.features`.
    max_new_tokens : int, default 32
    batch_size : int, default 16
    instruction : str
        Appended to each question (see :mod:`howsure.probes.prompts`).
    judge : callable ``(answer, golds) -> bool``, optional
        Correctness judge; default :class:`howsure.qa.judge.MatchJudge`.
    dataset, split : str
        Recorded in the metadata.
    cache : bool, default True
        Read from / write to the disk cache (``$HOWSURE_CACHE/collections``), keyed by
        the model's weights fingerprint (not its path), dtype, the questions and the
        settings. A cache hit reuses the answers and activations and labels the answers
        again with ``judge`` (cheap), so labels always follow the current judge.
    progress : bool, default True
    store : {"float32", "float16"}, default "float32"
        Precision the activations are kept in, in memory and on disk: ``"float16"``
        halves them (a 4,096-wide model's 32 layers × 3 positions × 3,000 questions: 4.7
        GB instead of 9.4 GB; ask for fewer ``layers`` to save more). A matrix with
        values beyond float16's range (65,504) stays float32, with a warning.
    styles : sequence of str, optional
        Send each question in one of these chat styles (:mod:`howsure.probes.styles`;
        assigned by a hash of the question, the same on every run) instead of with
        ``instruction``: the question as given, with a system prompt, inside a request,
        with chatter, after an earlier exchange, or (``"short"``) with the instruction.
        Each row's style is kept in ``extras["style"]``.
    sentences : bool, default False
        Also keep each answer's sentences with their features
        (:attr:`Collection.sentences`), for sentence confidences.

    Returns
    -------
    Collection or None
        Under a multi-process launch (``torchrun``, ``accelerate launch``; see
        :mod:`howsure.probes.distributed`) each process answers a shard of whole
        batches and the main process returns the gathered collection, equal to one
        process's; the other processes return ``None`` and have nothing left to do.
    """
    if not items:
        raise ValueError("no questions to collect; check the dataset, split and limit")
    layer_ids = resolve_layers(model, layers)
    pos_names = base_positions(positions)  # validated; combined ones are built on use
    check_choice(store, "store", ("float32", "float16"))
    style_names: list[str] | None = None
    if styles:
        styles = check_styles(styles)
        conversations, style_names = styled_conversations(items, styles=styles, seed=0)
        prompts = [render_chat(tokenizer, m) for m in conversations]
    else:
        prompts = [question_prompt(tokenizer, it.question, instruction=instruction) for it in items]
    fingerprint = model_fingerprint(model)
    settings = {
        "max_new_tokens": max_new_tokens,
        "instruction": instruction,
        "reader_version": READER_VERSION,
        "judge": type(judge).__name__ if judge is not None else "MatchJudge",
    }
    if styles:
        settings["styles"] = list(styles)
    if sentences:
        settings["sentences"] = True
    if store != "float32":
        settings["store"] = store
    # the model by its weights, dtype and shape (not its path); the gold answers are not
    # part of the key: they change labels, not generations
    key_src = [fingerprint_key(fingerprint), dataset_fingerprint(items, golds=False), settings]
    key = hashlib.sha256(json.dumps(key_src, sort_keys=True).encode()).hexdigest()[:20]
    folder = cache_dir("collections") / f"{fingerprint_key(fingerprint)}-{key}" if cache else None
    wanted = {(la, p) for la in layer_ids for p in pos_names}
    sharded = setup(model_device(model))  # a torchrun / accelerate launch: shards
    cached = _load_cached(folder) if folder is not None and is_main_process() else None
    have = None if cached is None else set(cached.activations)
    if sharded:  # the main process's cache decides for every process
        shared = all_gather_json(None if have is None else sorted(map(list, have)))[0]
        have = None if shared is None else {(int(la), str(p)) for la, p in shared}
    if (
        have is not None
        and wanted <= have
        and (cached is None or cached.sentences is not None or not sentences)
    ):
        if cached is None:
            return None  # the main process serves it from its cache

        # labels are a function of the answers and golds: recomputed, so a fixed judge or
        # a corrected gold answer needs no re-run
        cached.items = list(items)
        cached.labels, outcomes = label_items(cached.answers, items, judge=judge, progress=progress)
        if outcomes is not None:
            cached.extras["code_outcome"] = np.asarray(outcomes, dtype=str)
        # the entry may have been written for the same questions under another name
        cached.meta.update(
            dataset=dataset, split=split, dataset_fingerprint=dataset_fingerprint(items)
        )
        return _restrict(cached, wanted, cached=True)
    if have is not None:  # widen to what the cache had, so one entry serves both asks
        have |= wanted
        layer_ids = sorted({k[0] for k in have})
        pos_names = [p for p in BASE_POSITIONS if p in {k[1] for k in have}]
    read = generate_sharded if sharded else generate_and_read
    result = read(
        model,
        tokenizer,
        prompts,
        layers=layer_ids,
        positions=pos_names,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        progress=progress,
        names=[f"question {it.describe()}" for it in items],
        store=store,
        sentences=sentences,
    )
    if result is None:
        return None  # not the main process: it has gathered the shards and goes on alone
    labels, outcomes = label_items(result.answers, items, judge=judge, progress=progress)
    out = Collection(
        items=list(items),
        answers=result.answers,
        labels=labels,
        activations=result.activations,
        extras={
            "n_answer_tokens": np.asarray([len(a) for a in result.answer_ids]),
            "truncated": result.truncated,
            "logprob_mean": result.logprob_mean,
            "logprob_min": result.logprob_min,
            "entropy_mean": result.entropy_mean,
            **({"style": np.asarray(style_names, dtype=str)} if style_names else {}),
            **({"code_outcome": np.asarray(outcomes, dtype=str)} if outcomes else {}),
        },
        meta={
            "howsure_version": __version__,
            "model": fingerprint,
            "dataset": dataset,
            "split": split,
            "dataset_fingerprint": dataset_fingerprint(items),
            "layers": layer_ids,
            "positions": pos_names,
            **settings,
            "store": store,
        },
        sentences=result.sentences,
    )
    if folder is not None:
        out.save(folder)
    return _restrict(out, wanted, cached=False)


def _restrict(coll: Collection, wanted: set[Key], *, cached: bool) -> Collection:
    """Keep only the ``wanted`` activation matrices (in place) and record which."""
    coll.activations = {k: coll.activations[k] for k in sorted(wanted)}
    coll.meta.update(
        layers=sorted({k[0] for k in wanted}),
        positions=[p for p in BASE_POSITIONS if p in {k[1] for k in wanted}],
        cached=cached,
    )
    return coll


def _load_cached(folder: Path | None) -> Collection | None:
    if folder is None or not (folder / "meta.json").is_file():
        return None
    try:
        return Collection.load(folder)
    except ValueError:
        return None  # a broken cache entry is recomputed and overwritten


def concat(collections: Sequence[Collection]) -> Collection:
    """Rows of several collections of the same model, one after the other.

    Parameters
    ----------
    collections : sequence of Collection
        Sizes ``n_1, ..., n_k``.

    Returns
    -------
    Collection
        ``n_1 + ... + n_k`` rows; only the activation keys and extras that every
        collection has; ``meta`` of the first, with ``split`` the splits joined by "+".

    Raises
    ------
    ValueError
        ``collections`` is empty.
    """
    if not collections:
        raise ValueError("concat needs at least one collection; got none")
    keys = set.intersection(*(set(c.activations) for c in collections))
    extras = set.intersection(*(set(c.extras) for c in collections))
    meta = dict(collections[0].meta)
    splits = [str(c.meta.get("split")) for c in collections if c.meta.get("split")]
    if splits:
        meta["split"] = "+".join(dict.fromkeys(splits))
    return Collection(
        items=[it for c in collections for it in c.items],
        answers=[a for c in collections for a in c.answers],
        labels=np.concatenate([np.asarray(c.labels, dtype=bool) for c in collections]),
        activations={
            k: np.concatenate([c.activations[k] for c in collections]) for k in sorted(keys)
        },
        extras={k: np.concatenate([np.asarray(c.extras[k]) for c in collections]) for k in extras},
        meta=meta,
        sentences=SentenceTable.concat(
            [c.sentences for c in collections], [len(c) for c in collections]
        )
        if all(c.sentences is not None for c in collections)
        else None,
    )
