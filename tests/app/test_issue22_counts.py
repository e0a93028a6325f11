"""Issue 22, bug 7 (e) and (b): the Prompt Lab and the Attention page count the same tokens for the
same prompt and say what the count includes; surprisal is in nats on both token views."""

from __future__ import annotations

import re

from tests.app.conftest import new_app

COUNT = re.compile(r"(\d+) tokens before the label \(BOS counted where the tokenizer adds one\)")


def _count(texts: list[str]) -> int:
    found = [int(m.group(1)) for s in texts for m in [COUNT.search(s)] if m]
    assert len(found) == 1, texts
    return found[0]


def test_prompt_lab_and_attention_count_the_same_tokens() -> None:
    lab = new_app("pages/prompt_lab.py")
    assert not lab.exception, lab.exception
    lab.button(key="pl_run").click().run()
    assert not lab.exception, lab.exception
    n_lab = _count([str(c.value) for c in lab.caption])

    att = new_app("pages/attention.py")
    assert not att.exception, att.exception
    captions = [str(c.value) for c in att.caption]
    assert _count(captions) == n_lab  # was one fewer: the space before the label was counted in the Lab
    # the surprisal view and its table name the unit: nats, like every log-prob
    assert any("mean surprisal" in c and "nats" in c for c in captions), captions
    table = next(d.value for d in att.dataframe if "mean surprisal (nats)" in d.value.columns)
    assert "label-word surprisal (nats)" in table.columns
