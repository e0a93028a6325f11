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

Detectors are pure functions of (pattern, tokens) returning masks (`engine.interp.patterns`); a
score is the attention mass each query puts on its masked keys, averaged over the queries that
have at least one target. The probes are `engine.interp.probes`; every score is one entry of
`HEAD_SCORES`, whose spec says what it needs (see docs/howto/head_score.md):

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
  per-dimension gains and drop the per-token 1/rms; the weights are read by `engine.model.arch`):

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

import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np

from engine.core.errors import ConfigError, lookup
from engine.core.registry import Registry
from engine.interp.patterns import Head as Head  # re-exported
from engine.interp.patterns import copying_scores_from_weights as copying_scores_from_weights  # re-exported
from engine.interp.patterns import duplicate_token_mask as duplicate_token_mask  # re-exported
from engine.interp.patterns import duplicate_token_score as duplicate_token_score  # re-exported
from engine.interp.patterns import head_label as head_label  # re-exported
from engine.interp.patterns import induction_mask as induction_mask  # re-exported
from engine.interp.patterns import induction_score as induction_score  # re-exported
from engine.interp.patterns import masked_attention_score as masked_attention_score  # re-exported
from engine.interp.patterns import parse_head as parse_head  # re-exported
from engine.interp.patterns import prefix_matching_mask as prefix_matching_mask  # re-exported
from engine.interp.patterns import prefix_matching_score as prefix_matching_score  # re-exported
from engine.interp.patterns import previous_token_mask as previous_token_mask  # re-exported
from engine.interp.patterns import previous_token_score as previous_token_score  # re-exported
from engine.interp.patterns import top_heads as top_heads  # re-exported
from engine.interp.probes import PROBE_BATCHES, clear_candidates
from engine.interp.probes import ProbeBatch as ProbeBatch  # re-exported
from engine.interp.probes import ProbeConfig as ProbeConfig  # re-exported
from engine.interp.probes import bos_token_id as bos_token_id  # re-exported
from engine.interp.probes import candidate_tokens as candidate_tokens  # re-exported
from engine.interp.probes import collect_probes as collect_probes  # re-exported
from engine.interp.probes import random_repeated_tokens as random_repeated_tokens  # re-exported
from engine.interp.probes import runner_candidates as runner_candidates  # re-exported
from engine.model import arch
from engine.model.arch import decoder_layers as decoder_layers  # re-exported

if TYPE_CHECKING:
    import torch

    from engine.core.progress import ProgressFn
    from engine.model.hf_runner import HFRunner

HeadScoreName = Literal["induction", "prefix_matching", "previous_token", "duplicate_token", "copying"]
HEAD_SCORE_NAMES: tuple[str, ...] = get_args(HeadScoreName)
HeadNeed = Literal["induction", "prefix", "weights"]  # a probe batch, or the model's weights
HeadScoreFn = Callable[["HeadProbe"], np.ndarray]


# --------------------------------------------------------------------------- the registry
@dataclass(frozen=True, slots=True)
class HeadScoreSpec:
    """One head score: its function and what it reads.

    Attributes:
        name: the registry name (a `HeadScoreName`).
        fn: ``HeadProbe -> [layer, head]`` scores.
        needs: what `fn` reads from the probe: the ``"induction"`` / ``"prefix"`` batches (only
            those are run through the model) and ``"weights"`` (the runner itself).
        description: one line for the UI and the CLI help.
    """

    name: str
    fn: HeadScoreFn
    needs: frozenset[str]
    description: str

    def __post_init__(self) -> None:
        unknown = self.needs - set(get_args(HeadNeed))
        if unknown:
            raise ValueError(f"head score {self.name!r} needs unknown inputs {sorted(unknown)}")

    @classmethod
    def of(cls, fn: HeadScoreFn, *, name: str, needs: frozenset[str], description: str) -> HeadScoreSpec:
        return cls(name, fn, frozenset(needs), description)

    def __call__(self, probe: HeadProbe) -> np.ndarray:
        """Scores `probe` (so a spec is used like its function)."""
        return self.fn(probe)


HEAD_SCORES: Registry[HeadScoreSpec] = Registry("head score", make=HeadScoreSpec.of)


def get_head_score(name: str) -> HeadScoreSpec:
    """The spec of `name`, or a `ConfigError` that lists the known head scores."""
    return HEAD_SCORES.lookup(name)


# --------------------------------------------------------------------------- probe and scores
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


def _need(probe: HeadProbe, which: Literal["induction", "prefix"]) -> ProbeBatch:
    batch = probe.induction if which == "induction" else probe.prefix
    if batch is None:
        raise ConfigError(f"This score needs the {which} probe batch, which was not collected.")
    return batch


@HEAD_SCORES.register(
    "induction", needs=frozenset({"induction"}), description="attention to the token after the earlier copy"
)
def score_induction(probe: HeadProbe) -> np.ndarray:
    b = _need(probe, "induction")
    return induction_score(b.pattern, b.seq_len, b.start)


@HEAD_SCORES.register(
    "prefix_matching",
    needs=frozenset({"prefix"}),
    description="attention to tokens that followed earlier copies of the current one",
)
def score_prefix_matching(probe: HeadProbe) -> np.ndarray:
    b = _need(probe, "prefix")
    # queries in the first copy have no earlier occurrence, so the mask leaves them out
    return prefix_matching_score(b.pattern, b.tokens, b.start)


@HEAD_SCORES.register(
    "previous_token", needs=frozenset({"induction"}), description="attention to the position just before"
)
def score_previous_token(probe: HeadProbe) -> np.ndarray:
    b = _need(probe, "induction")
    return previous_token_score(b.pattern, b.start)


@HEAD_SCORES.register(
    "duplicate_token",
    needs=frozenset({"induction"}),
    description="attention to earlier copies of the same token",
)
def score_duplicate_token(probe: HeadProbe) -> np.ndarray:
    b = _need(probe, "induction")
    return duplicate_token_score(b.pattern, b.tokens, b.start)


@HEAD_SCORES.register(
    "copying", needs=frozenset({"weights"}), description="OV circuit eigenvalues: raises the attended token"
)
def score_copying(probe: HeadProbe) -> np.ndarray:
    if probe.runner is None:
        raise ConfigError("The copying score reads the model's weights; no model was given.")
    return copying_scores(probe.runner)


# --------------------------------------------------------------------------- per-model caches
_CACHE_LOCK = threading.Lock()
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
    """Forgets every per-model cache (candidate tokens, copying scores, probe scores)."""
    clear_candidates()
    with _CACHE_LOCK:
        _COPYING.clear()
        _SCORES.clear()


def ov_weights(runner: HFRunner) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-head value and output maps with the norm gains folded in (`engine.model.arch.ov_weights`).

    Returns:
        ``w_v`` `[layer, head, d_model, d_head]` and ``w_o`` `[layer, head, d_head, d_model]`.
    """
    return arch.ov_weights(runner.model, runner.info.n_heads, runner.info.d_model)


def copying_scores(runner: HFRunner) -> np.ndarray:
    """`[layer, head]` eigenvalue copying scores of the runner's model, computed once per model."""
    import torch

    with _CACHE_LOCK:
        hit = _COPYING.get(runner.model)
    if hit is not None:
        return hit.copy()
    idx = torch.as_tensor(runner_candidates(runner))
    embed, unembed = arch.token_embed_unembed(runner.model, idx, runner.info.d_model)
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
    specs = {n: get_head_score(n) for n in wanted}
    key = (config, wanted)
    # attention under ablation is not the model's own: never cache it (copying reads weights only)
    use_cache = use_cache and not is_ablated(runner.model)
    if use_cache:
        with _CACHE_LOCK:
            hit = _SCORES.get(runner.model, {}).get(key)
        if hit is not None:
            return HeadScores(hit.model, {k: v.copy() for k, v in hit.scores.items()}, config, 0.0, 0)
    t0 = time.perf_counter()
    needs = frozenset().union(*(spec.needs for spec in specs.values())) & PROBE_BATCHES
    if progress:
        progress(0.05, "Running the random repeated sequences through the model...")
    ind, pre, n_tokens = collect_probes(runner, config, batches=needs)
    probe = HeadProbe(induction=ind, prefix=pre, runner=runner)
    scores: dict[str, np.ndarray] = {}
    for i, (name, spec) in enumerate(specs.items()):
        if progress:
            progress(0.5 + 0.5 * i / max(len(specs), 1), f"Scoring {name}...")
        scores[name] = np.asarray(spec.fn(probe), dtype=np.float64)
    result = HeadScores(runner.info.name, scores, config, time.perf_counter() - t0, n_tokens)
    if use_cache:
        with _CACHE_LOCK:
            _SCORES.setdefault(runner.model, {})[key] = result
    if progress:
        progress(1.0, f"Scored {result.n_layers * result.n_heads} heads in {result.seconds:.1f} s.")
    return result
