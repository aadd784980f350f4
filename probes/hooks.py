"""Forward hooks that read a model while it runs, and a logits processor for the baselines.

The hooks sit on the chosen transformer blocks only and are removed on exit, also on
errors; :func:`no_hooks_left` checks that in tests and benchmarks.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

import torch

from howsure.core.checks import check_int
from howsure.probes.models import find_layers

__all__ = ["AnswerStats", "LayerCapture", "howsure_hooks", "no_hooks_left"]

_MARK = "__howsure_hook__"  # set on every hook function howsure registers


def _block_output(output: Any) -> torch.Tensor:
    return output[0] if isinstance(output, (tuple, list)) else output


class LayerCapture:
    """Forward hooks that record chosen blocks' outputs; removed on exit, even on errors.

    Only the forward passes of the thread that entered the capture are recorded: the
    same model may serve another generation in another thread meanwhile (a stream's
    worker, a second request) without mixing its hidden states into this one's.

    Parameters
    ----------
    model : transformers model
    layers : list of int
        Validated block indices (see :func:`resolve_layers`).
    keep : {"last", "all"}
        ``"last"`` records only the final position of every call, shape ``(batch, d)``
        (enough while generating); ``"all"`` records ``(batch, seq, d)``.
    max_calls : int, optional
        Record only the first ``max_calls`` forward calls per layer (``1``: the prefill
        only, all a ``last_prompt`` reading needs); later calls cost nothing.
    on_record : callable, optional
        ``on_record(layer, index, tensor)`` is called from inside the hook with each
        recorded tensor (``index`` counts the calls of that layer from 0), e.g. to score
        the prefill while ``generate`` goes on. An exception it raises aborts the
        forward pass.

    Attributes
    ----------
    calls : dict of int to list of torch.Tensor
        Per layer, one detached tensor per forward call, on the model's device.
    """

    def __init__(
        self,
        model: Any,
        layers: Sequence[int],
        *,
        keep: Literal["last", "all"],
        max_calls: int | None = None,
        on_record: Callable[[int, int, torch.Tensor], None] | None = None,
    ):
        if max_calls is not None:
            max_calls = check_int(max_calls, "max_calls", min_val=1, hint="or None")
        self.model = model
        self.layers = list(layers)
        self.keep = keep
        self.max_calls = max_calls
        self.on_record = on_record
        self.calls: dict[int, list[torch.Tensor]] = {layer: [] for layer in self.layers}
        self._handles: list[Any] = []
        self._thread: int | None = None

    def _hook(self, layer: int):
        def hook(module: Any, args: Any, output: Any) -> None:
            if threading.get_ident() != self._thread:
                return  # another thread's forward pass on the same model is not ours
            recorded = self.calls[layer]
            if self.max_calls is not None and len(recorded) >= self.max_calls:
                return
            hidden = _block_output(output)
            part = hidden[:, -1, :] if self.keep == "last" else hidden
            recorded.append(part.detach().clone())
            if self.on_record is not None:
                self.on_record(layer, len(recorded) - 1, recorded[-1])

        setattr(hook, _MARK, True)
        return hook

    def __enter__(self) -> LayerCapture:
        self._thread = threading.get_ident()  # only this thread's passes are recorded
        blocks = find_layers(self.model)
        try:
            for layer in self.layers:
                self._handles.append(blocks[layer].register_forward_hook(self._hook(layer)))
        except BaseException:
            self.remove()
            raise
        return self

    def remove(self) -> None:
        """Remove every hook this capture registered (safe to call twice)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def __exit__(self, *exc: Any) -> None:
        self.remove()


class AnswerStats:
    """Logits processor recording the log-probability and entropy of each greedy step.

    It sees the raw logits of every step; the token chosen at step ``k`` is read from
    the ``input_ids`` of step ``k + 1`` (and from the final sequences for the last step),
    so only one step's log-softmax is held at a time. It never changes the scores.

    Parameters
    ----------
    top_k : int, default 0
        Also keep each step's ``top_k`` most likely tokens and their log-probabilities
        (for OpenAI's ``top_logprobs``); 0 keeps none.
    """

    def __init__(self, *, top_k: int = 0) -> None:
        self.top_k = check_int(top_k, "top_k", min_val=0)
        self.chosen_logprob: list[torch.Tensor] = []
        self.entropy: list[torch.Tensor] = []
        self.top_ids: list[torch.Tensor] = []
        self.top_logprobs: list[torch.Tensor] = []
        self._prev: torch.Tensor | None = None

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        logp = torch.log_softmax(scores.float(), dim=-1)
        if self._prev is not None:
            self.chosen_logprob.append(self._prev.gather(1, input_ids[:, -1:]).squeeze(1))
        self.entropy.append(torch.special.entr(logp.exp()).sum(-1))  # 0 log 0 = 0
        if self.top_k:
            top = torch.topk(logp, min(self.top_k, logp.shape[-1]), dim=-1)
            self.top_ids.append(top.indices)
            self.top_logprobs.append(top.values)
        self._prev = logp
        return scores

    @property
    def last(self) -> torch.Tensor | None:
        """The log-softmax of the latest step, shape (batch, vocab): the distribution the
        token chosen at that step came from (``None`` before the first step)."""
        return self._prev

    def tops(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Each step's top ``top_k`` token ids and log-probabilities, each of shape
        ``(batch, steps, top_k)`` (``top_k`` 0: shape ``(batch, steps, 0)``), sorted
        from the most likely."""
        if not self.top_logprobs:
            steps = len(self.entropy)
            batch = self.entropy[0].shape[0] if self.entropy else 0
            return (
                torch.zeros(batch, steps, 0, dtype=torch.long),
                torch.zeros(batch, steps, 0),
            )
        return torch.stack(self.top_ids, 1), torch.stack(self.top_logprobs, 1)

    def finish(self, last_tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(logprob, entropy)``, each of shape ``(batch, steps)``."""
        if self._prev is not None:
            self.chosen_logprob.append(self._prev.gather(1, last_tokens[:, None]).squeeze(1))
            self._prev = None
        return torch.stack(self.chosen_logprob, 1), torch.stack(self.entropy, 1)


def howsure_hooks(model: Any) -> int:
    """How many forward hooks howsure has on ``model`` now (0 whenever nothing reads it;
    hooks of others, e.g. transformers' own output recorders, are not counted)."""
    return sum(
        getattr(h, _MARK, False)
        for m in model.modules()
        for h in [*m._forward_hooks.values(), *m._forward_pre_hooks.values()]
    )


@contextlib.contextmanager
def no_hooks_left(model: Any) -> Iterator[None]:
    """Context manager asserting (with ``RuntimeError``) that no forward hook leaks."""
    before = sum(len(m._forward_hooks) for m in model.modules())
    yield
    after = sum(len(m._forward_hooks) for m in model.modules())
    if after != before:
        raise RuntimeError(f"{after - before} forward hooks were left on the model")
