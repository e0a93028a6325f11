"""Batching by length: the two ways this app groups token sequences into forward passes.

`length_batches` is the plain one (longest first, cut when the padded batch exceeds the token
budget); `row_batches` also cuts a batch when padding would exceed `MAX_PADDING` of its tokens and
accounts for a shared past (the cached prefix every row attends to). Pure index maths: no model,
no torch, so the runner and the prefix cache share it without importing each other.
"""

from __future__ import annotations

from collections.abc import Sequence


def length_batches(lengths: Sequence[int], max_batch_tokens: int) -> list[list[int]]:
    """Indices grouped into batches of similar length whose padded size fits `max_batch_tokens`."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    cur: list[int] = []
    cur_max = 0
    for i in order:
        new_max = max(cur_max, lengths[i])
        if cur and new_max * (len(cur) + 1) > max_batch_tokens:
            batches.append(cur)
            cur, cur_max = [], 0
            new_max = lengths[i]
        cur.append(i)
        cur_max = new_max
    if cur:
        batches.append(cur)
    return batches


MAX_PADDING = 0.25  # a row batch starts afresh when padding would exceed this share of its tokens
MIN_ROWS_BEFORE_SPLIT = 8  # ... but only once it has this many rows (a forward has a fixed cost)


def row_batches(lengths: Sequence[int], past: int, max_batch_tokens: int) -> list[list[int]]:
    """Row indices, longest first, in batches whose (past + longest row) x size fits the budget.

    Rows are right-padded to the longest in their batch, so a batch is also cut when padding
    would exceed `MAX_PADDING` of its tokens (query lengths vary several-fold; one big batch
    would spend most of its compute on padding).
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    cur: list[int] = []
    cur_max = 0
    real = 0
    for i in order:
        new_max = max(cur_max, lengths[i])
        padded = new_max * (len(cur) + 1)
        too_big = (past + new_max) * (len(cur) + 1) > max_batch_tokens
        too_padded = len(cur) >= MIN_ROWS_BEFORE_SPLIT and padded > (real + lengths[i]) / (1 - MAX_PADDING)
        if cur and (too_big or too_padded):
            batches.append(cur)
            cur, new_max, real = [], lengths[i], 0
        cur.append(i)
        cur_max = new_max
        real += lengths[i]
    if cur:
        batches.append(cur)
    return batches
