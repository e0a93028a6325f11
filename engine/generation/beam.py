"""Beam search: the one strategy with a search of its own instead of a per-step pick.

`num_beams` rows are kept; a finished hypothesis (EOS or stop sequence) is scored
``sum log p / n_generated ** length_penalty`` and the search ends when no live beam can beat
the worst kept hypothesis (the transformers "early_stopping=False" heuristic). Repetition
penalties apply per row, as in every strategy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.generation.config import Choice, DecodeConfig
from engine.generation.processors import apply_penalties, choice_at, log_softmax
from engine.generation.protocol import ChoiceStream, FinishedFn, StepFn, StepSession, never_stop


@dataclass(frozen=True, slots=True)
class _Hyp:
    ids: tuple[int, ...]
    score: float  # sum of penalised log-probs
    choices: tuple[Choice, ...] = field(default=())


def _normalised(score: float, length: int, length_penalty: float) -> float:
    return score / (max(length, 1) ** length_penalty)


def decode_beam(
    session: StepSession,
    cfg: DecodeConfig,
    max_new: int,
    rng: np.random.Generator,
    finished: FinishedFn,
    at_step: StepFn = never_stop,
) -> ChoiceStream:
    """Beam search; yields the best hypothesis' tokens once the search is over.

    At each step the live beams' 2 * num_beams best extensions are ranked; an extension that
    finishes (EOS or a stop sequence) and ranks within the first num_beams is kept as a
    hypothesis, the others fill the live beams up to num_beams. When `at_step` says stop, the
    live beams compete as they are with the finished ones (as when out of tokens).
    """
    n = cfg.num_beams
    live = [_Hyp((), 0.0)]
    done: list[tuple[float, _Hyp]] = []
    counts: np.ndarray | None = None
    for step in range(max_new):
        if step:
            scored = [*done, *((_normalised(h.score, len(h.ids), cfg.length_penalty), h) for h in live)]
            if at_step(step, max(scored, key=lambda d: d[0])[1].choices):
                done = scored
                break
        raw = session.logprobs()  # [row, d_vocab]
        counts = np.zeros_like(raw) if counts is None else counts
        lp = log_softmax(apply_penalties(raw, counts, cfg))
        total = np.asarray([h.score for h in live])[:, None] + lp  # [row, d_vocab]
        flat = total.ravel()
        n_cand = min(2 * n, flat.size)
        cand = np.argpartition(-flat, n_cand - 1)[:n_cand]
        cand = cand[np.lexsort((cand, -flat[cand]))]
        nxt: list[_Hyp] = []
        parents: list[int] = []
        tokens: list[int] = []
        for rank, flat_i in enumerate(cand):
            if not np.isfinite(flat[flat_i]):
                break
            row, token = divmod(int(flat_i), lp.shape[1])
            h = live[row]
            hyp = _Hyp((*h.ids, token), float(flat[flat_i]), (*h.choices, choice_at(raw[row], token, cfg)))
            if finished(hyp.ids):
                if rank < n:
                    done.append((_normalised(hyp.score, len(hyp.ids), cfg.length_penalty), hyp))
            else:
                nxt.append(hyp)
                parents.append(row)
                tokens.append(token)
            if len(nxt) == n:
                break
        done = sorted(done, key=lambda d: -d[0])[:n]
        if not nxt:
            break
        best_live = _normalised(max(h.score for h in nxt), step + 1, cfg.length_penalty)
        if len(done) == n and done[-1][0] >= best_live:
            break  # no live beam can overtake the kept hypotheses
        if step + 1 == max_new:  # out of tokens: the live beams compete as they are
            done.extend((_normalised(h.score, len(h.ids), cfg.length_penalty), h) for h in nxt)
            break
        session.advance(parents, tokens)
        counts = counts[parents]
        counts[np.arange(len(tokens)), tokens] += 1
        live = nxt
    if done:
        yield from max(done, key=lambda d: d[0])[1].choices
