"""The probes the head scores are measured on: seeded random token sequences, repeated.

Every head is scored on sequences where the right answer of each detector is known position by
position: BOS then T random ordinary tokens repeated (2 copies of T = 50 for induction,
previous and duplicate token; 4 copies of T' = 25 for prefix matching, as Olsson et al. 2022 and
Bansal et al. 2023 measure it). `collect_probes` runs both batches through the model in one
batched decoder pass (through `engine.model.arch`) and keeps their attention patterns.

Shapes: tokens `[batch, pos]`; pattern `[batch, layer, head, q_pos, k_pos]`.

References:
    Olsson et al. 2022, "In-context Learning and Induction Heads", arXiv:2209.11895.
    Bansal et al. 2023, "Rethinking the Role of Scale for In-Context Learning", ACL (prefix
    matching on 25 random tokens repeated 4 times, excluding the most frequent tokens).
"""

from __future__ import annotations

import re
import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.core.errors import ConfigError
from engine.model import arch

if TYPE_CHECKING:
    from engine.model.hf_runner import HFRunner

PROBE_BATCHES: frozenset[str] = frozenset({"induction", "prefix"})  # what `collect_probes` can run

_CONTROL_TOKEN_RE = re.compile(r"^(<[^<>]*>|\[[^\[\]]*\])$")
_CACHE_LOCK = threading.Lock()
_CANDIDATES: weakref.WeakKeyDictionary[Any, np.ndarray] = weakref.WeakKeyDictionary()


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


def clear_candidates() -> None:
    """Forgets the cached candidate tokens of every model."""
    with _CACHE_LOCK:
        _CANDIDATES.clear()


def collect_probes(
    runner: HFRunner,
    config: ProbeConfig,
    *,
    batches: frozenset[str] = PROBE_BATCHES,
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
    with runner.lock, torch.inference_mode():
        attentions = arch.attention_patterns(
            runner.model, input_ids.to(runner.device), mask.to(runner.device)
        )
    n_tokens = int(mask.sum())
    runner.work.add(n_tokens, 1)
    # [layer, batch, head, q, k] -> [batch, layer, head, q, k]
    stacked = torch.stack([a.float() for a in attentions]).transpose(0, 1).cpu().numpy()
    result: dict[str, ProbeBatch] = {}
    r = 0
    for name, toks, t in parts:
        n = toks.shape[1]
        result[name] = ProbeBatch(tokens=toks, pattern=stacked[r : r + len(toks), :, :, :n, :n], seq_len=t)
        r += len(toks)
    return result.get("induction"), result.get("prefix"), n_tokens
