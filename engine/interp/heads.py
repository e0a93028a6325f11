"""Attention-head scores: induction, prefix matching, previous token, duplicate token, copying.

In-context learning is thought to run largely through heads that *prefix-match* (attend from the
current token to whatever followed its earlier occurrences) and *copy* (raise the logit of the
token they attend to); together these are "induction heads" (Olsson et al. 2022). This module
measures every head of a model on seeded random token sequences repeated several times, where
the right answer of each detector is known position by position.

Shape vocabulary (TransformerLens style), stated once:
    tokens    [batch, pos]                              int64 token ids
    pattern   [batch, layer, head, q_pos, k_pos]        float32 attention probabilities
    mask      [batch, q_pos, k_pos]  (or [q_pos, k_pos]) bool, "these keys are the target"
    scores    [layer, head]                             heads labelled ``L{layer}H{head}``

Detectors are pure functions of (pattern, tokens) returning masks; a score is the attention mass
each query puts on its masked keys, averaged over the queries that have at least one target:

* **induction** (2 copies of T random tokens, BOS first): from each token of the second copy to
  the token right after its earlier occurrence, i.e. the diagonal at offset ``1 - T``.
* **prefix_matching** (T = 25 random tokens repeated 4 times, as Olsson et al. and Bansal et al.
  2023 measure it): from each token of copies 2..R, the total attention on the tokens that
  followed *any* earlier occurrence of it (1, 2 or 3 targets).
* **previous_token**: attention to the position just before (the BOS is never a target, since
  most heads park attention there).
* **duplicate_token**: total attention to earlier occurrences of the same token.
* **copying**: from the weights alone. For head h the OV circuit through the embedding and
  unembedding, ``E_S · W_V^h · W_O^h · U_S`` (``[n_tok, n_tok]``, restricted to the token set S
  the probes draw from), maps "token attended to" to "logit raised". A copying head has mostly
  positive eigenvalues; the score is ``sum(Re λ) / sum(|λ|)`` in [-1, 1] (Elhage et al. 2021,
  "A Mathematical Framework for Transformer Circuits"). We use the eigenvalue form rather than a
  logit attribution on the probes because it needs no forward pass, does not depend on the seed,
  and is exact for the linear path. The nonzero eigenvalues of ``(E_S W_V)(W_O U_S)`` are those
  of the ``[d_head, d_head]`` matrix ``W_O (U_S E_S) W_V``, so the cost is one
  ``[d_model, d_model]`` product per model (cached) plus tiny eigenproblems.

  What it folds in, per bundled model (RMS normalisations are linear up to a positive per-token
  scale, which cannot flip the sign of an eigenvalue but can reweight them; we keep their
  per-dimension gains and drop the per-token 1/rms):

  - SmolLM2 (Llama): ``diag(g_in) W_V`` with ``g_in`` = ``input_layernorm.weight``; ``U`` is
    ``diag(g_final) W_lm_head^T`` with ``g_final`` = ``model.norm.weight``. Grouped-query
    attention: head h reads the value head ``h // (n_heads / n_kv_heads)`` (HF ``repeat_kv``).
  - Gemma 3: norms scale by ``1 + weight``; the attention output passes through
    ``post_attention_layernorm`` before the residual, so ``W_O`` becomes ``W_O diag(1 + g_post)``;
    the embedding's ``sqrt(d_model)`` scale is a positive scalar and is dropped.

References:
    Olsson et al. 2022, "In-context Learning and Induction Heads", arXiv:2209.11895.
    Elhage et al. 2021, "A Mathematical Framework for Transformer Circuits".
    Bansal et al. 2023, "Rethinking the Role of Scale for In-Context Learning", ACL (prefix
    matching on 25 random tokens repeated 4 times, excluding the most frequent tokens).
"""

from __future__ import annotations

import re
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np

from engine.core.errors import ConfigError, lookup

if TYPE_CHECKING:
    import torch

    from engine.model.hf_runner import HFRunner, ProgressFn

HeadScoreName = Literal["induction", "prefix_matching", "previous_token", "duplicate_token", "copying"]
HEAD_SCORE_NAMES: tuple[str, ...] = get_args(HeadScoreName)
Head = tuple[int, int]  # (layer, head)

_LABEL_RE = re.compile(r"^\s*L(\d+)\s*H(\d+)\s*$", re.IGNORECASE)
_CONTROL_TOKEN_RE = re.compile(r"^(<[^<>]*>|\[[^\[\]]*\])$")


# --------------------------------------------------------------------------- labels
def head_label(layer: int, head: int) -> str:
    """``L{layer}H{head}``."""
    return f"L{layer}H{head}"


def parse_head(label: str) -> Head:
    """``"L3H4"`` -> ``(3, 4)``; raises `ConfigError` for anything else."""
    m = _LABEL_RE.match(label)
    if m is None:
        raise ConfigError(f"{label!r} is not a head label; write heads as L<layer>H<head>, e.g. L3H4.")
    return int(m.group(1)), int(m.group(2))


def top_heads(scores: np.ndarray, n: int) -> list[tuple[Head, float]]:
    """The `n` highest-scoring heads of a `[layer, head]` array, best first (ties: lower index)."""
    flat = np.asarray(scores, dtype=np.float64).ravel()
    order = np.argsort(-flat, kind="stable")[: max(n, 0)]
    n_heads = scores.shape[1]
    return [((int(i) // n_heads, int(i) % n_heads), float(flat[i])) for i in order]


# --------------------------------------------------------------------------- masks (pure)
def previous_token_mask(n_pos: int, start: int = 0) -> np.ndarray:
    """`[q_pos, k_pos]`: key ``q - 1`` for every query whose previous position is a real token.

    Args:
        n_pos: sequence length.
        start: index of the first real token (1 when a BOS comes first; the BOS is no target).
    """
    mask = np.zeros((n_pos, n_pos), dtype=bool)
    q = np.arange(start + 1, n_pos)
    mask[q, q - 1] = True
    return mask


def induction_mask(n_pos: int, seq_len: int, start: int = 0) -> np.ndarray:
    """`[q_pos, k_pos]`: the diagonal at offset ``1 - seq_len`` for queries in copies 2, 3, ...

    On ``[BOS] + r + r`` (``r`` of length T = `seq_len`) the query at ``start + T + i`` (token
    ``r_i``) targets ``start + i + 1``, the token right after the first ``r_i``.
    """
    if seq_len < 1:
        raise ConfigError(f"seq_len must be at least 1, got {seq_len}.")
    mask = np.zeros((n_pos, n_pos), dtype=bool)
    q = np.arange(start + seq_len, n_pos)
    mask[q, q - seq_len + 1] = True
    return mask


def duplicate_token_mask(tokens: np.ndarray, start: int = 0) -> np.ndarray:
    """`[batch, q_pos, k_pos]`: earlier positions (>= `start`) holding the query's own token."""
    tokens = np.atleast_2d(np.asarray(tokens))
    n_pos = tokens.shape[1]
    same = tokens[:, :, None] == tokens[:, None, :]  # [batch, q_pos, k_pos]
    k = np.arange(n_pos)
    earlier = (k[None, :] < k[:, None]) & (k[None, :] >= start)  # [q_pos, k_pos]
    return same & earlier[None]


def prefix_matching_mask(tokens: np.ndarray, start: int = 0) -> np.ndarray:
    """`[batch, q_pos, k_pos]`: positions right after an earlier occurrence of the query's token.

    Key ``k`` is a target of query ``q`` when ``tokens[k - 1] == tokens[q]``, ``k - 1 < q`` and
    ``k - 1 >= start`` (the key may be the query itself when a token repeats back to back).
    """
    tokens = np.atleast_2d(np.asarray(tokens))
    n_pos = tokens.shape[1]
    mask = np.zeros((tokens.shape[0], n_pos, n_pos), dtype=bool)
    prev_same = tokens[:, :, None] == tokens[:, None, :-1]  # [batch, q_pos, k_pos - 1] (k-1 indexed)
    j = np.arange(n_pos - 1)  # j = k - 1
    ok = (j[None, :] < np.arange(n_pos)[:, None]) & (j[None, :] >= start)  # [q_pos, k_pos - 1]
    mask[:, :, 1:] = prev_same & ok[None]
    return mask


def masked_attention_score(pattern: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over queries (with >= 1 target) of the attention mass on their target keys.

    Args:
        pattern: `[batch, layer, head, q_pos, k_pos]` (or `[layer, head, q_pos, k_pos]`).
        mask: `[batch, q_pos, k_pos]` or `[q_pos, k_pos]` (shared by the batch); not modified.

    Returns:
        `[layer, head]` float64 scores in [0, 1]; all zeros when no query has a target.
    """
    pattern = np.asarray(pattern)
    if pattern.ndim == 4:
        pattern = pattern[None]
    if pattern.ndim != 5:
        raise ConfigError(f"pattern must be [batch, layer, head, q_pos, k_pos], got shape {pattern.shape}.")
    batch, n_layers, n_heads, n_q, n_k = pattern.shape
    m: np.ndarray = np.asarray(mask, dtype=bool)
    if m.ndim == 2:
        m = np.broadcast_to(m, (batch, *m.shape))
    if m.shape != (batch, n_q, n_k):
        raise ConfigError(f"mask shape {m.shape} does not match the pattern's {(batch, n_q, n_k)}.")
    rows = np.asarray(m.any(axis=-1))  # [batch, q_pos]
    n_rows = int(rows.sum())
    if n_rows == 0:
        return np.zeros((n_layers, n_heads), dtype=np.float64)
    total = np.zeros((n_layers, n_heads), dtype=np.float64)
    for b in range(batch):
        qs = np.flatnonzero(rows[b])
        if qs.size == 0:
            continue
        sub = pattern[b][:, :, qs, :]  # [layer, head, q_sel, k_pos]
        total += np.einsum("lhqk,qk->lh", sub, m[b, qs].astype(pattern.dtype), dtype=np.float64)
    return total / n_rows


def induction_score(pattern: np.ndarray, seq_len: int, start: int = 1) -> np.ndarray:
    """`[layer, head]` induction scores of patterns on sequences repeated with period `seq_len`."""
    return masked_attention_score(pattern, induction_mask(pattern.shape[-1], seq_len, start))


def previous_token_score(pattern: np.ndarray, start: int = 1) -> np.ndarray:
    """`[layer, head]` mean attention to the previous (real) token."""
    return masked_attention_score(pattern, previous_token_mask(pattern.shape[-1], start))


def duplicate_token_score(pattern: np.ndarray, tokens: np.ndarray, start: int = 1) -> np.ndarray:
    """`[layer, head]` mean attention mass on earlier copies of the query's token."""
    return masked_attention_score(pattern, duplicate_token_mask(tokens, start))


def prefix_matching_score(pattern: np.ndarray, tokens: np.ndarray, start: int = 1) -> np.ndarray:
    """`[layer, head]` mean attention mass on tokens that followed earlier copies of the query's."""
    return masked_attention_score(pattern, prefix_matching_mask(tokens, start))


# --------------------------------------------------------------------------- copying (pure)
def copying_scores_from_weights(
    embed: np.ndarray | torch.Tensor,
    unembed: np.ndarray | torch.Tensor,
    w_v: np.ndarray | torch.Tensor,
    w_o: np.ndarray | torch.Tensor,
) -> np.ndarray:
    """Eigenvalue copying score ``sum(Re λ) / sum(|λ|)`` of each head's full OV circuit.

    The full circuit is ``embed @ w_v[l, h] @ w_o[l, h] @ unembed`` (`[n_tok, n_tok]`); its
    nonzero eigenvalues equal those of ``w_o[l, h] @ (unembed @ embed) @ w_v[l, h]``
    (`[d_head, d_head]`), which is what is decomposed.

    Args:
        embed: `[n_tok, d_model]` token embeddings (rows of the tokens considered).
        unembed: `[d_model, n_tok]` unembedding columns of the same tokens.
        w_v: `[layer, head, d_model, d_head]` value maps (norm gains folded in).
        w_o: `[layer, head, d_head, d_model]` output maps.

    Returns:
        `[layer, head]` float64 scores in [-1, 1] (1: every eigenvalue real and positive).
    """
    import torch

    e = torch.as_tensor(embed, dtype=torch.float32)
    u = torch.as_tensor(unembed, dtype=torch.float32)
    gram = (u @ e).double()  # [d_model, d_model]
    wv = torch.as_tensor(w_v).double()
    wo = torch.as_tensor(w_o).double()
    small = wo @ gram @ wv  # [layer, head, d_head, d_head]
    eig = torch.linalg.eigvals(small)  # [layer, head, d_head]
    num = eig.real.sum(-1)
    den = eig.abs().sum(-1)
    out = torch.where(den > 0, num / den.clamp_min(1e-300), torch.zeros_like(num))
    return out.numpy()


# --------------------------------------------------------------------------- model access
def decoder_layers(model: Any) -> list[Any]:
    """The decoder layers of a Llama/Gemma-style HF causal LM (``model.model.layers``)."""
    for path in ("model.layers", "model.language_model.layers", "language_model.model.layers"):
        obj = model
        try:
            for part in path.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            continue
        layers = list(obj)
        if layers and hasattr(layers[0], "self_attn") and hasattr(layers[0].self_attn, "o_proj"):
            return layers
    raise ConfigError(
        f"{type(model).__name__} is not supported for head analysis: it needs Llama/Gemma-style "
        "layers (model.model.layers[i].self_attn.{q,k,v,o}_proj)."
    )


def _norm_gain(norm: Any, d_model: int) -> Any:
    """Per-dimension gain of an RMSNorm module (Gemma norms scale by ``1 + weight``)."""
    import torch

    weight = getattr(norm, "weight", None)
    if weight is None:
        return torch.ones(d_model)
    w = weight.detach().float().cpu()
    return 1.0 + w if type(norm).__name__.startswith("Gemma") else w


def _is_gemma(model: Any) -> bool:
    return "gemma" in str(getattr(model.config, "model_type", "")).lower()


def ov_weights(runner: HFRunner) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-head value and output maps with the norm gains folded in (see module docstring).

    Returns:
        ``w_v`` `[layer, head, d_model, d_head]` and ``w_o`` `[layer, head, d_head, d_model]`.
    """
    import torch

    model = runner.model
    layers = decoder_layers(model)
    n_heads = runner.info.n_heads
    d_model = runner.info.d_model
    gemma = _is_gemma(model)
    w_vs, w_os = [], []
    with torch.no_grad():
        for layer in layers:
            attn = layer.self_attn
            v = attn.v_proj.weight.detach().float().cpu()  # [n_kv * d_head, d_model]
            o = attn.o_proj.weight.detach().float().cpu()  # [d_model, n_heads * d_head]
            d_head = o.shape[1] // n_heads
            n_kv = v.shape[0] // d_head
            if n_kv < 1 or n_heads % n_kv:
                raise ConfigError(f"Cannot map {n_heads} query heads onto {n_kv} value heads.")
            rep = n_heads // n_kv  # HF repeat_kv: query head h reads value head h // rep
            g_in = _norm_gain(layer.input_layernorm, d_model)
            wv_kv = (v.view(n_kv, d_head, d_model) * g_in).transpose(1, 2)  # [n_kv, d_model, d_head]
            wv = wv_kv.repeat_interleave(rep, dim=0)  # [head, d_model, d_head]
            wo = o.t().reshape(n_heads, d_head, d_model)  # [head, d_head, d_model]
            if gemma:
                wo = wo * _norm_gain(layer.post_attention_layernorm, d_model)
            w_vs.append(wv)
            w_os.append(wo)
    return torch.stack(w_vs), torch.stack(w_os)


def candidate_tokens(tokenizer: Any, d_vocab: int, *, frequent_frac: float = 0.04) -> np.ndarray:
    """Ordinary vocabulary ids the random probes (and the copying score) draw from.

    Drops special and control-looking tokens (``<...>``, ``[...]``: unused slots, byte tokens,
    markup), then the first `frequent_frac` of the remaining ids (BPE ids are roughly ranked by
    frequency; Olsson et al. exclude the most common tokens) and the same share at the rare end.
    """
    n = min(len(tokenizer), d_vocab)
    strings = tokenizer.convert_ids_to_tokens(list(range(n)))
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    ids = np.array(
        [
            i
            for i, s in enumerate(strings)
            if i not in special and s and s.strip("▁Ġ ") and not _CONTROL_TOKEN_RE.match(s)
        ],
        dtype=np.int64,
    )
    cut = int(len(ids) * frequent_frac)
    band = ids[cut : len(ids) - cut] if len(ids) - 2 * cut >= 100 else ids
    if len(band) < 100:
        raise ConfigError(f"The tokenizer has only {len(band)} ordinary tokens; head probes need 100+.")
    return band


def bos_token_id(tokenizer: Any) -> int:
    """The token put first in every probe (BOS, else EOS, else PAD, else 0), as `HFRunner` does."""
    for cand in (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id, 0):
        if cand is not None:
            return int(cand)
    return 0


# --------------------------------------------------------------------------- probes
@dataclass(frozen=True, slots=True)
class ProbeConfig:
    """Random repeated sequences the head scores are measured on.

    Attributes:
        seq_len: T of the induction batch: each sequence is BOS + 2 copies of T random tokens.
        n_seqs: sequences per batch (the induction and the prefix-matching batch each).
        prefix_seq_len: T of the prefix-matching batch (Olsson et al.: 25).
        prefix_repeats: copies in the prefix-matching batch (Olsson et al.: 4).
        seed: seeds the token draw (`np.random.default_rng`).
    """

    seq_len: int = 50
    n_seqs: int = 4
    prefix_seq_len: int = 25
    prefix_repeats: int = 4
    seed: int = 0

    def __post_init__(self) -> None:
        if self.seq_len < 2 or self.prefix_seq_len < 2:
            raise ConfigError("Probe sequences need at least 2 random tokens.")
        if self.n_seqs < 1:
            raise ConfigError("n_seqs must be at least 1.")
        if self.prefix_repeats < 2:
            raise ConfigError("prefix_repeats must be at least 2 (a token needs an earlier occurrence).")
        if self.seed < 0:
            raise ConfigError("seed must be 0 or more.")


@dataclass(frozen=True, slots=True)
class ProbeBatch:
    """Attention of a model on one batch of repeated random sequences.

    Attributes:
        tokens: `[batch, pos]` ids (BOS first).
        pattern: `[batch, layer, head, q_pos, k_pos]` float32.
        seq_len: period T of the repetition.
        start: index of the first random token (1: after the BOS).
    """

    tokens: np.ndarray
    pattern: np.ndarray
    seq_len: int
    start: int = 1


@dataclass(frozen=True, slots=True)
class HeadProbe:
    """Everything a head-score function may read.

    Attributes:
        induction: BOS + 2 copies of T tokens (induction, previous/duplicate token).
        prefix: BOS + R copies of T' tokens (prefix matching); None when not needed.
        runner: the model, for weight-based scores (copying); None in pure tests.
    """

    induction: ProbeBatch | None
    prefix: ProbeBatch | None = None
    runner: HFRunner | None = None


def random_repeated_tokens(
    candidates: np.ndarray, n_seqs: int, seq_len: int, repeats: int, bos: int, rng: np.random.Generator
) -> np.ndarray:
    """`[n_seqs, 1 + repeats * seq_len]`: BOS then `repeats` copies of `seq_len` distinct tokens."""
    if seq_len > len(candidates):
        raise ConfigError(f"seq_len {seq_len} exceeds the {len(candidates)} candidate tokens.")
    rows = []
    for _ in range(n_seqs):
        r = rng.choice(candidates, size=seq_len, replace=False)
        rows.append(np.concatenate([[bos], np.tile(r, repeats)]))
    return np.asarray(rows, dtype=np.int64)


def _need(probe: HeadProbe, which: Literal["induction", "prefix"]) -> ProbeBatch:
    batch = probe.induction if which == "induction" else probe.prefix
    if batch is None:
        raise ConfigError(f"This score needs the {which} probe batch, which was not collected.")
    return batch


def score_induction(probe: HeadProbe) -> np.ndarray:
    b = _need(probe, "induction")
    return induction_score(b.pattern, b.seq_len, b.start)


def score_prefix_matching(probe: HeadProbe) -> np.ndarray:
    b = _need(probe, "prefix")
    # queries in the first copy have no earlier occurrence, so the mask leaves them out
    return prefix_matching_score(b.pattern, b.tokens, b.start)


def score_previous_token(probe: HeadProbe) -> np.ndarray:
    b = _need(probe, "induction")
    return previous_token_score(b.pattern, b.start)


def score_duplicate_token(probe: HeadProbe) -> np.ndarray:
    b = _need(probe, "induction")
    return duplicate_token_score(b.pattern, b.tokens, b.start)


def score_copying(probe: HeadProbe) -> np.ndarray:
    if probe.runner is None:
        raise ConfigError("The copying score reads the model's weights; no model was given.")
    return copying_scores(probe.runner)


HeadScoreFn = Callable[[HeadProbe], np.ndarray]

HEAD_SCORES: dict[str, HeadScoreFn] = {
    "induction": score_induction,
    "prefix_matching": score_prefix_matching,
    "previous_token": score_previous_token,
    "duplicate_token": score_duplicate_token,
    "copying": score_copying,
}
# which probe batches each score reads (so a partial request runs only what it needs)
_NEEDS: dict[str, frozenset[str]] = {
    "induction": frozenset({"induction"}),
    "prefix_matching": frozenset({"prefix"}),
    "previous_token": frozenset({"induction"}),
    "duplicate_token": frozenset({"induction"}),
    "copying": frozenset(),
}


def get_head_score(name: str) -> HeadScoreFn:
    return lookup(HEAD_SCORES, name, "head score")


# --------------------------------------------------------------------------- per-model caches
_CACHE_LOCK = threading.Lock()
_CANDIDATES: weakref.WeakKeyDictionary[Any, np.ndarray] = weakref.WeakKeyDictionary()
_COPYING: weakref.WeakKeyDictionary[Any, np.ndarray] = weakref.WeakKeyDictionary()
_SCORES: weakref.WeakKeyDictionary[Any, dict[tuple[ProbeConfig, tuple[str, ...]], HeadScores]] = (
    weakref.WeakKeyDictionary()
)


# models that currently run with ablated heads (engine.interp.ablation): their probe results are not cached
_ABLATED: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


def mark_ablated(model: Any, active: bool) -> None:
    """Called by `engine.interp.ablation.ablate_heads` on entry (True) and exit (False); nests."""
    with _CACHE_LOCK:
        depth = _ABLATED.get(model, 0) + (1 if active else -1)
        if depth > 0:
            _ABLATED[model] = depth
        else:
            _ABLATED.pop(model, None)


def is_ablated(model: Any) -> bool:
    with _CACHE_LOCK:
        return _ABLATED.get(model, 0) > 0


def clear_caches() -> None:
    """Forgets every per-model cache of this module (candidates, copying scores, probe scores)."""
    with _CACHE_LOCK:
        _CANDIDATES.clear()
        _COPYING.clear()
        _SCORES.clear()


def runner_candidates(runner: HFRunner) -> np.ndarray:
    """`candidate_tokens` of the runner's tokenizer, cached per model."""
    with _CACHE_LOCK:
        hit = _CANDIDATES.get(runner.model)
    if hit is not None:
        return hit
    cands = candidate_tokens(runner.tokenizer, runner.info.d_vocab)
    with _CACHE_LOCK:
        _CANDIDATES[runner.model] = cands
    return cands


def copying_scores(runner: HFRunner) -> np.ndarray:
    """`[layer, head]` eigenvalue copying scores of the runner's model, computed once per model."""
    import torch

    with _CACHE_LOCK:
        hit = _COPYING.get(runner.model)
    if hit is not None:
        return hit.copy()
    model = runner.model
    idx = torch.as_tensor(runner_candidates(runner))
    with torch.no_grad():
        embed = model.get_input_embeddings().weight.detach().float().cpu()[idx]  # [n_tok, d_model]
        lm_head = model.get_output_embeddings()
        if lm_head is None:
            raise ConfigError("The model has no output embedding (lm_head); copying needs one.")
        u = lm_head.weight.detach().float().cpu()[idx]  # [n_tok, d_model]
        norm = getattr(getattr(model, "model", model), "norm", None)
        g_final = _norm_gain(norm, runner.info.d_model) if norm is not None else torch.ones(u.shape[1])
        unembed = (u * g_final).t()  # [d_model, n_tok]
        w_v, w_o = ov_weights(runner)
    scores = copying_scores_from_weights(embed, unembed, w_v, w_o)
    with _CACHE_LOCK:
        _COPYING[runner.model] = scores
    return scores.copy()


# --------------------------------------------------------------------------- model-level run
@dataclass(frozen=True, slots=True)
class HeadScores:
    """Every requested score of every head of one model.

    Attributes:
        model: model name.
        scores: score name -> `[layer, head]` float64 array.
        config: the probes used.
        seconds: wall time of the computation (0 when served from the cache).
        n_tokens: tokens run through the model.
    """

    model: str
    scores: dict[str, np.ndarray]
    config: ProbeConfig
    seconds: float = 0.0
    n_tokens: int = 0
    n_layers: int = field(init=False)
    n_heads: int = field(init=False)

    def __post_init__(self) -> None:
        shapes = {v.shape for v in self.scores.values()}
        if len(shapes) != 1:
            raise ConfigError(f"Head scores must share one [layer, head] shape, got {shapes}.")
        n_layers, n_heads = next(iter(shapes))
        object.__setattr__(self, "n_layers", int(n_layers))
        object.__setattr__(self, "n_heads", int(n_heads))

    def top(self, name: str, n: int = 5) -> list[tuple[Head, float]]:
        return top_heads(lookup(self.scores, name, "head score"), n)

    def to_json(self) -> dict[str, list[list[float]]]:
        """name -> nested lists `[n_layers][n_heads]` (rounded to 6 decimals)."""
        return {k: np.round(v, 6).tolist() for k, v in self.scores.items()}

    def table(self) -> list[dict[str, float | int | str]]:
        """One row per head: label, layer, head and every score (for sortable tables)."""
        rows: list[dict[str, float | int | str]] = []
        for layer in range(self.n_layers):
            for head in range(self.n_heads):
                row: dict[str, float | int | str] = {
                    "head": head_label(layer, head),
                    "layer": layer,
                    "index": head,
                }
                for k, v in self.scores.items():
                    row[k] = float(v[layer, head])
                rows.append(row)
        return rows


def collect_probes(
    runner: HFRunner,
    config: ProbeConfig,
    *,
    batches: frozenset[str] = frozenset({"induction", "prefix"}),
) -> tuple[ProbeBatch | None, ProbeBatch | None, int]:
    """Runs the seeded random sequences through the model in ONE batched forward pass.

    Both batches are drawn from one generator seeded with `config.seed` (the induction batch
    first, so it does not change when only it is requested). Sequences are right-padded to a
    common length with an attention mask; only the decoder runs (no unembedding), since only
    attention patterns are read.

    Returns:
        (induction batch or None, prefix batch or None, tokens processed).
    """
    import torch

    cands = runner_candidates(runner)
    bos = bos_token_id(runner.tokenizer)
    rng = np.random.default_rng(config.seed)
    ind = random_repeated_tokens(cands, config.n_seqs, config.seq_len, 2, bos, rng)
    pre = random_repeated_tokens(cands, config.n_seqs, config.prefix_seq_len, config.prefix_repeats, bos, rng)
    parts: list[tuple[str, np.ndarray, int]] = []
    if "induction" in batches:
        parts.append(("induction", ind, config.seq_len))
    if "prefix" in batches:
        parts.append(("prefix", pre, config.prefix_seq_len))
    if not parts:
        return None, None, 0
    n_pos = max(p[1].shape[1] for p in parts)
    if n_pos > runner.info.n_ctx:
        raise ConfigError(
            f"Probe sequences of {n_pos} tokens exceed the model's context ({runner.info.n_ctx})."
        )
    rows = sum(p[1].shape[0] for p in parts)
    input_ids = torch.full((rows, n_pos), runner.pad_id, dtype=torch.long)
    mask = torch.zeros((rows, n_pos), dtype=torch.long)
    r = 0
    for _name, toks, _t in parts:
        input_ids[r : r + len(toks), : toks.shape[1]] = torch.as_tensor(toks)
        mask[r : r + len(toks), : toks.shape[1]] = 1
        r += len(toks)
    model = runner.model
    decoder = model.get_decoder() if hasattr(model, "get_decoder") else model
    with runner.lock, torch.inference_mode():
        out = decoder(
            input_ids=input_ids.to(runner.device),
            attention_mask=mask.to(runner.device),
            output_attentions=True,
            use_cache=False,
        )
    n_tokens = int(mask.sum())
    runner.work.add(n_tokens, 1)
    if not out.attentions:
        raise ConfigError("The model returned no attention patterns; load it with eager attention.")
    # [layer, batch, head, q, k] -> [batch, layer, head, q, k]
    stacked = torch.stack([a.float() for a in out.attentions]).transpose(0, 1).cpu().numpy()
    result: dict[str, ProbeBatch] = {}
    r = 0
    for name, toks, t in parts:
        n = toks.shape[1]
        result[name] = ProbeBatch(tokens=toks, pattern=stacked[r : r + len(toks), :, :, :n, :n], seq_len=t)
        r += len(toks)
    return result.get("induction"), result.get("prefix"), n_tokens


def score_heads(
    runner: HFRunner,
    names: Sequence[str] | None = None,
    config: ProbeConfig | None = None,
    *,
    use_cache: bool = True,
    progress: ProgressFn | None = None,
) -> HeadScores:
    """Scores every head of the runner's model; results are cached per (model, config, names).

    Args:
        runner: an `HFRunner` (reads `.model`, `.tokenizer`; holds `.lock` for the forward).
        names: scores to compute (default: all of `HEAD_SCORES`); unknown names raise
            `ConfigError` listing the known ones.
        config: probe sequences (default `ProbeConfig()`, seed 0).
        use_cache: reuse an earlier result for the same model and config.
        progress: optional callback ``(fraction, message)``.
    """
    config = config or ProbeConfig()
    wanted = tuple(dict.fromkeys(names)) if names is not None else HEAD_SCORE_NAMES
    if not wanted:
        raise ConfigError(f"Choose at least one head score: {', '.join(HEAD_SCORES)}.")
    fns = {n: get_head_score(n) for n in wanted}
    key = (config, wanted)
    # attention under ablation is not the model's own: never cache it (copying reads weights only)
    use_cache = use_cache and not is_ablated(runner.model)
    if use_cache:
        with _CACHE_LOCK:
            hit = _SCORES.get(runner.model, {}).get(key)
        if hit is not None:
            return HeadScores(hit.model, {k: v.copy() for k, v in hit.scores.items()}, config, 0.0, 0)
    t0 = time.perf_counter()
    needs = frozenset().union(*(_NEEDS[n] for n in wanted))
    if progress:
        progress(0.05, "Running the random repeated sequences through the model...")
    ind, pre, n_tokens = collect_probes(runner, config, batches=needs)
    probe = HeadProbe(induction=ind, prefix=pre, runner=runner)
    scores: dict[str, np.ndarray] = {}
    for i, (name, fn) in enumerate(fns.items()):
        if progress:
            progress(0.5 + 0.5 * i / max(len(fns), 1), f"Scoring {name}...")
        scores[name] = np.asarray(fn(probe), dtype=np.float64)
    result = HeadScores(runner.info.name, scores, config, time.perf_counter() - t0, n_tokens)
    if use_cache:
        with _CACHE_LOCK:
            _SCORES.setdefault(runner.model, {})[key] = result
    if progress:
        progress(1.0, f"Scored {result.n_layers * result.n_heads} heads in {result.seconds:.1f} s.")
    return result
