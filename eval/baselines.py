"""Expensive baselines: P(True) self-evaluation and sampling consistency.

Both score an answer the model already gave greedily (higher means "more likely
correct") and both need forward passes beyond that generation, which is their cost.

``p_true``
    Kadavath et al. (2022): the model is asked, in a new chat turn, whether its own
    answer is true; the score is ``P(yes) / (P(yes) + P(no))`` of the first answer token,
    summing the probabilities of the single-token spellings of "yes" and "no".
``consistency``
    ``k`` answers are sampled per question; the score is the fraction of them that the
    label function judges to match the greedy answer.

Cost accounting (``forward_passes_per_question`` of
:func:`howsure.eval.compare.compare_methods`): the greedy generation that produces the
answer counts as **1** forward pass per question, whatever its number of decoding
steps, and every method read from it (``probe``, ``probe_last_prompt``,
``logprob_mean``, ``logprob_min``, ``entropy``) costs 1. P(True) adds one prefill-only
forward pass (:data:`P_TRUE_FORWARD_PASSES`), so it costs 2. Consistency adds ``k``
sampled generations, each counted as 1 like the greedy one, so it costs ``1 + k``.
:func:`costs_for` returns this table.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from howsure.core.checks import check_int, check_real
from howsure.core.files import cache_dir, write_text_atomic
from howsure.core.padding import pad_rows
from howsure.probes.activations import split_answers
from howsure.probes.inputs import (
    check_length,
    encode_left_padded,
    eos_ids,
    iter_batches,
    model_device,
    pad_token_id,
)
from howsure.probes.prompts import question_prompt, render_chat
from howsure.qa.judge import Judge, MatchJudge, normalize_answer

__all__ = [
    "BASELINE_COSTS",
    "CACHE_VERSION",
    "DEFAULT_K",
    "NO_WORDS",
    "P_TRUE_TEMPLATE",
    "YES_WORDS",
    "NoSingleTokenError",
    "cached_scores",
    "costs_for",
    "p_true",
    "p_true_prompt",
    "sampling_consistency",
    "single_token_ids",
]

P_TRUE_TEMPLATE = (
    "Question: {question}\nProposed answer: {answer}\n"
    "Is the proposed answer true? Answer with yes or no."
)
"""Default user message of :func:`p_true`; must contain ``{question}`` and ``{answer}``."""

YES_WORDS: tuple[str, ...] = ("yes", "Yes", " yes", " Yes")
"""Spellings of "yes" whose probabilities :func:`p_true` sums (single-token ones only)."""

NO_WORDS: tuple[str, ...] = ("no", "No", " no", " No")
"""Spellings of "no" whose probabilities :func:`p_true` sums (single-token ones only)."""

P_TRUE_FORWARD_PASSES = 1
"""Extra forward passes per question of :func:`p_true` (one prefill, no decoding)."""

GENERATION_FORWARD_PASSES = 1
"""Forward passes per question counted for one generated answer (greedy or sampled)."""

SINGLE_PASS_METHODS: tuple[str, ...] = (
    "probe",
    "probe_last_prompt",
    "logprob_mean",
    "logprob_min",
    "entropy",
)
"""Methods read from the greedy generation itself: 1 forward pass per question."""

DEFAULT_K = 5
"""Default number of samples of :func:`sampling_consistency`."""


def costs_for(k: int = DEFAULT_K, *, methods: Iterable[str] | None = None) -> dict[str, float]:
    """Forward passes per question of every method, for ``compare_methods(costs=...)``.

    Parameters
    ----------
    k : int, default ``DEFAULT_K``
        Samples per question of the consistency baseline.
    methods : iterable of str, optional
        Keep only these names (``compare_methods`` rejects costs of methods it does not
        compare); names without a known cost are left out.

    Returns
    -------
    dict of str to float
        ``probe``, ``probe_last_prompt``, ``logprob_mean``, ``logprob_min``,
        ``entropy``: 1; ``p_true``: 2; ``consistency``: ``1 + k``.
    """
    k = check_int(k, "k", min_val=1, hint="samples per question")
    table = {name: float(GENERATION_FORWARD_PASSES) for name in SINGLE_PASS_METHODS}
    table["p_true"] = float(GENERATION_FORWARD_PASSES + P_TRUE_FORWARD_PASSES)
    table["consistency"] = float(GENERATION_FORWARD_PASSES + int(k) * GENERATION_FORWARD_PASSES)
    if methods is not None:
        if isinstance(methods, str):
            raise TypeError(f"methods must be an iterable of names, not one string: {methods!r}")
        wanted = set(methods)
        table = {name: c for name, c in table.items() if name in wanted}
    return table


BASELINE_COSTS: dict[str, float] = costs_for(DEFAULT_K)
"""``costs_for(DEFAULT_K)``: forward passes per question with ``k = 5`` samples."""


class NoSingleTokenError(ValueError):
    """No spelling of "yes" (or of "no") is a single token of the tokenizer (:func:`p_true`)."""


def _check_texts(name: str, texts: Sequence[str], *, allow_empty: bool) -> None:
    if isinstance(texts, str):
        raise TypeError(f"{name} must be a list of strings, not one string; wrap it in a list")
    if len(texts) == 0:
        raise ValueError(f"no {name} given; pass at least one")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"{name}[{i}] must be a str, got {type(text).__name__}: {text!r}")
        if not allow_empty and not text.strip():
            raise ValueError(f"{name}[{i}] is empty ({text!r}); every entry needs text")


def _check_pairs(questions: Sequence[str], answers: Sequence[str], answers_name: str) -> None:
    _check_texts("questions", questions, allow_empty=False)
    _check_texts(answers_name, answers, allow_empty=True)
    if len(questions) != len(answers):
        raise ValueError(
            f"got {len(questions)} questions but {len(answers)} {answers_name}; "
            "give one answer per question"
        )


def single_token_ids(tokenizer: Any, words: Sequence[str]) -> list[int]:
    """Token ids of the ``words`` that the tokenizer encodes as exactly one token.

    Parameters
    ----------
    tokenizer : transformers tokenizer
    words : sequence of str
        Spellings such as ``("yes", " Yes")``.

    Returns
    -------
    list of int
        Distinct ids, in the order of ``words``; words of several tokens are skipped.
    """
    ids: list[int] = []
    for word in words:
        enc = tokenizer.encode(word, add_special_tokens=False)
        if len(enc) == 1 and enc[0] not in ids:
            ids.append(int(enc[0]))
    return ids


def p_true_prompt(
    tokenizer: Any, question: str, answer: str, *, template: str = P_TRUE_TEMPLATE
) -> str:
    """The rendered chat prompt asking whether ``answer`` to ``question`` is true."""
    try:
        content = template.format(question=question.strip(), answer=answer.strip())
    except (KeyError, IndexError, ValueError) as err:
        raise ValueError(
            f"template {template!r} must use only the fields {{question}} and {{answer}} "
            f"(double other braces): {err!r}"
        ) from err
    return render_chat(tokenizer, [{"role": "user", "content": content}])


def _last_logits(model: Any, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Logits at the last position of left-padded rows, shape ``(batch, vocab)``."""
    position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
    kwargs = dict(input_ids=ids, attention_mask=mask, position_ids=position_ids, use_cache=False)
    try:
        out = model(**kwargs, logits_to_keep=1)
    except TypeError:  # models without logits_to_keep
        out = model(**kwargs)
    return out.logits[:, -1, :]


def p_true(
    model: Any,
    tokenizer: Any,
    questions: Sequence[str],
    answers: Sequence[str],
    *,
    batch_size: int = 16,
    progress: bool = True,
    template: str = P_TRUE_TEMPLATE,
    yes_words: Sequence[str] = YES_WORDS,
    no_words: Sequence[str] = NO_WORDS,
) -> np.ndarray:
    """P(True) self-evaluation: the model's probability that its own answer is true.

    Each question and answer fill ``template``, rendered as one user turn with the
    chat template (generation prompt added); one teacher-forced forward pass per
    left-padded batch (position ids counted from each row's first real token) gives the
    next-token distribution at the first answer position.

    Parameters
    ----------
    model, tokenizer : transformers causal LM and its tokenizer
    questions : list of str, length n
        The questions (non-empty).
    answers : list of str, length n
        The model's answers to judge (may be empty).
    batch_size : int, default 16
    progress : bool, default True
        Show a progress bar over questions.
    template : str, default ``P_TRUE_TEMPLATE``
        User message with ``{question}`` and ``{answer}`` fields.
    yes_words, no_words : sequence of str, default ``YES_WORDS``, ``NO_WORDS``
        Spellings whose probabilities are summed; only those the tokenizer encodes as
        one token count.

    Returns
    -------
    numpy.ndarray of float, shape (n,)
        ``P(yes) / (P(yes) + P(no))`` in [0, 1], computed in log space (no underflow).

    Raises
    ------
    ValueError
        On a length mismatch, an empty question or a bad template.
    NoSingleTokenError
        A ValueError: no spelling of yes (or of no) is a single token of this tokenizer.

    Notes
    -----
    Cost: ``P_TRUE_FORWARD_PASSES`` (1) prefill-only pass per question on top of the
    generation, so 2 forward passes per question in all (see :func:`costs_for`).
    """
    _check_pairs(questions, answers, "answers")
    yes_ids = single_token_ids(tokenizer, yes_words)
    no_ids = single_token_ids(tokenizer, no_words)
    for kind, words, ids in (("yes", yes_words, yes_ids), ("no", no_words, no_ids)):
        if not ids:
            raise NoSingleTokenError(
                f"none of the {kind} spellings {list(words)!r} is a single token of this "
                f"tokenizer; pass {kind}_words= with spellings it encodes as one token"
            )
    if set(yes_ids) & set(no_ids):
        raise ValueError(
            f"yes and no spellings share token ids {sorted(set(yes_ids) & set(no_ids))}"
        )
    prompts = [
        p_true_prompt(tokenizer, q, a, template=template)
        for q, a in zip(questions, answers, strict=True)
    ]
    prompt_ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    check_length(model, tokenizer, [len(p) for p in prompt_ids], 0)
    device = model_device(model)
    pad = pad_token_id(model, tokenizer)
    yes_t = torch.tensor(yes_ids, device=device)
    no_t = torch.tensor(no_ids, device=device)
    scores: list[np.ndarray] = []
    bar = tqdm(total=len(prompts), desc="P(True)", unit="q", disable=not progress)
    try:
        for sl in iter_batches(len(prompts), batch_size):
            ids, mask, _ = pad_rows(prompt_ids[sl], pad, side="left")
            with torch.inference_mode():
                logits = _last_logits(model, ids.to(device), mask.to(device)).float()
                logp = torch.log_softmax(logits, dim=-1)
                lse_yes = torch.logsumexp(logp[:, yes_t], dim=-1)
                lse_no = torch.logsumexp(logp[:, no_t], dim=-1)
                score = torch.exp(lse_yes - torch.logaddexp(lse_yes, lse_no))
            scores.append(score.cpu().numpy().astype(float))
            bar.update(sl.stop - sl.start)
    finally:
        bar.close()
    return np.concatenate(scores)


def _rng_devices(device: torch.device) -> list[int]:
    if device.type == "cuda":
        return [device.index if device.index is not None else torch.cuda.current_device()]
    return []


def sampling_consistency(
    model: Any,
    tokenizer: Any,
    questions: Sequence[str],
    greedy_answers: Sequence[str],
    *,
    k: int = DEFAULT_K,
    temperature: float = 1.0,
    top_p: float = 0.95,
    max_new_tokens: int = 32,
    seed: int = 0,
    judge: Judge | None = None,
    batch_size: int = 16,
    progress: bool = True,
    instruction: str | None = None,
) -> np.ndarray:
    """Fraction of ``k`` sampled answers that agree with the greedy answer.

    Each question is rendered with :func:`howsure.probes.prompts.question_prompt` and
    ``instruction`` (give the one the greedy answer came from) and answered ``k`` times with
    ``do_sample=True``; a sample agrees when ``judge(sample, [greedy_answer])`` is true.

    Parameters
    ----------
    model, tokenizer : transformers causal LM and its tokenizer
    questions : list of str, length n
        The questions (non-empty).
    greedy_answers : list of str, length n
        The model's greedy answers. One that is empty or has no letters or digits
        scores 0 without sampling.
    k : int, default 5
        Samples per question.
    temperature : float, default 1.0
    top_p : float, default 0.95
        Nucleus sampling threshold in (0, 1]; top-k filtering is off.
    max_new_tokens : int, default 32
    seed : int, default 0
        ``torch.manual_seed(seed)`` before sampling, inside a forked RNG so the
        caller's global random state is left as it was. Results are reproducible for a
        fixed seed and ``batch_size`` (the draws depend on how prompts are batched).
    judge : Judge, optional
        Decides agreement; default :class:`howsure.qa.judge.MatchJudge`.
    batch_size : int, default 16
        Questions per batch; each batch generates ``batch_size * k`` sequences.
    progress : bool, default True
    instruction : str, optional
        Appended to each question; default
        :data:`howsure.probes.prompts.DEFAULT_INSTRUCTION` (what ``howsure train`` uses).

    Returns
    -------
    numpy.ndarray of float, shape (n,)
        Values in ``{0, 1/k, ..., 1}``.

    Notes
    -----
    Cost: ``k`` sampled generations per question on top of the greedy one, counted as
    ``1 + k`` forward passes per question (see :func:`costs_for`).
    """
    _check_pairs(questions, greedy_answers, "greedy_answers")
    k = check_int(k, "k", min_val=1, hint="samples per question")
    temperature = check_real(temperature, "temperature", min_val=0.0, include_boundaries="neither")
    top_p = check_real(top_p, "top_p", min_val=0.0, max_val=1.0, include_boundaries="right")
    max_new_tokens = check_int(max_new_tokens, "max_new_tokens", min_val=1)
    seed = check_int(seed, "seed")
    batch_size = check_int(batch_size, "batch_size", min_val=1)
    judge = MatchJudge() if judge is None else judge
    n = len(questions)
    scores = np.zeros(n, dtype=float)
    todo = [i for i, a in enumerate(greedy_answers) if a.strip() and normalize_answer(a)]
    kw = {} if instruction is None else {"instruction": instruction}
    prompts = [question_prompt(tokenizer, questions[i], **kw) for i in todo]
    lengths = [len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]
    check_length(model, tokenizer, lengths, max_new_tokens, names=[f"question {i}" for i in todo])
    eos = eos_ids(model, tokenizer)
    device = model_device(model)
    bar = tqdm(total=n, desc="sampling", unit="q", disable=not progress)
    bar.update(n - len(todo))
    try:
        with torch.random.fork_rng(devices=_rng_devices(device)):
            torch.manual_seed(int(seed))
            for sl in iter_batches(len(todo), batch_size):
                input_ids, mask = encode_left_padded(model, tokenizer, prompts[sl])
                with torch.inference_mode():
                    seqs = model.generate(
                        input_ids=input_ids,
                        attention_mask=mask,
                        do_sample=True,
                        num_return_sequences=k,
                        temperature=float(temperature),
                        top_p=float(top_p),
                        top_k=0,
                        max_new_tokens=max_new_tokens,
                        pad_token_id=pad_token_id(model, tokenizer),
                    )
                new = seqs[:, input_ids.shape[1] :].cpu()
                sample_ids, _ = split_answers(new, eos)
                samples = [
                    tokenizer.decode(a, skip_special_tokens=True).strip() for a in sample_ids
                ]
                for b, i in enumerate(todo[sl]):
                    mine = samples[b * k : (b + 1) * k]
                    gold = [greedy_answers[i]]
                    scores[i] = sum(bool(judge(s, gold)) for s in mine) / k
                bar.update(sl.stop - sl.start)
    finally:
        bar.close()
    return scores


CACHE_VERSION = 1
"""Part of every :func:`cached_scores` key: bump when a baseline or the judge changes what
it returns for the same inputs."""


def cached_scores(
    method: str,
    key: dict[str, Any],
    compute: Callable[[], np.ndarray],
    *,
    cache: bool = True,
) -> tuple[np.ndarray, float, bool]:
    """``compute()``'s scores, kept in the disk cache under ``method`` and ``key``.

    P(True) and sampling consistency cost minutes per thousand questions; with the
    cache, re-running ``howsure eval`` (another ``--n-boot``, a rewritten report) reuses
    them. Files are JSON (``$HOWSURE_CACHE/baselines/<method>-<hash>.json``), never pickle;
    an unreadable or mismatched entry is recomputed and overwritten.

    Parameters
    ----------
    method : str
        E.g. ``"p_true"``.
    key : dict
        Everything the scores depend on (model fingerprint, questions, answers, settings),
        JSON-serialisable.
    compute : callable returning numpy.ndarray of shape (n,)
    cache : bool, default True
        False: always compute, write nothing.

    Returns
    -------
    scores : numpy.ndarray of float, shape (n,)
    seconds : float
        How long ``compute()`` took (when it ran for the cached entry, if cached).
    from_cache : bool
    """
    import time

    def run() -> tuple[np.ndarray, float]:
        t0 = time.perf_counter()
        out = np.asarray(compute(), dtype=float)
        return out, time.perf_counter() - t0

    if not cache:
        return (*run(), False)

    key = {**key, "cache_version": CACHE_VERSION}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    path = cache_dir("baselines") / f"{method}-{digest}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("key") == json.loads(json.dumps(key)):
            return np.asarray(data["scores"], dtype=float), float(data["seconds"]), True
    except (OSError, ValueError, KeyError, TypeError):
        pass
    scores, seconds = run()
    entry = {"key": key, "seconds": seconds, "scores": scores.tolist()}
    write_text_atomic(path, json.dumps(entry))
    return scores, seconds, False
