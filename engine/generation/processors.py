"""Logit processors of the decoders: pure functions on `[row, d_vocab]` (or `[d_vocab]`) arrays.

* `log_softmax`: the one log-softmax of the generation code (numpy, float64).
* `apply_penalties`: repetition controls, the OpenAI way, on the log-probs before temperature:
  ``l[x] -= frequency_penalty * c[x] + presence_penalty * [c[x] > 0]`` where ``c[x]`` counts
  ``x`` among the tokens generated so far (prompt tokens are not counted).
* `filter_logits`: temperature, then top-k (Fan et al. 2018), then top-p (nucleus: the smallest
  set of tokens whose probability mass reaches p, Holtzman et al. 2020).
* `contrastive_scores`: Li et al. (2023): ``log p_exp(x) - log p_ama(x)`` on the plausible
  tokens ``V_head = {x : p_exp(x) >= alpha * max_x' p_exp(x')}``.
* `choice_at`: the `Choice` record of a picked token (its log-prob under the model itself and
  the model's top alternatives).
"""

from __future__ import annotations

import math

import numpy as np

from engine.generation.config import Choice, DecodeConfig


def log_softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float64 (`-inf` entries stay `-inf`)."""
    x = np.asarray(x, dtype=np.float64)
    m = np.max(x, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return x - m - np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True))


def apply_penalties(logprobs: np.ndarray, counts: np.ndarray, cfg: DecodeConfig) -> np.ndarray:
    """OpenAI-style presence/frequency penalties on `[row, d_vocab]` log-probs (returns a new array)."""
    if cfg.presence_penalty == 0 and cfg.frequency_penalty == 0:
        return logprobs
    return logprobs - cfg.frequency_penalty * counts - cfg.presence_penalty * (counts > 0)


def top_alternatives(lp_row: np.ndarray, n: int) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """The `n` most likely ids of `lp_row` `[d_vocab]` and their log-probs, best first (ties: lower id)."""
    if n <= 0:
        return (), ()
    n = min(n, lp_row.shape[0])
    idx = np.argpartition(-lp_row, n - 1)[:n]
    idx = idx[np.lexsort((idx, -lp_row[idx]))]
    return tuple(int(i) for i in idx), tuple(float(lp_row[i]) for i in idx)


def choice_at(raw_row: np.ndarray, token: int, cfg: DecodeConfig) -> Choice:
    """The `Choice` of `token` given the model's own log-probs `raw_row` `[d_vocab]`."""
    top_ids, top_lps = top_alternatives(raw_row, cfg.n_top)
    return Choice(int(token), float(raw_row[token]), top_ids, top_lps)


def filter_logits(logits: np.ndarray, cfg: DecodeConfig) -> np.ndarray:
    """Temperature, then top-k, then top-p on one row `[d_vocab]`; returns log-probs (-inf = cut).

    Ties at the top-k boundary keep the lower ids; top-p keeps the smallest prefix of the
    tokens sorted by probability whose mass reaches `top_p` (at least one token).
    """
    x = np.asarray(logits, dtype=np.float64) / cfg.temperature
    x = log_softmax(x)
    order = np.lexsort((np.arange(x.shape[0]), -x))  # descending, ties by id
    keep = np.ones(x.shape[0], dtype=bool)
    if cfg.top_k is not None and cfg.top_k < x.shape[0]:
        keep[:] = False
        keep[order[: cfg.top_k]] = True
    if cfg.top_p is not None and cfg.top_p < 1.0:
        kept_order = order[keep[order]]
        probs = np.exp(x[kept_order])
        probs /= probs.sum()
        before = np.cumsum(probs) - probs
        nucleus = kept_order[before < cfg.top_p - 1e-12]
        keep[:] = False
        keep[nucleus if nucleus.size else kept_order[:1]] = True
    out = np.where(keep, x, -np.inf)
    return log_softmax(out)


def contrastive_scores(
    expert: np.ndarray, amateur: np.ndarray, alpha: float, amateur_temperature: float
) -> np.ndarray:
    """Li et al. (2023) score on one row: log p_exp - log p_ama on V_head, -inf elsewhere.

    Args:
        expert: `[d_vocab]` expert log-probs (already penalised).
        amateur: `[d_vocab]` amateur log-probs (temperature 1).
        alpha: plausibility cut-off: V_head = {x : p_exp(x) >= alpha * max p_exp}.
        amateur_temperature: the amateur distribution is softmax(log p_ama / temperature).
    """
    lp_e = log_softmax(expert)
    lp_a = log_softmax(np.asarray(amateur, dtype=np.float64) / amateur_temperature)
    head = lp_e >= np.max(lp_e) + math.log(alpha) if alpha > 0 else np.isfinite(lp_e)
    with np.errstate(invalid="ignore"):
        return np.where(head, lp_e - lp_a, -np.inf)
