"""Views of the Generation page, and the import path of its widgets and keys.

* `render_generation`: generated text with each token shaded by its probability (hover for the
  top alternatives, `components.tokens`), a per-token chart and table.
* `render_metrics` / `render_eval`: metrics against a reference, and a task evaluation.
* `show_last_generation` / `show_last_evaluation`: the last run's result, or a stopped run's
  partial one, marked (issue 22, long work).

The page's parts live in their own modules and are re-exported here (``gv.GEN_CTL``,
``gv.decoding_controls``, ``gv.render_ranking`` ...): `generation_keys` (session keys, run
controls), `generation_editor` (prompt editor state), `generation_controls` (decoding
settings), `generation_inputs` (the page's widgets -> `GenSettings`), `generation_run` (the two
runs), `generation_progress` (count, rate, time left, stop notes), `ranking_views`.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.generation_controls import STRATEGY_TITLES as STRATEGY_TITLES  # re-exported
from components.generation_controls import decoding_controls as decoding_controls  # re-exported
from components.generation_controls import describe as describe  # re-exported
from components.generation_controls import format_stop_list as format_stop_list  # re-exported
from components.generation_controls import parse_stop_list as parse_stop_list  # re-exported
from components.generation_controls import strategy_title as strategy_title  # re-exported
from components.generation_controls import strategy_titles as strategy_titles  # re-exported
from components.generation_editor import draw_demos as draw_demos  # re-exported
from components.generation_editor import ensure_defaults as ensure_defaults  # re-exported
from components.generation_editor import rows_from_editor as rows_from_editor  # re-exported
from components.generation_editor import (
    send_instruction_to_prompt_lab as send_instruction_to_prompt_lab,  # re-exported
)
from components.generation_editor import set_demos as set_demos  # re-exported
from components.generation_editor import take_prompt_lab_demos as take_prompt_lab_demos  # re-exported
from components.generation_editor import (
    take_prompt_lab_instruction as take_prompt_lab_instruction,  # re-exported
)
from components.generation_keys import EVAL_CTL as EVAL_CTL  # re-exported
from components.generation_keys import EVAL_PARTIAL as EVAL_PARTIAL  # re-exported
from components.generation_keys import GEN_CTL as GEN_CTL  # re-exported
from components.generation_keys import GEN_DEMOS as GEN_DEMOS  # re-exported
from components.generation_keys import GEN_DEMOS_BASE as GEN_DEMOS_BASE  # re-exported
from components.generation_keys import GEN_EDITOR_VERSION as GEN_EDITOR_VERSION  # re-exported
from components.generation_keys import GEN_EVAL as GEN_EVAL  # re-exported
from components.generation_keys import GEN_FOR_TASK as GEN_FOR_TASK  # re-exported
from components.generation_keys import GEN_INSTRUCTION as GEN_INSTRUCTION  # re-exported
from components.generation_keys import GEN_PARTIAL as GEN_PARTIAL  # re-exported
from components.generation_keys import GEN_PATTERN as GEN_PATTERN  # re-exported
from components.generation_keys import GEN_QUERY as GEN_QUERY  # re-exported
from components.generation_keys import GEN_REFERENCE as GEN_REFERENCE  # re-exported
from components.generation_keys import GEN_REFERENCE_REASONING as GEN_REFERENCE_REASONING  # re-exported
from components.generation_keys import GEN_RESULTS as GEN_RESULTS  # re-exported
from components.generation_keys import GEN_SOURCE as GEN_SOURCE  # re-exported
from components.generation_keys import GEN_SOURCES as GEN_SOURCES  # re-exported
from components.generation_keys import GEN_STOP as GEN_STOP  # re-exported
from components.generation_keys import GEN_TASK as GEN_TASK  # re-exported
from components.generation_keys import GEN_TEMPLATE as GEN_TEMPLATE  # re-exported
from components.generation_keys import RK_RESULT as RK_RESULT  # re-exported
from components.generation_progress import eval_progress as eval_progress  # re-exported
from components.generation_progress import generation_progress as generation_progress  # re-exported
from components.generation_progress import stop_reason_titles, stopped_eval_text, stopped_generation_text
from components.i18n import t
from components.ranking_views import TAU_TICKS as TAU_TICKS  # re-exported
from components.ranking_views import loss_curve as loss_curve  # re-exported
from components.ranking_views import render_ranking as render_ranking  # re-exported
from components.tokens import generation_strip_html, prob_colour
from components.tokens import generation_strip_html as token_strip_html  # noqa: F401  # its name here before
from engine.generation.config import GenerationResult
from engine.generation.metrics import GenEvalResult, GenScores, score_prediction
from engine.prompting.cot import parse_answer


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
        generation_strip_html(
            result.token_strings, result.token_logprobs, [tok.top for tok in result.tokens]
        ),
        unsafe_allow_html=True,
    )
    probs = [tok.prob for tok in result.tokens]
    fig = go.Figure(
        go.Bar(
            x=list(range(1, len(probs) + 1)),
            y=probs,
            marker_color=[prob_colour(p, alpha=0.9) for p in probs],
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


# ---------------------------------------------------------------- the last runs
def show_last_generation() -> None:
    """The last generation (or a stopped one's partial result, marked): prompt, each strategy's
    text, answer and per-token view, and the metrics against the reference."""
    last: dict[str, Any] | None = st.session_state.get(GEN_RESULTS)
    if GEN_CTL.stopped():  # a stopped run: its partial result, never a new run
        last = GEN_CTL.partial_for(GEN_PARTIAL)
        if last is None or not last["results"]:
            last = None
            st.warning(
                t(
                    "Stopped before the first token was generated: press **Generate with both strategies** to run again."
                )
            )
        else:
            st.warning(stopped_generation_text(last))
    if last is None:
        st.info(t("Set the prompt and the two strategies, then press **Generate with both strategies**."))
        return
    with st.expander(t("Prompt ({n} demonstrations)", n=len(last["prompt"].demos))):
        st.code(last["prompt"].text, language=None)
    scores = {}
    for n, ((label, result), col) in enumerate(
        zip(last["results"].items(), st.columns(len(last["results"])), strict=True)
    ):
        with col:
            mark = t(" — **stopped: partial**") if result.partial else ""
            st.markdown(f"**{label}** — {last['configs'][label]}{mark}")
            st.code(result.text, language=None)
            parsed = parse_answer(result.text, last["pattern"] or None)
            note = "" if parsed.matched or not last["pattern"] else t(" (pattern not found: first line)")
            st.markdown(t("Answer: **{answer}**", answer=parsed.answer or "∅") + note)
            render_generation(result, key=f"gen_view_{n}")
            if last["reference"]:
                scores[label + (t(" (partial)") if result.partial else "")] = score_prediction(
                    parsed.answer, last["reference"], perplexity=last["perplexity"]
                )
    if scores:
        st.markdown(t("**Metrics** against the reference “{reference}”", reference=last["reference"]))
        render_metrics(scores, key="gen_metrics")


def show_last_evaluation() -> None:
    """The last evaluation over test items, or a stopped one's items done, marked."""
    shown: GenEvalResult | None = st.session_state.get(GEN_EVAL)
    if EVAL_CTL.stopped():  # a stopped evaluation: the items done, never a new run
        shown = EVAL_CTL.partial_for(EVAL_PARTIAL)
        if shown is None:
            st.warning(t("Stopped before the first item was done: press **Evaluate** to run again."))
        else:
            st.warning(stopped_eval_text(shown))
    if shown is not None:
        render_eval(shown, key="gen_eval")
