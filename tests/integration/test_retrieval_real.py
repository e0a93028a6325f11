"""Retrieval with the real bundled MiniLM (and the real default model for mdl / GlobalE / LocalE).

Small pools only: a 300-text SST-2 slice, indexed in a temporary cache directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.data.datasets import Example, load_dataset
from engine.prompting.prompts import PromptFormat
from engine.retrieval.demo_index import DemoIndex, MiniLMEncoder, encoder_path
from engine.retrieval.retrievers import ORDERINGS, RETRIEVERS, build_context, select_demos

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def encoder() -> MiniLMEncoder:
    return MiniLMEncoder("cpu")


@pytest.fixture(scope="module")
def sst2_pool() -> list[Example]:
    return list(load_dataset("sst2").examples[:300])


@pytest.fixture(scope="module")
def index(
    encoder: MiniLMEncoder, sst2_pool: list[Example], tmp_path_factory: pytest.TempPathFactory
) -> DemoIndex:
    return DemoIndex(encoder, cache_root=tmp_path_factory.mktemp("idx")).build([e.text for e in sst2_pool])


def test_topk_matches_plain_sentence_transformers(index: DemoIndex, sst2_pool: list[Example]) -> None:
    """Golden check: the index's neighbours equal a plain sentence-transformers + numpy computation."""
    from sentence_transformers import SentenceTransformer

    st_model = SentenceTransformer(str(encoder_path()), device="cpu")
    texts = [e.text for e in sst2_pool]
    emb = st_model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)  # [n_pool, 384]
    query = "an absolutely wonderful and moving film"
    q = st_model.encode([query], normalize_embeddings=True, convert_to_numpy=True)[0]
    cos = emb @ q
    ids, sims = index.nearest(query, 8)
    assert ids == [int(i) for i in np.argsort(-cos)[:8]]
    np.testing.assert_allclose(sims, np.sort(cos)[::-1][:8], atol=1e-4)
    # a pool text is its own nearest neighbour
    assert index.nearest(texts[17], 1)[0] == [17]


def test_every_embedding_strategy_on_real_embeddings(index: DemoIndex, sst2_pool: list[Example]) -> None:
    query = "a dull, lifeless and boring movie"
    for name in ("topk", "mmr", "dpp", "votek", "bm25", "label_balanced", "random"):
        ctx = build_context(sst2_pool, retrieval=name, ordering="similar_last", index=index)
        chosen = select_demos(query, 6, ctx, retrieval=name, ordering="similar_last", seed=0)
        assert len(chosen) == len(set(chosen)) == 6, name
        sims = index.similarities(query, chosen)
        assert list(sims) == sorted(sims), name  # similar_last: ascending, the nearest last
    topk = build_context(sst2_pool, retrieval="topk", index=index)
    mmr = build_context(sst2_pool, retrieval="mmr", index=index, options={"mmr_lambda": 0.3})
    t, m = (select_demos(query, 6, c, retrieval=r) for c, r in ((topk, "topk"), (mmr, "mmr")))
    emb = index.embeddings

    def mean_pairwise(ids: list[int]) -> float:
        s = emb[ids] @ emb[ids].T
        return float((s.sum() - len(ids)) / (len(ids) * (len(ids) - 1)))

    assert mean_pairwise(m) < mean_pairwise(t)  # MMR's set is more diverse than the nearest neighbours


def test_model_based_strategies_run_on_the_real_model(
    runner, index: DemoIndex, sst2_pool: list[Example]
) -> None:
    ds = load_dataset("sst2")
    fmt = PromptFormat(ds.template, ds.instruction)
    words = ds.label_word_map()
    query = "the plot is thin but the actors are charming"
    ctx = build_context(
        sst2_pool,
        retrieval="mdl",
        ordering="global_e",
        runner=runner,
        fmt=fmt,
        label_words=words,
        index=index,
        options={"mdl_samples": 3, "n_candidates": 8, "n_permutations": 2, "n_probe": 2, "probe_tokens": 8},
    )
    a = select_demos(query, 3, ctx, retrieval="mdl", ordering="global_e", seed=1)
    assert len(set(a)) == 3
    assert set(a) <= set(index.nearest(query, 8)[0])  # mdl picks among the nearest candidates
    assert a == select_demos(query, 3, ctx, retrieval="mdl", ordering="global_e", seed=1)  # seeded

    from engine.retrieval.orderings import rank_permutations

    ranking = rank_permutations(a, ctx, np.random.default_rng(0), metric="local_e")
    assert len(ranking.candidates) == 2 and 1 <= len(ranking.probes) <= 2
    assert all(0.0 <= c.local_e <= np.log(2) + 1e-9 for c in ranking.candidates)
    assert sorted(ranking.best) == sorted(a)


def test_cli_retrieve_contract(tmp_path: Path, sst2_pool: list[Example]) -> None:
    pool_file = tmp_path / "pool.jsonl"
    rows = sst2_pool[:60]
    pool_file.write_text("\n".join(json.dumps({"text": e.text, "label": e.label}) for e in rows) + "\n")
    env = dict(os.environ, ICL_CACHE_DIR=str(tmp_path / "cache"), HF_HUB_OFFLINE="1")
    # the model weights cache stays where it is; only the index goes to the temporary cache
    query = "a warm and funny film"
    out = subprocess.run(
        [sys.executable, "-m", "engine", "retrieve", "--pool", str(pool_file), "--query", query,
         "--retrieval", "topk", "--ordering", "similar_last", "--k", "4", "--seed", "0", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    demos = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(demos) == 4
    assert all(set(d) == {"pool_index", "text", "label", "similarity"} for d in demos)
    assert [d["text"] for d in demos] == [rows[d["pool_index"]].text for d in demos]
    sims = [d["similarity"] for d in demos]
    assert sims == sorted(sims)  # prompt order: the most similar last

    # the same similarities as a direct computation
    enc = MiniLMEncoder("cpu")
    e = enc.encode([query] + [d["text"] for d in demos])
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    np.testing.assert_allclose(sims, e[1:] @ e[0], atol=1e-4)

    bad = subprocess.run(
        [sys.executable, "-m", "engine", "retrieve", "--pool", str(pool_file), "--query", query,
         "--retrieval", "nearest", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "Known:" in bad.stderr and "Traceback" not in bad.stderr


def _write_jsonl(path: Path, rows: list[Example]) -> None:
    path.write_text("\n".join(json.dumps({"text": e.text, "label": e.label}) for e in rows) + "\n")


ENTRIES = [(r, "as_retrieved") for r in RETRIEVERS] + [
    ("random", o) for o in ORDERINGS if o != "as_retrieved"
]


@pytest.fixture(scope="module")
def eval_files(sst2_pool: list[Example], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("eval")
    test = list(load_dataset("sst2").examples[1000:1005])
    _write_jsonl(folder / "pool.jsonl", sst2_pool[:40])
    _write_jsonl(folder / "test.jsonl", test)
    return folder / "pool.jsonl", folder / "test.jsonl"


@pytest.mark.parametrize(("retrieval", "ordering"), ENTRIES, ids=[f"{r}-{o}" for r, o in ENTRIES])
def test_evaluate_cli_for_every_entry(
    retrieval: str, ordering: str, eval_files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m engine evaluate --retrieval X --ordering Y` works for every registry entry."""
    from engine.cli import main

    pool, test = eval_files
    argv = ["evaluate", "--pool", str(pool), "--test", str(test), "--n-test", "5", "--k", "2",
            "--retrieval", retrieval, "--ordering", ordering, "--quiet", "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["n_test"] == 5
    assert 0.0 <= summary["accuracy"] <= 1.0
