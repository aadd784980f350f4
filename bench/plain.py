"""Plain batched ``model.generate``, the baseline the wrapper and the server are timed
against (``bench/overhead.py``, ``bench/serve.py``): render the questions as the detector
does, tokenize with left padding, generate greedily, decode."""

from __future__ import annotations

from typing import Any


def plain_generate(
    model: Any, tok: Any, det: Any, questions: list[str], *, batch_size: int, max_new_tokens: int
) -> list[list[int]]:
    """The new token ids of each question (up to and including its first EOS)."""
    import torch

    from howsure.probes.activations import split_answers
    from howsure.probes.inputs import eos_ids

    eos = eos_ids(model, tok)
    device = next(model.parameters()).device
    token_ids = []
    for start in range(0, len(questions), batch_size):
        prompts = det.render(questions[start : start + batch_size], tok)
        enc = tok(
            prompts,
            return_tensors="pt",
            padding=True,
            padding_side="left",
            add_special_tokens=False,
        ).to(device)
        with torch.inference_mode():
            seqs = model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tok.pad_token_id,
            )
        new = seqs[:, enc["input_ids"].shape[1] :].cpu()
        answers, cut = split_answers(new, eos)
        _texts = [tok.decode(a, skip_special_tokens=True).strip() for a in answers]
        for row, a, c in zip(new.tolist(), answers, cut, strict=True):
            token_ids.append(row[: len(a) + (0 if c else 1)])
    return token_ids
