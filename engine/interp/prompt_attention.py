"""Where the prediction looks: attention from the final prompt position to each part of the prompt.

The label of an in-context classification prompt is predicted at the prompt's last token. Wang
et al. (2023) find that label words act as *anchors*: in shallow layers the demonstrations'
information gathers at their label-word positions, and in deep layers the final position reads
it from there. This module measures, for every head, how much attention the final position puts
on each demonstration, on that demonstration's label-word tokens, and on the instruction, the
query, the separators and the BOS.

Tokens are mapped to prompt parts through character offsets: `Prompt.segments` gives the
character span of every part, the runner gives each token's span. A token belongs to the part
that holds its *last* character (SmolLM2 merges "\\n\\n" with the next word into one token, which
then counts for the demonstration it starts); it is a label-word token when its span overlaps
the label word's span (so " positive" counts although its space belongs to the template).
Special tokens (BOS, offsets (0, 0)) form their own part.

Shapes: pattern `[layer, head, q_pos, k_pos]`; per-part results `[layer, head, n_demos]` or
`[layer, head]`.

References:
    Wang et al. 2023, "Label Words are Anchors: An Information Flow Perspective for
    Understanding In-Context Learning" (EMNLP).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.core.errors import ConfigError
from engine.model.hf_runner import AttentionResult, ModelRunner, SequenceLogprobs
from engine.model.protocol import SpanRequest
from engine.prompting.prompts import Prompt, label_continuation

BOS_PART = "BOS"
PART_KINDS: tuple[str, ...] = (BOS_PART, "instruction", "demo", "separator", "query")


@dataclass(frozen=True, slots=True)
class TokenParts:
    """Which part of the prompt each token belongs to.

    Attributes:
        kind: per token, one of `PART_KINDS`.
        demo: per token, the demonstration index (prompt order) or -1.
        label_demo: per token, the demonstration whose label word it overlaps, or -1.
    """

    kind: tuple[str, ...]
    demo: tuple[int, ...]
    label_demo: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PromptAttention:
    """Attention of the final position of a prompt, split by prompt part.

    Attributes:
        text: the text analysed (the prompt without trailing spaces, as it is scored).
        tokens: token strings.
        parts: token -> part mapping.
        final: `[layer, head, k_pos]` attention of the last position.
        demo: `[layer, head, n_demos]` attention mass on each demonstration (its label included).
        label: `[layer, head, n_demos]` attention mass on each demonstration's label-word tokens.
        other: part kind -> `[layer, head]` mass on the BOS, instruction, separators and query.
    """

    text: str
    tokens: tuple[str, ...]
    parts: TokenParts
    final: np.ndarray
    demo: np.ndarray
    label: np.ndarray
    other: dict[str, np.ndarray]

    @property
    def n_demos(self) -> int:
        return int(self.demo.shape[-1])

    def by_demo(self, layers: slice | list[int] | None = None) -> list[dict[str, float | int]]:
        """Per demonstration: attention to it and to its label word, mean over the chosen layers' heads."""
        sel = slice(None) if layers is None else layers
        demo = self.demo[sel].mean(axis=(0, 1)) if self.n_demos else np.zeros(0)
        label = self.label[sel].mean(axis=(0, 1)) if self.n_demos else np.zeros(0)
        return [
            {
                "demo": i + 1,
                "to_demo": float(demo[i]),
                "to_label_word": float(label[i]),
                "to_rest_of_demo": float(demo[i] - label[i]),
            }
            for i in range(self.n_demos)
        ]

    def by_layer(self) -> dict[str, np.ndarray]:
        """Part -> `[layer]` attention mass, mean over heads ("label words", "demo text", others)."""
        out = {
            "label words": self.label.sum(-1).mean(-1),
            "demo text": (self.demo - self.label).sum(-1).mean(-1),
        }
        for kind, arr in self.other.items():
            out[kind] = arr.mean(-1)
        return out


def assign_parts(prompt: Prompt, offsets: tuple[tuple[int, int], ...], text_len: int) -> TokenParts:
    """Maps each token (by its character span) to a prompt part (see the module docstring).

    Args:
        prompt: the assembled prompt (its `segments` give the character spans).
        offsets: `(start, end)` of each token in the analysed text.
        text_len: length of the analysed text (the prompt may have been right-stripped).
    """
    kinds: list[str] = []
    demos: list[int] = []
    labels: list[int] = []
    segs = [s for s in prompt.segments if s.start < text_len]
    for a, b in offsets:
        if a == b:  # special token (BOS) or empty span
            kinds.append(BOS_PART)
            demos.append(-1)
            labels.append(-1)
            continue
        last = b - 1
        seg = next((s for s in segs if s.start <= last < s.end), None)
        if seg is None:  # whitespace the segments do not cover (cannot happen with build_prompt)
            kinds.append("separator")
            demos.append(-1)
        else:
            kinds.append(seg.kind)
            demos.append(seg.demo_index if seg.kind == "demo" and seg.demo_index is not None else -1)
        lab = -1
        for s in segs:
            if (
                s.kind == "demo"
                and s.label_start is not None
                and s.label_end is not None
                and s.label_start < s.label_end
                and a < s.label_end
                and b > s.label_start
            ):
                lab = s.demo_index if s.demo_index is not None else -1
                break
        labels.append(lab)
    return TokenParts(tuple(kinds), tuple(demos), tuple(labels))


def attention_by_part(att: AttentionResult, prompt: Prompt, text: str | None = None) -> PromptAttention:
    """Splits the final position's attention by prompt part (pure; no model call).

    Args:
        att: attention of `text` (pattern `[layer, head, q_pos, k_pos]`, tokens, offsets).
        prompt: the prompt whose segments describe `text`.
        text: the analysed text (default: the prompt without trailing spaces).
    """
    text = label_continuation(prompt.text, "")[0] if text is None else text
    pattern = np.asarray(att.pattern)
    if pattern.ndim != 4 or pattern.shape[-1] != len(att.offsets):
        raise ConfigError(f"Attention pattern {pattern.shape} does not match {len(att.offsets)} tokens.")
    parts = assign_parts(prompt, att.offsets, len(text))
    final = pattern[:, :, -1, :].astype(np.float64)  # [layer, head, k_pos]
    n_demos = len(prompt.demos)
    demo_idx = np.asarray(parts.demo)
    label_idx = np.asarray(parts.label_demo)
    demo_onehot = (demo_idx[:, None] == np.arange(n_demos)[None, :]).astype(np.float64)  # [k_pos, n_demos]
    label_onehot = (label_idx[:, None] == np.arange(n_demos)[None, :]).astype(np.float64)
    demo = final @ demo_onehot  # [layer, head, n_demos]
    label = final @ label_onehot
    kinds = np.asarray(parts.kind)
    other = {k: final[:, :, kinds == k].sum(-1) for k in PART_KINDS if k != "demo"}
    return PromptAttention(text, tuple(att.tokens), parts, final, demo, label, other)


def prompt_attention(runner: ModelRunner, prompt: Prompt) -> tuple[AttentionResult, PromptAttention]:
    """Runs the prompt (without trailing spaces, as it is scored) and splits the final attention.

    Returns:
        The full attention (for the pattern viewer) and its split by prompt part.
    """
    text = label_continuation(prompt.text, "")[0]
    if not text:
        raise ConfigError("The prompt is empty.")
    att = runner.attention(text)
    return att, attention_by_part(att, prompt, text)


def prompt_attention_requests(runner: ModelRunner, prompt: Prompt) -> list[SpanRequest]:
    """The forward passes the analysis of `prompt` makes, as span requests for `engine.model.cost`.

    Two full passes over the prompt without trailing spaces (the text `prompt_attention` runs):
    one with attention patterns, one for every token's log-prob (`sequence_logprobs`). Empty for
    an empty prompt (which `prompt_attention` refuses).
    """
    text = label_continuation(prompt.text, "")[0]
    ids = tuple(runner.encode(text)) if text else ()
    if not ids:
        return []
    return [SpanRequest(ids, 1), SpanRequest(ids, 1)]


def surprisal_by_demo(seq: SequenceLogprobs, prompt: Prompt) -> list[dict[str, float | int]]:
    """Per demonstration: mean surprisal (nats) of its tokens and of its label-word tokens.

    Falling label-word surprisal along the demonstrations shows the model picking up the task
    format from the prompt (the first token of the text has no prediction and is skipped).
    """
    text_len = max((b for _a, b in seq.offsets), default=0)
    parts = assign_parts(prompt, seq.offsets, text_len)
    lp = np.asarray(seq.token_logprobs, dtype=np.float64)
    rows: list[dict[str, float | int]] = []
    for d in range(len(prompt.demos)):
        in_demo = (np.asarray(parts.demo) == d) & np.isfinite(lp)
        in_label = (np.asarray(parts.label_demo) == d) & np.isfinite(lp)
        rows.append(
            {
                "demo": d + 1,
                "tokens": int(in_demo.sum()),
                "mean_surprisal": float(-lp[in_demo].mean()) if in_demo.any() else float("nan"),
                "label_surprisal": float(-lp[in_label].sum()) if in_label.any() else float("nan"),
            }
        )
    return rows
