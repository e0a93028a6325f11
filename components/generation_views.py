"""Widgets and views of the Generation and Response Ranking pages.

* `decoding_controls`: the settings of one decoding strategy -> a `DecodeConfig` (or an error shown).
* `token_strip_html` / `render_generation`: generated text with each token shaded by its
  probability (hover for the top alternatives), a per-token table and chart.
* `render_metrics` / `render_eval`: metrics against a reference, and a task evaluation.
* `generation_progress` / `eval_progress` / `stopped_generation_text`: the count, rate and time
  left of a run under way, and the note on a stopped one (issue 22, long work; `GEN_CTL` and
  `EVAL_CTL` hold the two runs' stop flags and partial results, see `components.run_control`).
* `render_ranking`: ranking table, scores chart, contrastive loss vs temperature, per-token log-probs.

Session keys of the two pages live here too (``gen_*`` and ``rk_*``); the Generation page keeps
its own input/output demonstrations under ``gen_demos`` and reads or writes the Prompt Lab's
``pl_instruction`` / ``pl_demos`` / ``pl_query`` only on explicit buttons.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any, get_args

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components import state
from components.html_text import escape_text
from components.i18n import t, t_error
from components.run_control import RunControl, duration_text
from engine.core.errors import ConfigError
from engine.core.progress import eta_seconds
from engine.data.gen_tasks import GenSplit, GenTask
from engine.experiments.ranking import RankingResult, ScoreKind, contrastive_loss
from engine.generation.decoders import DecodeConfig, GenerationResult, StrategyName
from engine.generation.metrics import GenEvalResult, GenScores

# ---------------------------------------------------------------- session keys (Generation page)
GEN_SOURCE = "gen_source"
GEN_SOURCES = ("builtin", "upload")  # where the examples come from: a built-in task or the user's file
GEN_TASK = "gen_task"
GEN_INSTRUCTION = "gen_instruction"
GEN_TEMPLATE = "gen_template"
GEN_DEMOS = "gen_demos"  # list of {"input", "reasoning", "output"} dicts, prompt order
GEN_DEMOS_BASE = "gen_demos_base"
GEN_EDITOR_VERSION = "gen_editor_version"
GEN_QUERY = "gen_query"
GEN_REFERENCE = "gen_reference"
GEN_PATTERN = "gen_pattern"
GEN_STOP = "gen_stop"
GEN_FOR_TASK = "gen_for_task"  # which task the defaults came from
GEN_RESULTS = "gen_results"  # the last run: {"prompt", "reference", "pattern", "results": {label: result}}
GEN_EVAL = "gen_eval_result"
# Stop and partial results of the two runs ("gen" itself would name the Stop button "gen_stop",
# the stop-sequences field's key)
GEN_CTL = RunControl("gen_ctl")
EVAL_CTL = RunControl("gen_eval_ctl")
GEN_PARTIAL = "generation"  # the key of the generation's partial result in GEN_CTL
EVAL_PARTIAL = "evaluation"

# ---------------------------------------------------------------- session keys (Ranking page)
RK_RESULT = "rk_result"

STRATEGY_TITLES = {
    "greedy": "greedy",
    "beam": "beam search",
    "sample": "sampling (temperature, top-k, top-p)",
    "contrastive": "contrastive decoding (expert − amateur)",
}


def strategy_titles() -> dict[str, str]:
    """`STRATEGY_TITLES` in the UI language (translated now: widgets' format functions may be
    called outside the script run, where the language is not known)."""
    return {
        "greedy": t("greedy"),
        "beam": t("beam search"),
        "sample": t("sampling (temperature, top-k, top-p)"),
        "contrastive": t("contrastive decoding (expert − amateur)"),
    }


def strategy_title(name: str) -> str:
    """The title of a decoding strategy in the UI language."""
    return strategy_titles().get(name, STRATEGY_TITLES.get(name, name))


# ---------------------------------------------------------------- small helpers
def parse_stop_list(text: str) -> tuple[str, ...]:
    """Stop sequences typed as a comma-separated list, with ``\\n`` and ``\\t`` escapes."""
    out: list[str] = []
    for part in text.split(","):
        value = part.strip(" ").replace("\\n", "\n").replace("\\t", "\t")
        if value:
            out.append(value)
    return tuple(out)


def format_stop_list(stops: Sequence[str]) -> str:
    return ", ".join(s.replace("\n", "\\n").replace("\t", "\\t") for s in stops)


def _prob_color(p: float) -> str:
    """Red (unlikely) -> yellow -> green (likely), as an rgba background."""
    p = min(max(p, 0.0), 1.0)
    r = int(230 - 150 * p)
    g = int(90 + 130 * p)
    return f"rgba({r},{g},90,0.35)"


def _visible(token: str) -> str:
    return escape_text(token).replace("\n", "↵<br>").replace("\t", "⇥")


def token_strip_html(
    tokens: Sequence[str],
    logprobs: Sequence[float],
    tops: Sequence[Sequence[tuple[str, float]]] | None = None,
) -> str:
    """Tokens shaded by probability; the tooltip gives p, log p and the top alternatives."""
    spans: list[str] = []
    for i, (tok, lp) in enumerate(zip(tokens, logprobs, strict=True)):
        p = math.exp(lp) if math.isfinite(lp) else 0.0
        title = f"p = {p:.3f}  (log p = {lp:.3f})"
        if tops is not None and i < len(tops) and tops[i]:
            alts = "; ".join(f"{a!r} {math.exp(b):.3f}" for a, b in tops[i])
            title += f" — top: {alts}"
        spans.append(
            f'<span title="{html.escape(title, quote=True)}" style="background:{_prob_color(p)};'
            f'border-radius:3px;padding:1px 0;margin:0 1px">{_visible(tok)}</span>'
        )
    return (
        '<div style="white-space:pre-wrap;font-family:monospace;font-size:0.9rem;line-height:1.9;'
        'border:1px solid #ddd;border-radius:6px;padding:8px">' + "".join(spans) + "</div>"
    )


# ---------------------------------------------------------------- generation prompt editor state
def set_demos(demos: list[dict[str, str]]) -> None:
    """Replaces the generation demonstrations and resets the table editor (base + version pattern)."""
    st.session_state[GEN_DEMOS] = [dict(d) for d in demos]
    st.session_state[GEN_DEMOS_BASE] = [dict(d) for d in demos]
    st.session_state[GEN_EDITOR_VERSION] = int(st.session_state.get(GEN_EDITOR_VERSION, 0)) + 1


def draw_demos(split: GenSplit, k: int, draw_seed: int) -> list[dict[str, str]]:
    """k demonstrations drawn from the task's pool (seeded)."""
    idx = np.random.default_rng(draw_seed).permutation(len(split.pool))[:k]
    return [
        {"input": split.pool[i].input, "reasoning": split.pool[i].reasoning, "output": split.pool[i].output}
        for i in idx
    ]


def ensure_defaults(task: GenTask, split: GenSplit, seed: int) -> None:
    """Seeds the generation prompt from a task the first time, or when the task changes."""
    # by content: every pasted task is "upload:pasted.csv", and a new paste must re-seed
    if st.session_state.get(GEN_FOR_TASK) == task.fingerprint:
        return
    st.session_state[GEN_FOR_TASK] = task.fingerprint
    st.session_state[GEN_INSTRUCTION] = task.instruction
    st.session_state[GEN_TEMPLATE] = task.template
    st.session_state[GEN_PATTERN] = task.answer_pattern or ""
    st.session_state[GEN_STOP] = format_stop_list(task.stop)
    set_demos(draw_demos(split, 3, seed))
    st.session_state[GEN_QUERY] = split.test[0].input
    st.session_state[GEN_REFERENCE] = split.test[0].output
    st.session_state["gen_reference_reasoning"] = split.test[0].reasoning
    st.session_state.pop(GEN_RESULTS, None)
    st.session_state.pop(GEN_EVAL, None)
    GEN_CTL.clear()
    EVAL_CTL.clear()


def rows_from_editor(df: pd.DataFrame) -> list[dict[str, str]]:
    """Edited demonstrations table -> rows (blank cells as "", fully blank rows dropped)."""
    out = []
    for rec in df.to_dict("records"):
        row = {c: "" if pd.isna(rec.get(c)) else str(rec.get(c)) for c in ("input", "reasoning", "output")}
        if any(v.strip() for v in row.values()):
            out.append(row)
    return out


def take_prompt_lab_demos() -> None:
    """Prompt Lab demonstrations (text -> input, label word -> output), template and query.

    Reads the shared prompt through `components.prompt_state`, so the Prompt Lab's defaults are
    used when it has not been opened yet.
    """
    from components.prompt_state import current_prompt_snapshot

    snap = current_prompt_snapshot()
    words = snap["label_words"]
    set_demos(
        [
            {"input": d["text"], "reasoning": "", "output": str(words.get(d["label"], d["label"]))}
            for d in snap["demos"]
        ]
    )
    template = str(snap["template"])
    if "{text}" in template and "{label}" in template:
        st.session_state[GEN_TEMPLATE] = template.replace("{text}", "{input}").replace("{label}", "{output}")
    st.session_state[GEN_QUERY] = str(snap["query"])
    st.session_state[GEN_REFERENCE] = ""


def take_prompt_lab_instruction() -> None:
    """Copies the Prompt Lab's instruction (or the one it would start from) into the generation prompt."""
    from components.prompt_state import current_prompt_snapshot

    st.session_state[GEN_INSTRUCTION] = str(current_prompt_snapshot()["instruction"])


def send_instruction_to_prompt_lab() -> None:
    """Writes the generation instruction into the Prompt Lab (seeding its defaults first, so
    opening the Prompt Lab later does not overwrite it)."""
    from components import prompt_editor as pe

    seed = int(st.session_state.get(state.SEED, 0))
    pe.ensure_defaults(state.get_dataset(), state.get_split(), seed)
    pe.set_prompt(instruction=str(st.session_state.get(GEN_INSTRUCTION, "")))


# ---------------------------------------------------------------- decoding controls
def decoding_controls(prefix: str, *, n_layers: int, default: StrategyName, seed: int) -> DecodeConfig | None:
    """The widgets of one strategy column; returns its config or shows the error and returns None.

    Args:
        prefix: widget key prefix (e.g. "gen_a").
        n_layers: the model's layer count (range of the early-exit amateur layer).
        default: the strategy selected at first.
        seed: the sampler seed (the sidebar's).
    """
    strategies: list[StrategyName] = list(get_args(StrategyName))
    titles = strategy_titles()
    strategy: StrategyName = st.selectbox(
        t("Strategy"),
        strategies,
        index=strategies.index(default),
        format_func=lambda s: titles.get(s, s),
        key=f"{prefix}_strategy",
    )
    kwargs: dict[str, Any] = {}
    if strategy == "sample":
        c1, c2, c3 = st.columns(3)
        kwargs["temperature"] = c1.number_input(
            t("temperature"), min_value=0.05, max_value=5.0, value=0.8, step=0.05, key=f"{prefix}_temperature"
        )
        top_k = c2.number_input(
            t("top-k (0 = off)"), min_value=0, max_value=1000, value=0, step=1, key=f"{prefix}_top_k"
        )
        top_p = c3.number_input(
            t("top-p (1 = off)"), min_value=0.01, max_value=1.0, value=0.95, step=0.01, key=f"{prefix}_top_p"
        )
        kwargs["top_k"] = int(top_k) or None
        kwargs["top_p"] = None if float(top_p) >= 1.0 else float(top_p)
    elif strategy == "beam":
        c1, c2 = st.columns(2)
        kwargs["num_beams"] = int(
            c1.number_input(t("beams"), min_value=1, max_value=16, value=4, step=1, key=f"{prefix}_beams")
        )
        kwargs["length_penalty"] = float(
            c2.number_input(
                t("length penalty"),
                min_value=-2.0,
                max_value=3.0,
                value=1.0,
                step=0.1,
                key=f"{prefix}_length_penalty",
                help=t(
                    "Finished beams are ranked by sum log p / length^penalty; 0 = raw sum (prefers short)."
                ),
            )
        )
    elif strategy == "contrastive":
        c1, c2, c3 = st.columns(3)
        kwargs["alpha"] = float(
            c1.number_input(
                t("α (plausibility)"),
                min_value=0.0,
                max_value=1.0,
                value=0.1,
                step=0.01,
                key=f"{prefix}_alpha",
                help=t("Only tokens with p ≥ α · max p are candidates (Li et al. 2023 use 0.1)."),
            )
        )
        kwargs["amateur_layer"] = int(
            c2.number_input(
                t("amateur layer"),
                min_value=1,
                max_value=max(1, n_layers - 1),
                value=max(1, n_layers // 2),
                step=1,
                key=f"{prefix}_amateur_layer",
                help=t(
                    "No smaller model shares this model's tokenizer, so the amateur is the model's own "
                    "early exit: the residual stream after this many layers, through the final norm and unembedding."
                ),
            )
        )
        kwargs["amateur_temperature"] = float(
            c3.number_input(
                t("amateur temperature"),
                min_value=0.05,
                max_value=5.0,
                value=1.0,
                step=0.05,
                key=f"{prefix}_amateur_temperature",
            )
        )
    with st.expander(t("Repetition penalties"), expanded=False):
        c1, c2 = st.columns(2)
        kwargs["presence_penalty"] = float(
            c1.number_input(
                t("presence"), min_value=-2.0, max_value=2.0, value=0.0, step=0.1, key=f"{prefix}_presence"
            )
        )
        kwargs["frequency_penalty"] = float(
            c2.number_input(
                t("frequency"), min_value=-2.0, max_value=2.0, value=0.0, step=0.1, key=f"{prefix}_frequency"
            )
        )
    try:
        return DecodeConfig(strategy=strategy, seed=seed, **kwargs)
    except ConfigError as exc:
        st.error(t_error(str(exc)))
        return None


def describe(cfg: DecodeConfig) -> str:
    """One line naming the strategy and its settings (in the UI language)."""
    off = t("off")
    if cfg.strategy == "sample":
        extra = f"T={cfg.temperature:g}, top-k={cfg.top_k or off}, top-p={cfg.top_p or off}, seed={cfg.seed}"
    elif cfg.strategy == "beam":
        extra = t("{n} beams, length penalty {penalty}", n=cfg.num_beams, penalty=f"{cfg.length_penalty:g}")
    elif cfg.strategy == "contrastive":
        extra = t(
            "α={alpha}, amateur = layer {layer}, τ_ama={tau}",
            alpha=f"{cfg.alpha:g}",
            layer=cfg.amateur_layer,
            tau=f"{cfg.amateur_temperature:g}",
        )
    else:
        extra = ""
    pen = ""
    if cfg.presence_penalty or cfg.frequency_penalty:
        pen = t(
            ", presence {presence}, frequency {frequency}",
            presence=f"{cfg.presence_penalty:g}",
            frequency=f"{cfg.frequency_penalty:g}",
        )
    return strategy_title(cfg.strategy) + (f" ({extra}{pen})" if extra or pen else "")


# ---------------------------------------------------------------- progress and stop
def _rate(tokens_per_second: float) -> str:
    return "–" if math.isnan(tokens_per_second) else f"{tokens_per_second:.1f}"


def generation_progress(label: str, done: int, total: int, rate: float, elapsed: float) -> str:
    """ "A: greedy · 12 / at most 64 tokens · 8.1 tokens/s · about 7 s left at most".

    `done` counts the decoding steps of the whole run (every strategy), `total` the most it can
    make (a strategy may end sooner: EOS or a stop sequence), so the time left, at the pace so
    far (`elapsed` wall seconds for `done`), is an upper estimate. `rate` is the decoding rate
    of the strategy under way.
    """
    left = eta_seconds(done, total, elapsed)
    if left is None or done >= total:
        return t(
            "{label} · {done} / at most {total} tokens · {rate} tokens/s",
            label=label,
            done=done,
            total=total,
            rate=_rate(rate),
        )
    return t(
        "{label} · {done} / at most {total} tokens · {rate} tokens/s · about {left} left at most",
        label=label,
        done=done,
        total=total,
        rate=_rate(rate),
        left=duration_text(left),
    )


def eval_progress(done: int, total: int, item_tokens: int, rate: float, elapsed: float) -> str:
    """ "2 / 10 items · item 3: 14 tokens · 8.1 tokens/s · about 40 s left" (the time left once an
    item is done, at the pace of the items done: `elapsed` wall seconds for `done`)."""
    left = eta_seconds(done, total, elapsed)
    fields = {"done": done, "total": total, "item": done + 1, "tokens": item_tokens, "rate": _rate(rate)}
    if left is None or done >= total:
        return t("{done} / {total} items · item {item}: {tokens} tokens · {rate} tokens/s", **fields)
    return t(
        "{done} / {total} items · item {item}: {tokens} tokens · {rate} tokens/s · about {left} left",
        left=duration_text(left),
        **fields,
    )


def stopped_generation_text(last: dict[str, Any]) -> str:
    """The note on a stopped generation: tokens made of the most it could make, strategies finished."""
    results: dict[str, GenerationResult] = last["results"]
    done = sum(len(r.tokens) for r in results.values())
    finished = sum(not r.partial for r in results.values())
    return t(
        "Stopped after {done} of at most {total} tokens: partial result ({finished} of {n} strategies "
        "finished). The text shown is what was generated before Stop, and its metrics are over that text; "
        "press **Generate with both strategies** to run again.",
        done=done,
        total=last["max_total"],
        finished=finished,
        n=last["n_strategies"],
    )


def stopped_eval_text(result: GenEvalResult) -> str:
    return t(
        "Stopped after {done} of {total} items: partial result. The metrics are over the {done} items done; "
        "press **Evaluate** to run them all.",
        done=result.n_done,
        total=result.n_total,
    )


def stop_reason_titles() -> dict[str, str]:
    """Why a generation ended, in the UI language."""
    return {
        "eos": t("end of sequence"),
        "stop_sequence": t("stop sequence"),
        "max_new_tokens": t("max new tokens"),
        "context_full": t("full context"),
        "stopped": t("Stop (partial)"),
    }


# ---------------------------------------------------------------- generation views
def render_generation(result: GenerationResult, *, key: str) -> None:
    """Text with per-token probabilities, stop reason, speed, and a per-token table and chart."""
    st.caption(
        t(
            "{n} tokens · {seconds} s ({rate} tokens/s) · stopped by {reason} · mean log p {mean}",
            n=len(result.tokens),
            seconds=f"{result.seconds:.2f}",
            rate=f"{result.tokens_per_second:.1f}",
            reason=stop_reason_titles().get(result.stop_reason, result.stop_reason),
            mean=f"{result.mean_logprob:.3f}",
        )
    )
    if not result.tokens:
        st.info(t("Nothing was generated (the model ended at once)."))
        return
    st.markdown(
        token_strip_html(result.token_strings, result.token_logprobs, [tok.top for tok in result.tokens]),
        unsafe_allow_html=True,
    )
    probs = [tok.prob for tok in result.tokens]
    fig = go.Figure(
        go.Bar(
            x=list(range(1, len(probs) + 1)),
            y=probs,
            marker_color=[_prob_color(p).replace("0.35", "0.9") for p in probs],
            customdata=[repr(tok.text) for tok in result.tokens],
            hovertemplate="#%{x} %{customdata}<br>p = %{y:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        height=200,
        margin={"l": 10, "r": 10, "t": 10, "b": 30},
        yaxis={"range": [0, 1], "title": "p(token)"},
        xaxis={"title": t("generated token")},
    )
    st.plotly_chart(fig, width="stretch", key=f"{key}_chart")
    with st.expander(t("Per-token table")):
        rows = [
            {
                "#": i + 1,
                t("token"): repr(tok.text),
                "p": round(tok.prob, 4),
                "log p": round(tok.logprob, 4),
                t("top alternatives"): ", ".join(f"{a!r} {math.exp(b):.3f}" for a, b in tok.top),
            }
            for i, tok in enumerate(result.tokens)
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key=f"{key}_table")


def metrics_frame(scores: dict[str, GenScores]) -> pd.DataFrame:
    """One row per strategy (or item): EM, F1, BLEU, ROUGE, reference perplexity."""
    rows = []
    for name, s in scores.items():
        rows.append(
            {
                "": name,
                t("exact match"): round(s.exact_match, 3),
                t("token F1"): round(s.token_f1, 3),
                "BLEU": round(s.bleu, 2),
                "ROUGE-1": round(s.rouge1, 3),
                "ROUGE-2": round(s.rouge2, 3),
                "ROUGE-L": round(s.rougeL, 3),
                t("ref. perplexity"): None if s.perplexity is None else round(s.perplexity, 2),
            }
        )
    return pd.DataFrame(rows)


def render_metrics(scores: dict[str, GenScores], *, key: str) -> None:
    st.dataframe(metrics_frame(scores), hide_index=True, width="stretch", key=key)
    st.caption(
        t(
            "Scores compare the parsed answer with the reference. BLEU counts up to 4-grams and ROUGE-2 bigrams, "
            "so both are 0 for one-word answers unless identical (BLEU) or always (ROUGE-2). The reference "
            "perplexity is the model's surprise at the gold completion, whatever it generated."
        )
    )


def render_eval(result: GenEvalResult, *, key: str) -> None:
    """Aggregate metrics and the per-item rows of a task evaluation."""
    st.dataframe(
        metrics_frame({t("overall"): result.overall}), hide_index=True, width="stretch", key=f"{key}_all"
    )
    st.caption(
        t(
            "{n} items in {seconds} s; BLEU is corpus BLEU, perplexity the median.",
            n=len(result.rows),
            seconds=f"{result.seconds:.1f}",
        )
    )
    if not result.rows:
        return
    rows = [
        {
            t("input"): r.input,
            t("reference"): r.reference,
            t("answer"): r.answer,
            t("pattern matched"): r.matched,
            t("exact"): r.scores.exact_match == 1.0,
            "F1": round(r.scores.token_f1, 3),
            t("ref. perplexity"): None if r.scores.perplexity is None else round(r.scores.perplexity, 2),
            t("generated"): r.generated,
        }
        for r in result.rows
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key=f"{key}_rows")


# ---------------------------------------------------------------- ranking views
TAU_TICKS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0)  # the loss curve's tau axis (log)


def loss_curve(result: RankingResult, kind: ScoreKind, tau: float) -> go.Figure:
    """Contrastive loss against the temperature (log-spaced), the current tau marked."""
    taus = np.geomspace(TAU_TICKS[0], TAU_TICKS[-1], 60)
    scores, goods = result.scores(kind), result.goods()
    losses = [contrastive_loss(scores, goods, float(x)) for x in taus]
    fig = go.Figure(go.Scatter(x=taus, y=losses, mode="lines", name="L(τ)"))
    fig.add_trace(
        go.Scatter(
            x=[tau],
            y=[contrastive_loss(scores, goods, tau)],
            mode="markers",
            marker={"size": 11, "color": "#d62728"},
            name=t("current τ"),
        )
    )
    fig.add_hline(y=math.log(sum(goods)), line_dash="dot")  # log N+: the best reachable loss
    fig.update_layout(
        height=260,
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
        # one label per tick: a log axis left to plotly labels its minor ticks "2", "5" between decades
        xaxis={
            "type": "log",
            "title": "τ",
            "tickvals": list(TAU_TICKS),
            "ticktext": [f"{x:g}" for x in TAU_TICKS],
        },
        yaxis={"title": t("contrastive loss")},
        showlegend=False,
    )
    return fig


def render_ranking(result: RankingResult, *, kind: ScoreKind, tau: float, key: str) -> None:
    """The model's ranking against the user's marks, the loss at tau, and per-token log-probs."""
    scores = result.scores(kind)
    goods = result.goods()
    loss = contrastive_loss(scores, goods, tau)
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    n_pos = sum(goods)
    c1, c2, c3 = st.columns(3)
    c1.metric(
        t("Contrastive loss"),
        f"{loss:.4f}",
        help=t("−1/N⁺ Σ_good log softmax(s/τ); lower = the model agrees"),
    )
    acc = _pairwise(scores, goods)
    c2.metric(
        t("Good above bad"),
        t("n/a") if math.isnan(acc) else f"{acc:.0%}",
        help=t("fraction of (good, bad) pairs ordered right"),
    )
    c3.metric(
        t("Best possible loss"),
        f"{math.log(n_pos):.4f}",
        help=t("log N⁺: every good response equally likely, bad ones at 0"),
    )
    rows = [
        {
            t("rank"): n + 1,
            t("mark"): t("good") if goods[i] else t("bad"),
            t("response"): result.responses[i].text,
            t("log P (sum)"): round(result.responses[i].logprob, 3),
            t("log P / token"): round(result.responses[i].mean_logprob, 3),
            t("tokens"): result.responses[i].n_tokens,
            "softmax(s/τ)": round(_softmax(scores, tau)[i], 4),
        }
        for n, i in enumerate(order)
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key=f"{key}_table")
    left, right = st.columns(2)
    with left:
        fig = go.Figure(
            go.Bar(
                x=[scores[i] for i in order],
                y=[_short(result.responses[i].text) for i in order],
                orientation="h",
                marker_color=["#2ca02c" if goods[i] else "#d62728" for i in order],
                hovertemplate="%{y}<br>score = %{x:.3f}<extra></extra>",
            )
        )
        fig.update_layout(
            height=max(180, 40 * len(order) + 60),
            margin={"l": 10, "r": 10, "t": 10, "b": 40},
            yaxis={"autorange": "reversed"},
            xaxis={"title": t("s(I, R) (sum)") if kind == "sum" else t("s(I, R) (mean per token)")},
        )
        st.plotly_chart(fig, width="stretch", key=f"{key}_bars")
        st.caption(t("Green = marked good, red = marked bad; the model's favourite is on top."))
    with right:
        st.plotly_chart(loss_curve(result, kind, tau), width="stretch", key=f"{key}_curve")
        st.caption(
            t(
                "Loss against τ: a small τ punishes every bad response ranked above a good one, "
                "a large τ flattens."
            )
        )
    st.markdown(t("**Per-token log-probs** (hover a token)"))
    for n, i in enumerate(order):
        r = result.responses[i]
        st.markdown(
            ("✅ " if r.good else "❌ ")
            + t(
                "rank {rank} · sum {total} · mean {mean}",
                rank=n + 1,
                total=f"{r.logprob:.2f}",
                mean=f"{r.mean_logprob:.2f}",
            )
        )
        st.markdown(token_strip_html(r.tokens, r.token_logprobs), unsafe_allow_html=True)
    with st.expander(t("Context the responses were scored after")):
        st.code(result.context, language=None)


def _short(text: str, n: int = 48) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _softmax(scores: Sequence[float], tau: float) -> list[float]:
    z = np.asarray(scores, dtype=np.float64) / tau
    z = np.exp(z - z.max())
    return list(z / z.sum())


def _pairwise(scores: Sequence[float], goods: Sequence[bool]) -> float:
    from engine.experiments.ranking import pairwise_accuracy

    return pairwise_accuracy(scores, goods)
