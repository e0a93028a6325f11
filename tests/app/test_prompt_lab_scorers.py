"""Each scorer in the Prompt Lab shows what it scored (issue 22, bug 6): Channel shows its channel
prompts and log P(query | label), PPL its filled prompts and mean NLL with a short token cell,
and only Direct shows the top next tokens at the label slot."""

from __future__ import annotations

import pandas as pd
from streamlit.testing.v1 import AppTest

from tests.app.conftest import new_app


def _scored(scorer: str) -> AppTest:
    at = new_app("pages/prompt_lab.py")
    assert not at.exception, at.exception
    at.selectbox(key="pl_scorer").set_value(scorer).run()
    at.button(key="pl_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def _label_table(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "P (normalised)" in d.value.columns)


def _chart_keys(at: AppTest) -> set[str]:
    return {str(getattr(c, "key", "") or "") for c in at.get("plotly_chart")}


def test_channel_shows_channel_prompts_and_log_p_of_the_query() -> None:
    at = _scored("channel")
    table = _label_table(at)
    assert "log P(query | label)" in table.columns and "log P(word | prompt)" not in table.columns
    query = str(at.text_area(key="w_pl_query").value).strip()
    words = {
        "negative": str(at.text_input(key="w_pl_lw_negative").value),
        "positive": str(at.text_input(key="w_pl_lw_positive").value),
    }
    codes = [str(c.value) for c in at.code]
    for word in words.values():
        # one channel prompt per label: it ends with the label word, then the query (SST-2's
        # channel template is "Sentiment: {label}\nReview: {text}")
        assert any(c.rstrip().endswith(f"Sentiment: {word}\nReview: {query}") for c in codes), word
    # the query's tokens are scored, many more than a label word's
    assert (table["scored tokens"] > 2).all()
    assert "Channel prompts (one per label)" in [s.value for s in at.subheader]
    assert "Top-10 next tokens" not in [s.value for s in at.subheader]


def test_ppl_shows_filled_prompts_mean_nll_and_a_short_token_cell() -> None:
    at = _scored("ppl")
    table = _label_table(at)
    col = "mean NLL of the filled prompt (lower wins)"
    assert col in table.columns
    # lowest mean NLL wins
    assert table.loc[table[col].idxmin(), "label"] == table.loc[table["P (normalised)"].idxmax(), "label"]
    # every prompt token is scored, but the cell lists a dozen and counts the rest
    assert (table["scored tokens"] > 20).all()
    assert all(len(cell) < 400 and "more)" in cell for cell in table["tokens"])
    assert "Top-10 next tokens" not in [s.value for s in at.subheader]


def test_direct_shows_the_prompt_and_the_next_tokens_at_the_label_slot() -> None:
    at = _scored("direct")
    table = _label_table(at)
    assert "log P(word | prompt)" in table.columns
    assert (table["scored tokens"] <= 3).all()
    heads = [s.value for s in at.subheader]
    assert "Assembled prompt" in heads and "Top-10 next tokens" in heads


def test_a_result_for_another_dataset_is_marked_out_of_date() -> None:
    """SST-2 scored, then TREC chosen: no SST-2 prediction against TREC's gold labels (bug 2)."""
    at = _scored("direct")
    assert any("Predicted label" in str(m.value) for m in at.markdown)
    at.selectbox(key="sb_dataset").set_value("trec").run()
    assert not at.exception, at.exception
    assert not any("Predicted label" in str(m.value) for m in at.markdown)
    assert any("out of date" in str(i.value) for i in at.info), [i.value for i in at.info]
    # scoring again gives a TREC result: the prediction is one of TREC's labels
    at.button(key="pl_run").click().run()
    assert not at.exception, at.exception
    table = _label_table(at)
    assert "entity" in set(table["label"])
