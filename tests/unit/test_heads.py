"""Head detectors on synthetic attention patterns whose scores are worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.core.errors import ConfigError
from engine.interp.heads import (
    HEAD_SCORE_NAMES,
    HEAD_SCORES,
    HeadProbe,
    HeadScores,
    ProbeBatch,
    ProbeConfig,
    candidate_tokens,
    copying_scores_from_weights,
    duplicate_token_mask,
    duplicate_token_score,
    get_head_score,
    head_label,
    induction_mask,
    induction_score,
    masked_attention_score,
    parse_head,
    prefix_matching_mask,
    prefix_matching_score,
    previous_token_mask,
    previous_token_score,
    random_repeated_tokens,
    top_heads,
)

BOS = 0


def repeated(seq: list[int], repeats: int) -> np.ndarray:
    """[1, pos]: BOS then `repeats` copies of seq."""
    return np.array([[BOS, *(seq * repeats)]])


def bos_pattern(n: int) -> np.ndarray:
    """[q, k]: every query attends fully to the BOS."""
    p = np.zeros((n, n))
    p[:, 0] = 1.0
    return p


def uniform_causal(n: int) -> np.ndarray:
    p = np.tril(np.ones((n, n)))
    return p / p.sum(axis=1, keepdims=True)


def stack(*heads: np.ndarray) -> np.ndarray:
    """[1, 1 layer, len(heads), q, k]."""
    return np.stack(heads)[None, None].astype(np.float32)


def test_registry_names_and_unknown_name_lists_known() -> None:
    assert (
        set(HEAD_SCORES)
        == set(HEAD_SCORE_NAMES)
        == {
            "induction",
            "prefix_matching",
            "previous_token",
            "duplicate_token",
            "copying",
        }
    )
    with pytest.raises(ConfigError, match="Known: induction, prefix_matching"):
        get_head_score("inductoin")


def test_labels_round_trip() -> None:
    assert head_label(3, 4) == "L3H4"
    assert parse_head("L3H4") == (3, 4)
    assert parse_head(" l12h0 ") == (12, 0)
    with pytest.raises(ConfigError, match="L<layer>H<head>"):
        parse_head("3.4")


def test_masks_by_hand() -> None:
    # BOS a b c a b c
    toks = repeated([5, 6, 7], 2)
    ind = induction_mask(7, 3, start=1)
    # second copy queries 4, 5, 6 target 2, 3, 4 (the token after the first a, b, c)
    assert sorted(zip(*np.nonzero(ind), strict=True)) == [(4, 2), (5, 3), (6, 4)]
    prev = previous_token_mask(7, start=1)
    assert sorted(zip(*np.nonzero(prev), strict=True)) == [(q, q - 1) for q in range(2, 7)]
    dup = duplicate_token_mask(toks, start=1)[0]
    assert sorted(zip(*np.nonzero(dup), strict=True)) == [(4, 1), (5, 2), (6, 3)]
    pm = prefix_matching_mask(toks, start=1)[0]
    assert sorted(zip(*np.nonzero(pm), strict=True)) == [(4, 2), (5, 3), (6, 4)]


def test_prefix_matching_mask_with_several_repeats_and_back_to_back_tokens() -> None:
    toks = repeated([5, 6], 3)  # BOS a b a b a b  (positions 1..6)
    pm = prefix_matching_mask(toks, start=1)[0]
    # query 5 (a, third copy) -> after earlier a's at 1 and 3 -> keys 2 and 4
    assert set(np.flatnonzero(pm[5])) == {2, 4}
    assert set(np.flatnonzero(pm[6])) == {3, 5}
    assert not pm[:3].any()  # first copy: nothing earlier
    # a token repeated back to back targets the query itself
    pm2 = prefix_matching_mask(np.array([[BOS, 9, 9]]), start=1)[0]
    assert set(np.flatnonzero(pm2[2])) == {2}


def test_induction_score_by_hand() -> None:
    t = 3
    n = 1 + 2 * t
    perfect = bos_pattern(n)
    half = bos_pattern(n)
    for q in range(1 + t, n):
        perfect[q] = 0
        perfect[q, q - t + 1] = 1.0
        half[q] = 0
        half[q, 0] = 0.5
        half[q, q - t + 1] = 0.5
    uniform = uniform_causal(n)
    pattern = stack(perfect, half, bos_pattern(n), uniform)
    got = induction_score(pattern, t, start=1)
    expected_uniform = float(np.mean([1.0 / (q + 1) for q in range(1 + t, n)]))  # q = 4, 5, 6
    np.testing.assert_allclose(got[0], [1.0, 0.5, 0.0, expected_uniform], atol=1e-6)


def test_previous_token_score_ignores_the_bos_as_target() -> None:
    n = 6
    prev = np.zeros((n, n))
    prev[0, 0] = 1
    for q in range(1, n):
        prev[q, q - 1] = 1  # q = 1 attends to BOS: not counted as a query
    got = previous_token_score(stack(prev, bos_pattern(n), uniform_causal(n)), start=1)
    expected_uniform = float(np.mean([1.0 / (q + 1) for q in range(2, n)]))
    np.testing.assert_allclose(got[0], [1.0, 0.0, expected_uniform], atol=1e-6)


def test_duplicate_and_prefix_matching_scores_over_several_repeats() -> None:
    toks = repeated([5, 6], 3)  # BOS a b a b a b
    n = toks.shape[1]
    dup_head = bos_pattern(n)
    pm_head = bos_pattern(n)
    one_target = bos_pattern(n)
    for q in range(3, n):
        earlier = [k for k in range(1, q) if toks[0, k] == toks[0, q]]
        dup_head[q] = 0
        dup_head[q, earlier] = 1.0 / len(earlier)
        after = [k + 1 for k in earlier]
        pm_head[q] = 0
        pm_head[q, after] = 1.0 / len(after)
        one_target[q] = 0
        one_target[q, 0] = 0.75
        one_target[q, after[-1]] = 0.25  # only the latest earlier copy, a quarter of the mass
    pattern = stack(dup_head, pm_head, one_target)
    np.testing.assert_allclose(duplicate_token_score(pattern, toks)[0], [1.0, 0.0, 0.0], atol=1e-6)
    # query 3 (a, 2nd copy): dup_head puts all on key 1, which is also "after" nothing... check pm
    pm = prefix_matching_score(pattern, toks)[0]
    # dup_head: a key k is a prefix-match target iff tokens[k-1] == tokens[q]; for q=3 (a), earlier a is
    # at 1 -> target 2; dup_head attends to 1, not 2 -> 0 for every query
    np.testing.assert_allclose(pm, [0.0, 1.0, 0.25], atol=1e-6)


def test_masked_score_batch_mean_counts_queries_not_sequences() -> None:
    # batch of 2: first sequence has 2 queries with targets, second has 1
    p = np.zeros((2, 1, 1, 3, 3), dtype=np.float32)
    p[0, 0, 0, 1, 0] = 1.0
    p[0, 0, 0, 2, 0] = 1.0
    p[1, 0, 0, 2, 1] = 1.0
    mask = np.zeros((2, 3, 3), dtype=bool)
    mask[0, 1, 0] = mask[0, 2, 0] = True
    mask[1, 2, 0] = True  # target missed by the head
    assert masked_attention_score(p, mask)[0, 0] == pytest.approx(2 / 3)


def test_masked_score_edge_cases_and_no_mutation() -> None:
    p = stack(uniform_causal(4))
    before = p.copy()
    mask = np.zeros((4, 4), dtype=bool)
    assert masked_attention_score(p, mask).tolist() == [[0.0]]
    assert np.array_equal(p, before)
    with pytest.raises(ConfigError, match="does not match"):
        masked_attention_score(p, np.zeros((3, 3), dtype=bool))
    with pytest.raises(ConfigError, match="pattern must be"):
        masked_attention_score(np.zeros((3, 3)), mask)


def test_probe_registry_functions_use_their_batches() -> None:
    t = 3
    toks2 = repeated([5, 6, 7], 2)
    n2 = toks2.shape[1]
    perfect = bos_pattern(n2)
    for q in range(1 + t, n2):
        perfect[q] = 0
        perfect[q, q - t + 1] = 1
    ind = ProbeBatch(tokens=toks2, pattern=stack(perfect), seq_len=t)
    toks4 = repeated([5, 6], 4)
    pre = ProbeBatch(tokens=toks4, pattern=stack(bos_pattern(toks4.shape[1])), seq_len=2)
    probe = HeadProbe(induction=ind, prefix=pre)
    assert HEAD_SCORES["induction"](probe)[0, 0] == pytest.approx(1.0)
    assert HEAD_SCORES["prefix_matching"](probe)[0, 0] == pytest.approx(0.0)
    with pytest.raises(ConfigError, match="prefix probe batch"):
        HEAD_SCORES["prefix_matching"](HeadProbe(induction=ind))
    with pytest.raises(ConfigError, match="weights"):
        HEAD_SCORES["copying"](probe)


def test_copying_scores_by_hand() -> None:
    eye = np.eye(4)
    w_v = np.zeros((1, 4, 4, 2))
    w_o = np.zeros((1, 4, 2, 4))
    base = np.eye(4)[:, :2]  # [d_model, d_head]
    w_v[0, :] = base
    w_o[0, 0] = base.T  # OV = identity on the head's subspace: pure copying
    w_o[0, 1] = -base.T  # anti-copying
    w_o[0, 2] = np.array([[0.0, 1.0], [-1.0, 0.0]]) @ base.T  # rotation: eigenvalues +-i
    w_o[0, 3] = np.diag([3.0, -1.0]) @ base.T  # (3 - 1) / (3 + 1)
    got = copying_scores_from_weights(eye, eye, w_v, w_o)
    np.testing.assert_allclose(got[0], [1.0, -1.0, 0.0, 0.5], atol=1e-9)


def test_copying_small_trick_matches_full_vocab_eigenvalues() -> None:
    rng = np.random.default_rng(0)
    n_tok, d_model, d_head = 30, 8, 3
    embed = rng.normal(size=(n_tok, d_model))
    unembed = rng.normal(size=(d_model, n_tok))
    w_v = rng.normal(size=(2, 2, d_model, d_head))
    w_o = rng.normal(size=(2, 2, d_head, d_model))
    got = copying_scores_from_weights(embed, unembed, w_v, w_o)
    for layer in range(2):
        for head in range(2):
            full = embed @ w_v[layer, head] @ w_o[layer, head] @ unembed  # [n_tok, n_tok]
            lam = np.linalg.eigvals(full)
            expected = lam.real.sum() / np.abs(lam).sum()
            assert got[layer, head] == pytest.approx(expected, abs=1e-4)


def test_copying_accepts_torch_tensors() -> None:
    eye = torch.eye(3)
    w = torch.eye(3)[None, None]
    assert copying_scores_from_weights(eye, eye, w, w)[0, 0] == pytest.approx(1.0)


def test_top_heads_and_scores_container() -> None:
    s = np.array([[0.1, 0.9], [0.5, 0.9]])
    assert top_heads(s, 3) == [((0, 1), 0.9), ((1, 1), 0.9), ((1, 0), 0.5)]
    hs = HeadScores("m", {"induction": s, "copying": -s}, ProbeConfig())
    assert (hs.n_layers, hs.n_heads) == (2, 2)
    assert hs.top("induction", 1) == [((0, 1), 0.9)]
    assert hs.to_json()["copying"] == [[-0.1, -0.9], [-0.5, -0.9]]
    rows = hs.table()
    assert rows[1] == {"head": "L0H1", "layer": 0, "index": 1, "induction": 0.9, "copying": -0.9}
    with pytest.raises(ConfigError, match="one \\[layer, head\\] shape"):
        HeadScores("m", {"a": s, "b": np.zeros((3, 2))}, ProbeConfig())


def test_probe_config_validation() -> None:
    with pytest.raises(ConfigError):
        ProbeConfig(seq_len=1)
    with pytest.raises(ConfigError):
        ProbeConfig(prefix_repeats=1)
    with pytest.raises(ConfigError):
        ProbeConfig(n_seqs=0)


def test_random_repeated_tokens_are_seeded_and_distinct_within_a_copy() -> None:
    cands = np.arange(100, 400)
    a = random_repeated_tokens(cands, 3, 20, 4, BOS, np.random.default_rng(7))
    b = random_repeated_tokens(cands, 3, 20, 4, BOS, np.random.default_rng(7))
    c = random_repeated_tokens(cands, 3, 20, 4, BOS, np.random.default_rng(8))
    assert a.shape == (3, 81)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert (a[:, 0] == BOS).all()
    for row in a:
        copy = row[1:21]
        assert len(set(copy.tolist())) == 20
        assert np.array_equal(row[1:], np.tile(copy, 4))
    with pytest.raises(ConfigError, match="exceeds"):
        random_repeated_tokens(cands[:5], 1, 6, 2, BOS, np.random.default_rng(0))


class _Tok:
    """Just what candidate_tokens reads from a tokenizer."""

    def __init__(self, strings: list[str], special: list[int]) -> None:
        self.strings = strings
        self.all_special_ids = special

    def __len__(self) -> int:
        return len(self.strings)

    def convert_ids_to_tokens(self, ids: list[int]) -> list[str]:
        return [self.strings[i] for i in ids]


def test_candidate_tokens_drop_special_control_and_frequency_tails() -> None:
    words = [f"w{i}" for i in range(1000)]
    strings = ["<pad>", "<unused1>", "[CLS]", "<0x0A>", "▁", *words]
    got = candidate_tokens(_Tok(strings, [0]), d_vocab=len(strings), frequent_frac=0.1)
    ordinary = np.arange(5, 1005)
    np.testing.assert_array_equal(got, ordinary[100:900])
    # the model's vocabulary can be smaller than the tokenizer's
    assert candidate_tokens(_Tok(strings, [0]), d_vocab=505, frequent_frac=0.0).max() == 504
    with pytest.raises(ConfigError, match="ordinary tokens"):
        candidate_tokens(_Tok(strings[:50], [0]), d_vocab=50)
