"""Pure head-detection maths: head labels, target masks, attention scores and the OV copying score.

Nothing here touches a model: every function takes arrays and returns arrays, so each detector
is checked by hand on patterns written out in the tests (`engine.interp.heads` runs the model and
keeps the registry of scores). Detection patterns are pure functions returning masks; a score is
the attention mass each query puts on its masked keys, averaged over the queries that have at
least one target. Inputs are never modified.

Shape vocabulary (TransformerLens style), stated once:
    tokens    [batch, pos]                              int64 token ids
    pattern   [batch, layer, head, q_pos, k_pos]        float32 attention probabilities
    mask      [batch, q_pos, k_pos]  (or [q_pos, k_pos]) bool, "these keys are the target"
    scores    [layer, head]                             heads labelled ``L{layer}H{head}``

What each mask selects is in `engine.interp.heads`' module docstring (the probes they are
measured on are defined there).

References:
    Olsson et al. 2022, "In-context Learning and Induction Heads", arXiv:2209.11895.
    Elhage et al. 2021, "A Mathematical Framework for Transformer Circuits".
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from engine.core.errors import ConfigError

if TYPE_CHECKING:
    import torch

Head = tuple[int, int]  # (layer, head)

_LABEL_RE = re.compile(r"^\s*L(\d+)\s*H(\d+)\s*$", re.IGNORECASE)


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
