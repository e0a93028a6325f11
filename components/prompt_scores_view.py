"""The Prompt Lab's result: what the chosen scorer scored, in its own terms.

Each scorer reads a different text and a different quantity, so each shows its own:

- direct: the prompt up to the label slot; per label, log P(label word | prompt) over the label
  word's tokens; the model's top next tokens after the prompt (the slot the labels compete for).
- ppl: per label, the whole prompt with that label filled in; its mean negative log-likelihood
  over every token (lower wins); no next-token chart (ppl never looks at one slot).
- channel: per label, the channel prompt (label first, then the query); log P(query | label)
  over the query's tokens; no next-token chart (the channel scorer predicts the query, not a
  label).

Showing the direct prompt and its next tokens under a channel or ppl result (as the page once
did) tells the user about a computation that did not happen.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from components.charts import label_probability_bar, top_tokens_bar
from components.i18n import t
from components.prompt_view import render_prompt
from engine.scoring.scorers import LabelScore, PromptScores

MAX_TOKENS_LISTED = 12  # scored tokens listed in a table cell before "… (+N more)"


def scored_tokens_cell(ls: LabelScore) -> str:
    """The scored tokens of one label, short: all of them for a label word, the first few (and a
    count) for the long texts that ppl and channel score."""
    shown = " | ".join(repr(tok) for tok in ls.tokens[:MAX_TOKENS_LISTED])
    extra = len(ls.tokens) - MAX_TOKENS_LISTED
    return shown + (" " + t("… (+{n} more)", n=extra) if extra > 0 else "")


def score_column(scorer: str) -> str:
    """The header of the score column, naming the quantity the scorer computed."""
    return {
        "direct": t("log P(word | prompt)"),
        "ppl": t("mean NLL of the filled prompt (lower wins)"),
        "channel": t("log P(query | label)"),
    }.get(scorer, t("score"))


def label_rows(result: PromptScores) -> list[dict[str, Any]]:
    """One row per label: the word, the scorer's value, the scored tokens and their count."""
    return [
        {
            t("label"): ls.label,
            t("word"): ls.word,
            score_column(result.scorer): round(ls.score, 4),
            t("scored tokens"): ls.n_tokens,
            t("tokens"): scored_tokens_cell(ls),
            t("P (normalised)"): round(result.probs[ls.label], 4),
        }
        for ls in result.label_scores
    ]


def render_scored_texts(result: PromptScores) -> None:
    """The text each label was scored on: the direct prompt, or one text per label."""
    if result.scorer == "direct":
        st.subheader(t("Assembled prompt"))
        render_prompt(result.prompt, n_tokens=result.prompt.n_tokens)
        return
    if result.scorer == "channel":
        st.subheader(t("Channel prompts (one per label)"))
        st.caption(
            t(
                "Channel scoring reads each demonstration label first, then its text, and scores the "
                "query's tokens after the label: log P(query | label)."
            )
        )
    else:
        st.subheader(t("Filled prompts (one per label)"))
        st.caption(
            t(
                "Perplexity scoring fills each label into the prompt and scores every token of it: "
                "the label with the lowest mean negative log-likelihood wins."
            )
        )
    if result.prompt.n_dropped:
        st.warning(
            t(
                "{n} demonstration(s) were dropped from the far end so the prompt fits the model's context.",
                n=result.prompt.n_dropped,
            )
        )
    tabs = st.tabs([f"{ls.label} ({ls.word})" for ls in result.label_scores])
    for tab, ls in zip(tabs, result.label_scores, strict=True):
        with tab:
            st.caption(
                t(
                    "{n} tokens · {s} scored · {c} characters",
                    n=len(ls.token_ids),
                    s=ls.n_tokens,
                    c=len(ls.text),
                )
            )
            st.code(ls.text, language=None)


def render_prompt_scores(result: PromptScores, label_words: dict[str, str], gold: str | None) -> None:
    """The scored texts on the left; prediction, label probabilities, per-label table and (for
    direct scoring) the top next tokens on the right."""
    left, right = st.columns([3, 2])
    with left:
        render_scored_texts(result)
    with right:
        verdict = t("Predicted label: **{pred}**", pred=result.pred)
        if gold is not None:
            verdict += (
                " ✅ " + t("(gold)") if gold == result.pred else " ❌ " + t("(gold: {gold})", gold=gold)
            )
        st.subheader(t("Label probabilities"))
        st.markdown(verdict)
        st.plotly_chart(
            label_probability_bar(result.probs, label_words, result.pred, gold),
            width="stretch",
            key="pl_prob_chart",
        )
        st.dataframe(pd.DataFrame(label_rows(result)), hide_index=True, width="stretch")
        if result.scorer == "direct" and result.top_next:
            st.subheader(t("Top-10 next tokens"))
            st.plotly_chart(
                top_tokens_bar([n.token for n in result.top_next], [n.prob for n in result.top_next]),
                width="stretch",
                key="pl_top_chart",
            )
        elif result.scorer != "direct":
            st.caption(
                t(
                    "No next-token chart: {scorer} scoring does not read the model's next token at the "
                    "label slot.",
                    scorer=result.scorer,
                )
            )
