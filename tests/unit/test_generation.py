"""Decoding strategies on a fake model with hand-set logits (engine.generation.decoders)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from engine.core.errors import ConfigError
from engine.generation.decoders import (
    STRATEGIES,
    DecodeConfig,
    FunctionStepModel,
    GenerationStream,
    PrefixFn,
    apply_penalties,
    contrastive_scores,
    filter_logits,
    find_stop,
    generate,
    safe_boundary,
)
from engine.model.fake import FakeRunner
from engine.prompting.prompts import PromptError

VOCAB = ["<eos>", " A", " B", " C", " D", " Q"]
# FakeRunner ids: <bos>=0, <unk>=1, <eos>=2, A=3, B=4, C=5, D=6, Q=7
BOS, EOS, A, B, C, D, Q = 0, 2, 3, 4, 5, 6, 7
N = len(VOCAB) + 2
NEG = -1e9


def logits(**by_token: float) -> np.ndarray:
    """Logits with the given values (token names A..Q, eos) and NEG elsewhere."""
    ids = {"eos": EOS, "A": A, "B": B, "C": C, "D": D, "Q": Q}
    out = np.full(N, NEG)
    for name, value in by_token.items():
        out[ids[name]] = value
    return out


def probs_logits(**probs: float) -> np.ndarray:
    return logits(**{k: math.log(v) for k, v in probs.items()})


def model_from(fn: PrefixFn, amateur_fn: PrefixFn | None = None) -> FunctionStepModel:
    return FunctionStepModel.from_fake(FakeRunner(VOCAB, fn), amateur_fn=amateur_fn)


def generated(prefix: Sequence[int]) -> list[int]:
    """The ids after the prompt " Q" (ids [BOS, Q])."""
    return list(prefix[2:])


# ----------------------------------------------------------------------------- greedy
def test_greedy_picks_the_argmax_and_reports_model_logprobs() -> None:
    table = [logits(A=1.0, B=2.0, C=0.5), logits(A=3.0, B=1.0), logits(D=2.0, C=1.9), logits(eos=5.0)]

    def fn(prefix: Sequence[int]) -> np.ndarray:
        return table[len(generated(prefix))]

    res = generate(model_from(fn), " Q", DecodeConfig(max_new_tokens=10))
    assert [t.id for t in res.tokens] == [B, A, D]
    assert res.text == " B A D"
    assert res.stop_reason == "eos"
    # log p(B) at step 1 = 2 - log(e^1 + e^2 + e^0.5)
    expected = 2.0 - math.log(math.exp(1.0) + math.exp(2.0) + math.exp(0.5))
    assert res.tokens[0].logprob == pytest.approx(expected)
    assert res.tokens[0].top[0] == (" B", pytest.approx(expected))
    assert [s for s, _ in res.tokens[0].top[:3]] == [" B", " A", " C"]


def test_eos_is_not_part_of_the_output_unless_disabled() -> None:
    def fn(prefix: Sequence[int]) -> np.ndarray:
        return logits(eos=2.0, A=1.0) if len(generated(prefix)) == 1 else logits(A=2.0, eos=1.0)

    res = generate(model_from(fn), " Q", DecodeConfig(max_new_tokens=4))
    assert [t.id for t in res.tokens] == [A] and res.stop_reason == "eos"
    res2 = generate(model_from(fn), " Q", DecodeConfig(max_new_tokens=3, stop_at_eos=False))
    assert [t.id for t in res2.tokens] == [A, EOS, A]
    assert res2.stop_reason == "max_new_tokens"


def test_max_new_tokens_and_context_limit() -> None:
    fn = lambda prefix: logits(A=1.0)  # noqa: E731
    res = generate(model_from(fn), " Q", DecodeConfig(max_new_tokens=5))
    assert len(res.tokens) == 5 and res.stop_reason == "max_new_tokens"
    small = FunctionStepModel.from_fake(FakeRunner(VOCAB, fn, n_ctx=4))
    res = generate(small, " Q", DecodeConfig(max_new_tokens=5))  # prompt = 2 tokens, room for 2
    assert len(res.tokens) == 2 and res.stop_reason == "context_full"
    with pytest.raises(PromptError, match="context"):
        generate(small, " Q Q Q Q", DecodeConfig())
    with pytest.raises(PromptError, match="empty"):
        generate(small, "   ", DecodeConfig())


# ----------------------------------------------------------------------------- sampling
def _sample_counts(fn: PrefixFn, cfg: DecodeConfig, n: int) -> Counter[int]:
    model = model_from(fn)
    out: Counter[int] = Counter()
    for seed in range(n):
        res = generate(model, " Q", replace(cfg, seed=seed, max_new_tokens=1))
        out[res.tokens[0].id] += 1
    return out


def test_top_k_never_samples_outside_the_k_best() -> None:
    fn = lambda prefix: probs_logits(A=0.3, B=0.25, C=0.2, D=0.15, Q=0.1)  # noqa: E731
    counts = _sample_counts(fn, DecodeConfig(strategy="sample", top_k=2), 400)
    assert set(counts) == {A, B}
    # renormalised: p(A) = 0.3 / 0.55
    assert counts[A] / 400 == pytest.approx(0.3 / 0.55, abs=0.08)


def test_top_p_respects_the_nucleus_mass() -> None:
    fn = lambda prefix: probs_logits(A=0.5, B=0.3, C=0.15, D=0.05)  # noqa: E731
    counts = _sample_counts(fn, DecodeConfig(strategy="sample", top_p=0.75), 400)
    assert set(counts) == {A, B}  # 0.5 < 0.75 <= 0.8
    counts = _sample_counts(fn, DecodeConfig(strategy="sample", top_p=0.85), 400)
    assert set(counts) <= {A, B, C} and C in counts  # 0.8 < 0.85 <= 0.95
    lp = filter_logits(fn([]), DecodeConfig(strategy="sample", top_p=0.75))
    assert np.exp(lp[A]) == pytest.approx(0.5 / 0.8) and np.exp(lp[B]) == pytest.approx(0.3 / 0.8)
    assert np.isneginf(lp[C]) and np.isneginf(lp[D])


def test_temperature_sharpens_and_flattens() -> None:
    base = probs_logits(A=0.6, B=0.4)
    cold = np.exp(filter_logits(base, DecodeConfig(strategy="sample", temperature=0.5)))
    hot = np.exp(filter_logits(base, DecodeConfig(strategy="sample", temperature=2.0)))
    # p ∝ p0^(1/T)
    assert cold[A] == pytest.approx(0.36 / (0.36 + 0.16))
    assert hot[A] == pytest.approx(math.sqrt(0.6) / (math.sqrt(0.6) + math.sqrt(0.4)))


def test_sampling_is_seeded() -> None:
    fn = lambda prefix: probs_logits(A=0.25, B=0.25, C=0.25, D=0.25)  # noqa: E731
    model = model_from(fn)
    cfg = DecodeConfig(strategy="sample", max_new_tokens=12, seed=7)
    first = [t.id for t in generate(model, " Q", cfg).tokens]
    assert first == [t.id for t in generate(model, " Q", cfg).tokens]
    other = [
        t.id for t in generate(model, " Q", DecodeConfig(strategy="sample", max_new_tokens=12, seed=8)).tokens
    ]
    assert other != first


# ----------------------------------------------------------------------------- beam search
def beam_trap(prefix: Sequence[int]) -> np.ndarray:
    """A is likelier first (0.5 vs 0.4), but A is followed by a flat distribution (max 0.25)
    while B is followed by C with 0.9: greedy gets 0.5*0.25, the best sequence is B C (0.36)."""
    gen = generated(prefix)
    if not gen:
        return probs_logits(A=0.5, B=0.4, D=0.1)
    if len(gen) == 1:
        return probs_logits(A=0.25, B=0.25, C=0.25, D=0.25) if gen[0] == A else probs_logits(C=0.9, D=0.1)
    return logits(eos=10.0)


def test_beam_search_finds_the_sequence_greedy_misses() -> None:
    model = model_from(beam_trap)
    greedy = generate(model, " Q", DecodeConfig(max_new_tokens=5))
    beam = generate(
        model, " Q", DecodeConfig(strategy="beam", num_beams=2, max_new_tokens=5, length_penalty=0.0)
    )
    assert [t.id for t in greedy.tokens] == [A, A]
    assert [t.id for t in beam.tokens] == [B, C]
    assert sum(beam.token_logprobs) == pytest.approx(math.log(0.36), abs=1e-6)
    assert sum(beam.token_logprobs) > sum(greedy.token_logprobs)
    assert beam.stop_reason == "eos"


def test_one_beam_is_greedy() -> None:
    model = model_from(beam_trap)
    one = generate(model, " Q", DecodeConfig(strategy="beam", num_beams=1, max_new_tokens=5))
    greedy = generate(model, " Q", DecodeConfig(max_new_tokens=5))
    assert [t.id for t in one.tokens] == [t.id for t in greedy.tokens]


def test_beam_length_penalty_prefers_longer_finished_hypotheses() -> None:
    """Ending at once has the best raw log-prob sum; normalised by length, A A A wins."""

    def fn2(prefix: Sequence[int]) -> np.ndarray:
        gen = generated(prefix)
        if not gen:
            return probs_logits(eos=0.45, A=0.55)
        return probs_logits(eos=0.3, A=0.7) if len(gen) < 3 else logits(eos=10.0)

    model2 = model_from(fn2)
    raw2 = generate(
        model2, " Q", DecodeConfig(strategy="beam", num_beams=2, max_new_tokens=6, length_penalty=0.0)
    )
    norm2 = generate(
        model2, " Q", DecodeConfig(strategy="beam", num_beams=2, max_new_tokens=6, length_penalty=1.0)
    )
    # sums: [eos] = log .45 = -0.80 (length 1); [A eos] = log(.55*.3) = -1.80 (length 2, mean -0.90);
    # [A A eos] = log(.55*.7*.3) = -2.16 (length 3, mean -0.72); [A A A eos] = log(.55*.7*.7) = -1.31 (length 4, mean -0.33)
    assert [t.id for t in raw2.tokens] == []  # the empty output (eos at once) has the best raw sum
    assert [t.id for t in norm2.tokens] == [A, A, A]


# ----------------------------------------------------------------------------- contrastive
def test_contrastive_prefers_the_token_the_amateur_underrates() -> None:
    expert = lambda prefix: probs_logits(A=0.5, B=0.45, C=0.04, D=0.01)  # noqa: E731
    amateur = lambda prefix: probs_logits(A=0.8, B=0.1, C=0.05, D=0.05)  # noqa: E731
    model = model_from(expert, amateur)
    greedy = generate(model, " Q", DecodeConfig(max_new_tokens=1))
    cd = generate(model, " Q", DecodeConfig(strategy="contrastive", max_new_tokens=1, alpha=0.1))
    assert greedy.tokens[0].id == A
    assert cd.tokens[0].id == B
    assert cd.tokens[0].logprob == pytest.approx(math.log(0.45))  # reported under the expert


def test_contrastive_plausibility_cutoff_excludes_implausible_tokens() -> None:
    expert = probs_logits(A=0.5, B=0.45, C=0.04, D=0.01)
    amateur = probs_logits(A=0.8, B=0.1, C=0.0001, D=0.0999)
    scores = contrastive_scores(expert, amateur, alpha=0.1, amateur_temperature=1.0)
    # C is what the amateur underrates most, but p(C) = 0.04 < 0.1 * 0.5: outside V_head
    assert np.isneginf(scores[C]) and np.isneginf(scores[D])
    assert scores[B] == pytest.approx(math.log(0.45) - math.log(0.1))
    assert int(np.argmax(scores)) == B
    # with alpha = 0 everything is plausible and C wins
    assert int(np.argmax(contrastive_scores(expert, amateur, 0.0, 1.0))) == C


def test_contrastive_needs_an_amateur() -> None:
    with pytest.raises(ConfigError, match="amateur"):
        generate(model_from(lambda p: logits(A=1.0)), " Q", DecodeConfig(strategy="contrastive"))


# ----------------------------------------------------------------------------- penalties
def test_presence_and_frequency_penalties_by_hand() -> None:
    fn = lambda prefix: logits(A=1.0, B=0.5)  # noqa: E731
    model = model_from(fn)
    plain = generate(model, " Q", DecodeConfig(max_new_tokens=4))
    assert [t.id for t in plain.tokens] == [A, A, A, A]
    presence = generate(model, " Q", DecodeConfig(max_new_tokens=4, presence_penalty=1.0))
    assert [t.id for t in presence.tokens] == [A, B, A, A]
    freq = generate(model, " Q", DecodeConfig(max_new_tokens=5, frequency_penalty=0.3))
    assert [t.id for t in freq.tokens] == [A, A, B, A, B]
    # the reported log-probs are the model's own, not the penalised ones
    assert presence.tokens[2].logprob == pytest.approx(1.0 - math.log(math.exp(1.0) + math.exp(0.5)))


def test_apply_penalties_formula() -> None:
    lp = np.zeros((1, 3))
    counts = np.array([[0.0, 1.0, 3.0]])
    out = apply_penalties(lp, counts, DecodeConfig(presence_penalty=0.5, frequency_penalty=0.25))
    assert out.tolist() == [[0.0, -0.75, -1.25]]
    assert lp.tolist() == [[0.0, 0.0, 0.0]]  # input not mutated


# ----------------------------------------------------------------------------- stop sequences, streaming
SEQ = [A, B, C, D, A, B]


def scripted(prefix: Sequence[int]) -> np.ndarray:
    gen = generated(prefix)
    return logits(**{"ABCD"[SEQ[len(gen)] - A] if len(gen) < len(SEQ) else "eos": 1.0})


def test_stop_sequence_cuts_the_text_before_it() -> None:
    res = generate(model_from(scripted), " Q", DecodeConfig(max_new_tokens=10, stop=(" C",)))
    assert res.text == " A B"
    assert [t.id for t in res.tokens] == [A, B]
    assert res.stop_reason == "stop_sequence"
    res = generate(model_from(scripted), " Q", DecodeConfig(max_new_tokens=10, stop=("C D A",)))
    assert res.text == " A B "  # the stop starts inside the token " C", which is kept
    assert [t.id for t in res.tokens] == [A, B, C]
    assert "".join(t.delta for t in res.tokens) == res.text


def test_stream_holds_back_a_possible_stop_until_decided() -> None:
    calls: list[int] = []

    def fn(prefix: Sequence[int]) -> np.ndarray:
        calls.append(len(generated(prefix)))
        return scripted(prefix)

    stream = GenerationStream(model_from(fn), " Q", DecodeConfig(max_new_tokens=6, stop=(" B D",)))
    seen: list[tuple[int, str, int]] = []
    for tok in stream:
        seen.append((tok.id, tok.delta, max(calls)))
    res = stream.result()
    # " B" could start " B D": it is released only once " C" shows it does not
    assert [(i, d) for i, d, _ in seen] == [(A, " A"), (B, " B"), (C, " C"), (D, " D"), (A, " A"), (B, " B")]
    assert seen[0][2] == 0 and seen[1][2] == 2  # B came out after the step that chose C
    assert res.text == " A B C D A B" and res.stop_reason == "max_new_tokens"


def test_stream_deltas_concatenate_to_the_text_for_every_strategy() -> None:
    for strategy in STRATEGIES:
        model = model_from(scripted, amateur_fn=lambda p: np.zeros(N))
        cfg = replace(DecodeConfig(max_new_tokens=8, stop=(" D A",), top_k=1), strategy=strategy)
        res = generate(model, " Q", cfg)
        assert "".join(t.delta for t in res.tokens) == res.text == " A B C", strategy


def test_stop_helpers() -> None:
    assert find_stop("abc\n\nxy", ["\n\n", "y"]) == 3
    assert find_stop("abc", ["z"]) is None
    assert safe_boundary("Paris\n", ["\n\n"]) == 5
    assert safe_boundary("Paris", ["\n\n"]) == 5
    assert safe_boundary("ab\ufffd", []) == 2
    assert safe_boundary("x Ans", ["Answer:"]) == 2


# ----------------------------------------------------------------------------- config
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"strategy": "nucleus"}, "Unknown decoding strategy"),
        ({"max_new_tokens": 0}, "max new tokens"),
        ({"temperature": 0.0}, "temperature"),
        ({"top_k": 0}, "top-k"),
        ({"top_p": 0.0}, "top-p"),
        ({"presence_penalty": 3.0}, "presence penalty"),
        ({"num_beams": 0}, "beams"),
        ({"alpha": 1.5}, "alpha"),
        ({"stop": ("",)}, "stop sequence"),
        ({"amateur_layer": 0}, "amateur layer"),
    ],
)
def test_config_validation(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        DecodeConfig(**kwargs)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- timing (issue 22, 7f)
class LazyModel(FunctionStepModel):
    """A model whose weights load on first use (open or prepare): 100 s on a fake clock."""

    def __init__(self, clock: list[float], fn: PrefixFn) -> None:
        fake = FakeRunner(VOCAB, fn)
        super().__init__(fake.vocab, fn, encode=fake.encode, decode=fake.decode, eos_ids=[EOS])
        self.clock = clock
        self.loaded = False

    def _load(self) -> None:
        if not self.loaded:
            self.clock[0] += 100.0
            self.loaded = True

    def prepare(self) -> None:
        self._load()

    def open(self, prompt_ids: Sequence[int], *, amateur: bool = False, amateur_layer: int | None = None):  # type: ignore[no-untyped-def]
        self._load()
        return super().open(prompt_ids, amateur=amateur, amateur_layer=amateur_layer)


def test_generation_time_excludes_loading_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first strategy of a side-by-side run used to pay for the model load (0.1 tokens/s)."""
    import engine.generation.stream as es  # GenerationStream reads its clock there

    clock = [0.0]

    def tick() -> float:  # every reading of the clock takes 0.01 s: decoding itself costs a little
        clock[0] += 0.01
        return clock[0]

    monkeypatch.setattr(es.time, "perf_counter", tick)
    model = LazyModel(clock, lambda p: logits(A=1.0) if len(p) < 5 else logits(eos=1.0))
    greedy = GenerationStream(model, " Q", DecodeConfig(strategy="greedy", max_new_tokens=8)).result()
    second = GenerationStream(model, " Q", DecodeConfig(strategy="greedy", max_new_tokens=8)).result()
    assert model.loaded and len(greedy.tokens) == len(second.tokens) == 3
    assert greedy.seconds < 1.0 and greedy.seconds == pytest.approx(second.seconds)
