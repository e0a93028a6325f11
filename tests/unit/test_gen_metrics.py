"""Generation metrics (engine.generation.metrics) and the built-in generation tasks (engine.data.gen_tasks)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from engine.core.errors import ConfigError
from engine.data.datasets import DataError
from engine.data.gen_tasks import (
    ADDITION_PAIRS,
    addition_reasoning,
    gen_task_names,
    load_gen_task,
    parse_gen_upload,
    split_gen_task,
)
from engine.generation.decoders import DecodeConfig, FunctionStepModel
from engine.generation.metrics import (
    GenEvalRow,
    aggregate,
    corpus_bleu,
    evaluate_generation,
    exact_match,
    normalize_answer,
    reference_perplexities,
    rouge,
    score_prediction,
    sentence_bleu,
    token_f1,
)
from engine.model.fake import FakeRunner
from engine.prompting.cot import GenFormat


# ----------------------------------------------------------------------------- text metrics
def test_exact_match_and_normalisation() -> None:
    assert normalize_answer("  The  Cat, sat! ") == "the cat sat"
    assert exact_match("Paris.", "paris") == 1.0
    assert exact_match("école", "ecole") == 0.0  # accents are kept
    assert exact_match("Paris is", "Paris") == 0.0


def test_token_f1_by_hand() -> None:
    # pred {new, delhi, city}, ref {new, delhi}: P = 2/3, R = 1, F1 = 0.8
    assert token_f1("New Delhi city", "New Delhi") == pytest.approx(0.8)
    assert token_f1("a a b", "a b b") == pytest.approx(2 / 3)  # overlap counts min multiplicities: a1 + b1
    assert token_f1("", "") == 1.0 and token_f1("x", "") == 0.0 and token_f1("x", "y") == 0.0


def test_bleu_uses_sacrebleu() -> None:
    import sacrebleu

    assert sentence_bleu("the cat sat on the mat", "the cat sat on the mat") == pytest.approx(100.0)
    hyp, ref = "the cat sat on a mat today", "the cat sat on the mat"
    assert sentence_bleu(hyp, ref) == pytest.approx(sacrebleu.sentence_bleu(hyp, [ref]).score)
    assert 0 < sentence_bleu(hyp, ref) < 100
    assert corpus_bleu(["a b c d", "e f g h"], ["a b c d", "e f g x"]) == pytest.approx(
        sacrebleu.corpus_bleu(["a b c d", "e f g h"], [["a b c d", "e f g x"]]).score
    )


def test_rouge_by_hand_and_unicode_words() -> None:
    r = rouge("the cat sat", "the cat sat down")
    # unigrams: P = 3/3, R = 3/4 -> F = 6/7; bigrams: 2/2 and 2/3 -> 0.8; LCS = 3 -> 6/7
    assert r["rouge1"] == pytest.approx(6 / 7)
    assert r["rouge2"] == pytest.approx(0.8)
    assert r["rougeL"] == pytest.approx(6 / 7)
    assert rouge("école", "école")["rouge1"] == 1.0
    assert rouge("école", "cole")["rouge1"] == 0.0  # the package's default tokenizer would say 1.0


def test_reference_perplexity_by_hand() -> None:
    vocab = [" maison", " chat"]

    def fn(prefix: Sequence[int]) -> np.ndarray:
        return np.log(np.array([1e-12, 1e-12, 0.25, 0.75]))  # p(" maison") = 0.25 everywhere

    runner = FakeRunner(vocab, fn)
    (ppl,) = reference_perplexities(runner, ["French:"], [" maison"])
    assert ppl == pytest.approx(4.0, rel=1e-6)
    (ppl2,) = reference_perplexities(runner, ["French:"], [" maison chat"])
    # tokens: " maison" (0.25) then " chat" (0.75): ppl = exp(-(log .25 + log .75) / 2)
    assert ppl2 == pytest.approx(math.exp(-(math.log(0.25) + math.log(0.75)) / 2), rel=1e-6)


def test_aggregate_means_and_corpus_bleu() -> None:
    rows = [
        GenEvalRow("a", "x y", "x y", "x y", True, score_prediction("x y", "x y", perplexity=2.0), 2),
        GenEvalRow("b", "z", "w", "w", True, score_prediction("w", "z", perplexity=8.0), 1),
        GenEvalRow("c", "q", "q", "q", True, score_prediction("q", "q"), 1),
    ]
    agg = aggregate(rows)
    assert agg.exact_match == pytest.approx(2 / 3)
    assert agg.perplexity == pytest.approx(5.0)  # median of 2 and 8
    assert agg.bleu == pytest.approx(corpus_bleu(["x y", "w", "q"], ["x y", "z", "q"]))


def test_evaluate_generation_on_a_fake_model() -> None:
    """A fake that always answers " paris" then a newline-free stop: EM is 1 on Paris, 0 on Rome."""
    vocab = [" paris", "<eos>", " rome"]
    runner = FakeRunner(vocab)
    paris, eos = runner.ids[" paris"], runner.ids["<eos>"]

    def fn(prefix: Sequence[int]) -> np.ndarray:
        out = np.full(len(runner.vocab), -30.0)
        out[eos if prefix[-1] == paris else paris] = 0.0
        return out

    runner.logits_fn = fn
    model = FunctionStepModel.from_fake(runner)
    task = load_gen_task("capitals")
    items = [it for it in task.items if it.output in ("Paris", "Rome")]
    res = evaluate_generation(
        model, GenFormat(template=task.template), [], items, DecodeConfig(max_new_tokens=3), runner=runner
    )
    assert [r.answer for r in res.rows] == ["paris", "paris"]
    assert [r.scores.exact_match for r in res.rows] == [1.0, 0.0]
    assert res.overall.exact_match == 0.5
    assert all(r.scores.perplexity is not None for r in res.rows)


# ----------------------------------------------------------------------------- tasks
def test_builtin_tasks_are_well_formed() -> None:
    assert gen_task_names() == ["en_fr", "past_tense", "capitals", "addition"]
    for name in gen_task_names():
        task = load_gen_task(name)
        assert 20 <= len(task.items) <= 40, name
        inputs = [it.input for it in task.items]
        assert len(set(inputs)) == len(inputs), name
        assert all(it.output.strip() == it.output and it.output for it in task.items)
    with pytest.raises(ConfigError, match="Known: en_fr"):
        load_gen_task("summaries")


def test_addition_items_and_reasoning_are_correct() -> None:
    task = load_gen_task("addition")
    assert task.has_reasoning
    for it, (a, b) in zip(task.items, ADDITION_PAIRS, strict=True):
        assert int(it.output) == a + b
        assert it.input == f"{a} + {b}"
    assert addition_reasoning(37, 48) == "Ones: 7 + 8 = 15, write 5 and carry 1. Tens: 3 + 4 + 1 = 8."
    assert addition_reasoning(23, 45) == "Ones: 3 + 5 = 8. Tens: 2 + 4 = 6."
    assert addition_reasoning(87, 95) == "Ones: 7 + 5 = 12, write 2 and carry 1. Tens: 8 + 9 + 1 = 18."
    from engine.prompting.cot import parse_answer

    assert task.answer_pattern is not None
    assert parse_answer(" Ones: 1 + 1 = 2. So the answer is 182.", task.answer_pattern).answer == "182"


def test_split_is_seeded_and_disjoint() -> None:
    task = load_gen_task("en_fr")
    a = split_gen_task(task, n_test=10, seed=1)
    assert a == split_gen_task(task, n_test=10, seed=1)
    assert a != split_gen_task(task, n_test=10, seed=2)
    assert len(a.test) == 10 and len(a.pool) == len(task.items) - 10
    assert not {it.id for it in a.test} & {it.id for it in a.pool}
    with pytest.raises(ConfigError, match="between 1 and"):
        split_gen_task(task, n_test=len(task.items))


def test_upload_csv_and_jsonl() -> None:
    task = parse_gen_upload(b'Input,Output,extra\nhello,bonjour,1\n"a, b",c,2\n', "words.csv")
    assert [(it.input, it.output) for it in task.items] == [("hello", "bonjour"), ("a, b", "c")]
    assert task.source == "upload:words.csv"
    jl = parse_gen_upload(
        b'{"input": "2+2", "output": 4, "reasoning": "two and two"}\n\n{"input": "1+1", "output": "2", "reasoning": "one"}\n',
        "sums.jsonl",
        template="Q: {input}\nA: {reasoning} So {output}.",
    )
    assert jl.items[0].output == "4" and jl.has_reasoning


@pytest.mark.parametrize(
    ("data", "name", "match"),
    [
        (b"text,label\na,b\n", "x.csv", "no `input` and `output` columns; columns found: text, label"),
        (b"input,output\na,\nb,c\n", "x.csv", "Empty `output` on line 2"),
        (b"input,output\na,b\n,d\n", "x.csv", "Empty `input` on line 3"),
        (b"input,output\na,b,c\nd,e\n", "x.csv", "line 2 has 3 fields"),
        (b'{"input": "a"}\n', "x.jsonl", "no `output` column"),
        (b'{"input": "a", "output": "b"}\nnot json\n', "x.jsonl", "line 2 is not valid JSON"),
        (b'[{"input": "a", "output": "b"}]', "x.json", "JSON array"),
        (b"input,output\na,b\n", "x.csv", "at least 2"),
        (b"\xff\xfe\x00bad", "x.csv", "not UTF-8"),
        (b"", "x.csv", "empty"),
        (b"a", "x.xlsx", "not supported"),
    ],
)
def test_upload_errors_are_clear(data: bytes, name: str, match: str) -> None:
    with pytest.raises(DataError, match=match):
        parse_gen_upload(data, name)


def test_upload_with_a_reasoning_template_needs_reasoning() -> None:
    with pytest.raises(DataError, match="have none"):
        parse_gen_upload(b"input,output\na,b\nc,d\n", "x.csv", template="{input} {reasoning} {output}")
