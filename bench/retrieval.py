"""Demo index benchmark: build, load and query the MiniLM + FAISS index of a whole data set.

Prints the index build time and throughput (texts/s), the load time of the cached index, the
latency of one exact kNN query (`DemoIndex.search`: the certified 8-bit pre-scan of
`engine.retrieval.demo_index.CoarseFilter`; next to it the plain FAISS ``IndexFlatIP`` brute force, their
ratio, and a check that both give the same neighbours), the same with the query's MiniLM
encoding, and the per-query latency of each embedding retriever. Target: kNN of 16 over the 127k AG News
texts under 10 ms per query on a 2-core CPU.

    python bench/retrieval.py                     # AG News, reuse the cached index when present
    python bench/retrieval.py --rebuild           # encode everything again (many minutes on CPU)
    python bench/retrieval.py --dataset sst2 --n-queries 100
    python bench/retrieval.py --no-full-build     # throughput on a random sample; load and kNN
                                                  # timings on a same-shape stand-in (labelled so)

FAISS IndexFlatIP search is exact brute force, so its latency depends only on the index shape
[n_texts, 384], not on the vector values: the stand-in gives the same kNN timings as the real
index, and the output says which one was used. The full build is resumable (chunks are saved as
they are encoded), so an interrupted run continues where it stopped.

The last stdout line is a JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

from engine.data.datasets import load_dataset
from engine.retrieval.demo_index import DemoIndex, MiniLMEncoder, pool_fingerprint
from engine.retrieval.retrievers import build_context, select_demos

TARGET_MS = 10.0


def _stats(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {
        "mean_ms": round(float(a.mean()), 3),
        "min_ms": round(float(a.min()), 3),
        "p50_ms": round(float(np.percentile(a, 50)), 3),
        "p95_ms": round(float(np.percentile(a, 95)), 3),
    }


def _progress() -> Callable[[float, str], None]:
    last = [0.0]

    def progress(frac: float, msg: str) -> None:
        if time.perf_counter() - last[0] > 30 or frac >= 1.0:
            last[0] = time.perf_counter()
            print(f"  {frac:6.1%} {msg}", file=sys.stderr, flush=True)

    return progress


def full_index(texts: list[str], encoder: MiniLMEncoder, out: dict[str, object], rebuild: bool) -> DemoIndex:
    """Builds (or resumes, or loads) the real index; times three cold loads of it."""
    index = DemoIndex(encoder)
    folder = index.folder(pool_fingerprint(texts, encoder.name))
    if rebuild and folder.exists():
        import shutil

        shutil.rmtree(folder)
    index.build(texts, progress=_progress())
    assert index.stats is not None
    if index.stats.from_cache:
        meta = index.meta
        out["build_s"] = meta.get("build_seconds")
        out["build_texts_per_s"] = meta.get("texts_per_s")
        out["build_note"] = f"recorded when the cached index was built ({meta.get('created')})"
    else:
        out["build_s"] = round(index.stats.seconds, 1)
        out["build_texts_per_s"] = round(index.stats.texts_per_s, 1)
        out["build_note"] = f"built now ({index.stats.n_encoded:,} texts encoded)"
    print(
        f"index build: {out['build_s']} s, {out['build_texts_per_s']} texts/s ({out['build_note']})",
        flush=True,
    )
    loads = []
    fresh = index
    for _ in range(3):
        t = time.perf_counter()
        fresh = DemoIndex(encoder).build(texts)
        loads.append(time.perf_counter() - t)
        assert fresh.stats is not None and fresh.stats.from_cache
    out["index"] = "real"
    out["load_s"] = round(min(loads), 3)
    out["load_s_all"] = [round(x, 3) for x in loads]
    print(f"index load (cached, incl. fingerprinting {len(texts):,} texts): {out['load_s']} s", flush=True)
    return fresh


def stand_in(texts: list[str], encoder: MiniLMEncoder, out: dict[str, object]) -> DemoIndex:
    """A same-shape index of random unit vectors, saved and loaded like the real one."""
    import tempfile

    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(len(texts), 384)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        built = DemoIndex(encoder, cache_root=root).from_embeddings(
            vecs, pool_fingerprint(texts, encoder.name)
        )
        built.save(built.folder(str(built.fingerprint)))
        loads = []
        fresh = built
        for _ in range(3):
            t = time.perf_counter()
            fresh = DemoIndex(encoder, cache_root=root)
            assert fresh._try_load(built.folder(str(built.fingerprint)), str(built.fingerprint), len(texts))
            pool_fingerprint(texts, encoder.name)  # a real load fingerprints the pool too
            loads.append(time.perf_counter() - t)
    out["index"] = "stand-in: random unit vectors of the real shape (the real index is not built)"
    out["load_s"] = round(min(loads), 3)
    out["load_s_all"] = [round(x, 3) for x in loads]
    print(f"index load (stand-in of shape [{len(texts):,}, 384]): {out['load_s']} s", flush=True)
    return fresh


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="agnews")
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--n-queries", type=int, default=200)
    ap.add_argument("--rebuild", action="store_true", help="ignore the cached index and encode again")
    ap.add_argument("--device", default=None)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads for the encoder")
    ap.add_argument("--strategies", default="topk,mmr,dpp,bm25", help="retrievers to time per query")
    ap.add_argument(
        "--sample", type=int, default=1000, help="texts encoded fresh to measure throughput (0: skip)"
    )
    ap.add_argument("--no-full-build", action="store_true", help="do not build the full index (see above)")
    args = ap.parse_args()

    if args.threads:
        import faiss
        import torch

        torch.set_num_threads(args.threads)
        faiss.omp_set_num_threads(args.threads)
    ds = load_dataset(args.dataset)
    texts = [ex.text for ex in ds.examples]
    out: dict[str, object] = {"dataset": args.dataset, "n_texts": len(texts), "k": args.k}
    print(f"{args.dataset}: {len(texts):,} texts", flush=True)

    t = time.perf_counter()
    encoder = MiniLMEncoder(args.device)
    encoder.encode(["warm up"])
    out["encoder_load_s"] = round(time.perf_counter() - t, 2)
    print(f"encoder load: {out['encoder_load_s']} s ({encoder.device})", flush=True)

    if args.sample:
        import tempfile

        srng = np.random.default_rng(1)
        sample = [
            texts[int(i)] for i in srng.choice(len(texts), size=min(args.sample, len(texts)), replace=False)
        ]
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            DemoIndex(encoder, cache_root=Path(tmp)).build(sample, use_cache=False)
            secs = time.perf_counter() - t
        rate = len(sample) / secs
        out["sample_texts_per_s"] = round(rate, 1)
        out["full_build_estimate_s"] = round(len(texts) / rate, 0)
        print(
            f"encoding throughput on {len(sample):,} random texts: {rate:.1f} texts/s "
            f"(full build of {len(texts):,} estimated at {len(texts) / rate / 60:.0f} min)",
            flush=True,
        )

    if args.no_full_build:
        fresh = stand_in(texts, encoder, out)
    else:
        fresh = full_index(texts, encoder, out, args.rebuild)

    rng = np.random.default_rng(0)
    qids = rng.choice(len(texts), size=min(args.n_queries, len(texts)), replace=False)
    queries = [texts[int(i)] for i in qids]
    t = time.perf_counter()
    qv = fresh.embed_queries(queries)  # [n_query, d_embed]
    out["query_encode_ms_batched"] = round(1000 * (time.perf_counter() - t) / len(queries), 3)

    fresh.search(qv[:1], args.k)  # warm-up
    search_ms = []
    cpu0 = time.process_time()
    for i in range(len(queries)):
        t = time.perf_counter()
        _, ids = fresh.search(qv[i : i + 1], args.k)
        search_ms.append(1000 * (time.perf_counter() - t))
        assert ids.shape == (1, args.k)
    out["knn_search"] = _stats(search_ms)
    # the plain baseline: IndexFlatIP brute force over the fp32 vectors, and the same answers
    fresh.search_flat(qv[:1], args.k)
    flat_ms, same = [], 0
    for i in range(len(queries)):
        t = time.perf_counter()
        s_flat, i_flat = fresh.search_flat(qv[i : i + 1], args.k)
        flat_ms.append(1000 * (time.perf_counter() - t))
        s_fast, i_fast = fresh.search(qv[i : i + 1], args.k)
        same += int(np.allclose(s_fast, s_flat, atol=1e-5) and set(i_fast[0]) == set(i_flat[0]))
    out["knn_flat_baseline"] = _stats(flat_ms)
    out["knn_speedup_vs_flat"] = round(out["knn_flat_baseline"]["mean_ms"] / out["knn_search"]["mean_ms"], 2)  # type: ignore[index]
    out["knn_same_as_flat"] = f"{same}/{len(queries)}"
    coarse = fresh._coarse
    out["knn_certificate_fallbacks"] = None if coarse is None else coarse.fallbacks
    print(
        f"IndexFlatIP brute force (plain baseline): mean {out['knn_flat_baseline']['mean_ms']} ms per query; "  # type: ignore[index]
        f"certified 8-bit pre-scan is {out['knn_speedup_vs_flat']}x faster, same top-{args.k} on "
        f"{same}/{len(queries)} queries, {out['knn_certificate_fallbacks']} brute-force fallbacks",
        flush=True,
    )
    # CPU time per query: what one idle core would take (wall time above grows with the machine's load)
    out["knn_cpu_ms_per_query"] = round(1000 * (time.process_time() - cpu0) / len(queries), 3)
    t = time.perf_counter()
    fresh.search(qv, args.k)
    out["knn_batch_ms_per_query"] = round(1000 * (time.perf_counter() - t) / len(queries), 3)

    e2e = []
    for q in queries[:50]:
        fresh._queries.clear()  # time a cold query: encode + search
        t = time.perf_counter()
        fresh.nearest(q, args.k)
        e2e.append(1000 * (time.perf_counter() - t))
    out["encode_plus_knn"] = _stats(e2e)
    ratio = out["knn_search"]["mean_ms"] / TARGET_MS  # type: ignore[index]
    out["knn_vs_target"] = round(ratio, 3)
    print(
        f"kNN of {args.k} over {len(texts):,}: mean {out['knn_search']['mean_ms']} ms, "  # type: ignore[index]
        f"p95 {out['knn_search']['p95_ms']} ms per query (target < {TARGET_MS} ms: "  # type: ignore[index]
        f"{'PASS' if ratio < 1 else 'FAIL'}, ratio {ratio:.2f}); min {out['knn_search']['min_ms']} ms; "  # type: ignore[index]
        f"batched {out['knn_batch_ms_per_query']} ms/query; CPU time {out['knn_cpu_ms_per_query']} ms/query",
        flush=True,
    )
    print(
        f"encode + kNN (cold query): mean {out['encode_plus_knn']['mean_ms']} ms",  # type: ignore[index]
        flush=True,
    )

    strat: dict[str, dict[str, float]] = {}
    for name in [s for s in args.strategies.split(",") if s]:
        t = time.perf_counter()
        ctx = build_context(ds.examples, retrieval=name, index=fresh)
        setup = time.perf_counter() - t
        fresh.embed_queries(queries[:50])  # query encoding is timed above; time the strategy alone
        ms = []
        for i, q in enumerate(queries[:50]):
            t = time.perf_counter()
            select_demos(q, 8, ctx, retrieval=name, seed=i)
            ms.append(1000 * (time.perf_counter() - t))
        strat[name] = {"setup_s": round(setup, 2), **_stats(ms)}
        print(f"retriever {name:6} k=8: setup {setup:.2f} s, {strat[name]['mean_ms']} ms/query", flush=True)
    out["retrievers_k8"] = strat
    load = os.getloadavg()[0]
    out["load_average_1min"] = round(load, 2)
    out["cpu_count"] = os.cpu_count()
    print(f"machine load average (1 min): {load:.1f} on {os.cpu_count()} CPUs (timings scale with it)")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
