"""Head ablation: does in-context learning need these heads?

Olsson et al. (2022) argue that induction heads carry much of in-context learning; the direct
test is to knock them out and rerun the evaluation. A head is ablated by replacing its output
(its slice of the concatenated head outputs, i.e. the input of the attention output projection
``o_proj``) before it is mixed into the residual stream:

    attn_out [batch, pos, n_heads * d_head] --view--> [batch, pos, head, d_head]
        zero ablation: head slice := 0
        mean ablation: head slice := mean of that head's output over reference texts
    --view back--> o_proj(...)

The replacement is a forward *pre*-hook on each affected layer's ``o_proj``. Hooks are
registered inside `ablate_heads` and removed in ``finally``, so the cached model (shared by every
app session) is never mutated; while the context is open the runner's lock is held, so no other
thread can run the model with the heads knocked out. Mean ablation (Wang et al. 2022) keeps the
head's average contribution, which separates "this head's *information* is needed" from "the
network breaks when a vector it always sees disappears".

The experiment that evaluates with and without the ablation, and the paired statistics of its
drops, are `engine.experiments.ablation` (`ablation_experiment`, `paired_drop`): they drive the
evaluation, a layer above this one.

References:
    Olsson et al. 2022, "In-context Learning and Induction Heads", arXiv:2209.11895.
    Wang et al. 2022, "Interpretability in the Wild: a Circuit for Indirect Object
    Identification in GPT-2 small" (mean ablation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np

from engine.core.errors import ConfigError
from engine.interp.heads import mark_ablated
from engine.interp.patterns import Head, head_label, parse_head, top_heads
from engine.model import arch

if TYPE_CHECKING:
    import torch

    from engine.model.hf_runner import HFRunner

AblationMode = Literal["zero", "mean"]
ABLATION_MODES: tuple[str, ...] = get_args(AblationMode)


# --------------------------------------------------------------------------- head sets
@dataclass(frozen=True, slots=True)
class HeadSet:
    """A named set of heads to ablate together (e.g. "top-5 induction", "5 random")."""

    name: str
    heads: tuple[Head, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(head_label(layer, head) for layer, head in self.heads)


def normalize_heads(heads: Iterable[Head | str], n_layers: int, n_heads: int) -> tuple[Head, ...]:
    """Sorted, de-duplicated ``(layer, head)`` pairs; labels like ``"L3H4"`` are accepted.

    Raises:
        ConfigError: a label that does not parse or a head outside the model.
    """
    out: set[Head] = set()
    for h in heads:
        layer, head = parse_head(h) if isinstance(h, str) else (int(h[0]), int(h[1]))
        if not (0 <= layer < n_layers and 0 <= head < n_heads):
            raise ConfigError(
                f"Head {head_label(layer, head)} does not exist: the model has layers 0-{n_layers - 1} "
                f"and heads 0-{n_heads - 1}."
            )
        out.add((layer, head))
    return tuple(sorted(out))


def top_n_heads(scores: np.ndarray, n: int) -> tuple[Head, ...]:
    """The `n` best heads of a `[layer, head]` score array, best first."""
    if n < 0:
        raise ConfigError(f"n must be 0 or more, got {n}.")
    return tuple(h for h, _ in top_heads(scores, n))


def random_heads(
    n_layers: int, n_heads: int, n: int, rng: np.random.Generator, *, exclude: Iterable[Head] = ()
) -> tuple[Head, ...]:
    """`n` distinct heads drawn uniformly (seeded), never one of `exclude` (the control set)."""
    banned = set(exclude)
    pool = [
        (layer, head) for layer in range(n_layers) for head in range(n_heads) if (layer, head) not in banned
    ]
    if n > len(pool):
        raise ConfigError(f"Cannot draw {n} random heads: only {len(pool)} heads are left to choose from.")
    picks = rng.choice(len(pool), size=n, replace=False)
    return tuple(sorted(pool[int(i)] for i in picks))


def top_vs_random(
    scores: np.ndarray, n: int, *, score_name: str = "induction", seed: int = 0
) -> tuple[HeadSet, HeadSet]:
    """The top-`n` heads by a score, and `n` random other heads as the control (seeded)."""
    top = top_n_heads(scores, n)
    n_layers, n_heads = scores.shape
    control = random_heads(n_layers, n_heads, n, np.random.default_rng(seed), exclude=top)
    return HeadSet(f"top-{n} {score_name}", top), HeadSet(f"{n} random (seed {seed})", control)


# --------------------------------------------------------------------------- hooks
def head_dim(runner: HFRunner) -> int:
    """d_head, read from the first layer's ``o_proj`` (its input is n_heads * d_head wide)."""
    return arch.head_dim(runner.model, runner.info.n_heads)


def _replace_heads_hook(
    heads: Sequence[int], n_heads: int, d_head: int, values: torch.Tensor | None
) -> Callable[[Any, tuple[Any, ...]], tuple[Any, ...]]:
    """Pre-hook for ``o_proj``: sets the chosen heads' slices to 0 or to `values` `[n_sel, d_head]`."""
    import torch

    idx = torch.tensor(list(heads), dtype=torch.long)

    def hook(module: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
        x = args[0]  # [batch, pos, n_heads * d_head]
        y = x.clone().reshape(*x.shape[:-1], n_heads, d_head)  # clone: never edit the caller's tensor
        if values is None:
            y[..., idx, :] = 0.0
        else:
            y[..., idx, :] = values.to(dtype=y.dtype, device=y.device)
        return (y.reshape(x.shape), *args[1:])

    return hook


@contextmanager
def ablate_heads(
    runner: HFRunner,
    heads: Iterable[Head | str],
    mode: AblationMode = "zero",
    *,
    means: np.ndarray | None = None,
) -> Iterator[tuple[Head, ...]]:
    """Context manager: inside it, the runner's model runs with `heads` ablated.

    Holds ``runner.lock`` for the whole block (other threads wait rather than see the ablated
    model); the hooks are removed in ``finally`` even when the block raises. The runner's span
    cache (results of the intact model) is swapped for an empty, non-retaining one meanwhile, and
    head-score caching is off, so no ablated result leaks into a cache and no cached intact
    result is served under ablation.

    Args:
        runner: an `HFRunner` over a Llama/Gemma-style model.
        heads: ``(layer, head)`` pairs or ``"L{layer}H{head}"`` labels.
        mode: ``"zero"`` or ``"mean"``.
        means: `[layer, head, d_head]` mean head outputs (from `mean_head_outputs`), required
            for mean ablation.

    Yields:
        The normalised head set.
    """
    import torch

    if mode not in ABLATION_MODES:
        raise ConfigError(f"Unknown ablation mode {mode!r}. Known: {', '.join(ABLATION_MODES)}.")
    info = runner.info
    chosen = normalize_heads(heads, info.n_layers, info.n_heads)
    d_head = head_dim(runner)  # raises for a model without Llama/Gemma-style layers
    mean_t: torch.Tensor | None = None
    if mode == "mean":
        if means is None:
            raise ConfigError(
                "Mean ablation needs the heads' mean outputs; compute them with mean_head_outputs."
            )
        mean_t = torch.as_tensor(np.asarray(means), dtype=torch.float32)
        if tuple(mean_t.shape) != (info.n_layers, info.n_heads, d_head):
            raise ConfigError(
                f"means has shape {tuple(mean_t.shape)}, expected {(info.n_layers, info.n_heads, d_head)}."
            )
    by_layer: dict[int, list[int]] = {}
    for layer, head in chosen:
        by_layer.setdefault(layer, []).append(head)
    handles: list[Any] = []
    with runner.lock:
        saved_cache = getattr(runner, "span_cache", None)
        try:
            if saved_cache is not None:
                # the runner's span cache holds the intact model's results: while heads are ablated
                # nothing may be read from it or written to it (other threads included)
                runner.span_cache = type(saved_cache)(max_entries=0)
            mark_ablated(runner.model, True)
            for layer, hs in by_layer.items():
                values = None if mean_t is None else mean_t[layer, hs]  # [n_sel, d_head]
                hook = _replace_heads_hook(hs, info.n_heads, d_head, values)
                handles.append(arch.hook_head_outputs(runner.model, layer, hook))
            yield chosen
        finally:
            for handle in handles:
                handle.remove()
            mark_ablated(runner.model, False)
            if saved_cache is not None:
                runner.span_cache = saved_cache


def mean_head_outputs(runner: HFRunner, texts: Sequence[str], *, batch_size: int = 8) -> np.ndarray:
    """`[layer, head, d_head]` mean of every head's output over all token positions of `texts`.

    The outputs are read with temporary pre-hooks on ``o_proj`` (removed in ``finally``);
    padding positions are excluded through the attention mask.
    """
    import torch

    seqs = [ids for ids in (runner.encode(t) for t in texts if t.strip()) if ids]
    if not seqs:
        raise ConfigError("Mean ablation needs at least one non-empty reference text.")
    info = runner.info
    n_layers = len(arch.decoder_layers(runner.model))
    d_head = head_dim(runner)
    sums = torch.zeros((info.n_layers, info.n_heads, d_head), dtype=torch.float64)
    count = 0
    current_mask: list[torch.Tensor] = []

    def make_hook(layer: int) -> Callable[[Any, tuple[Any, ...]], None]:
        def hook(module: Any, args: tuple[Any, ...]) -> None:
            x = args[0].detach().double()  # [batch, pos, n_heads * d_head]
            m = current_mask[0].to(x.device, dtype=x.dtype)  # [batch, pos]
            per_head = x.reshape(*x.shape[:-1], info.n_heads, d_head)
            sums[layer] += torch.einsum("bphd,bp->hd", per_head, m).cpu()

        return hook

    order = sorted(range(len(seqs)), key=lambda i: -len(seqs[i]))
    with runner.lock:
        handles = [arch.hook_head_outputs(runner.model, i, make_hook(i)) for i in range(n_layers)]
        try:
            for start in range(0, len(order), batch_size):
                chunk = [seqs[i] for i in order[start : start + batch_size]]
                n_pos = max(len(s) for s in chunk)
                ids = torch.full((len(chunk), n_pos), runner.pad_id, dtype=torch.long)
                mask = torch.zeros((len(chunk), n_pos), dtype=torch.long)
                for r, s in enumerate(chunk):
                    ids[r, : len(s)] = torch.tensor(s, dtype=torch.long)
                    mask[r, : len(s)] = 1
                current_mask[:] = [mask]
                with torch.inference_mode():
                    arch.run_decoder(runner.model, ids.to(runner.device), mask.to(runner.device))
                count += int(mask.sum())
                runner.work.add(int(mask.sum()), 1)
        finally:
            for handle in handles:
                handle.remove()
    return (sums / max(count, 1)).float().numpy()
