"""Summary sentences, notes and setting names as facts: a code plus fields, one template per code.

The engine says what it found as `Fact` values (``Fact("note.orders", {"k": 3, "n": 6})``), never
as finished English; `render` turns a fact into a sentence with a table of templates keyed by
code. `ENGLISH` is the one English table: the CLI prints it and the JSON's ``summary`` and
``notes`` are it, letter for letter. The UI renders the same facts with its Chinese table
(`components.i18n_zh_sensitivity.ZH_SENSITIVITY_FACTS`), so no UI code parses engine English.

Field values are numbers (formatted by the template: ``{acc:.1%}``, ``{delta:+.1f}``), plain
strings that need no translation (label words, a list of k values), nested facts (a noise
verdict, a label condition, a row's setting), `Joined` lists of facts, or None for a clause that
is left out. A language's list separators are the entries ``sep.comma`` and ``sep.semicolon`` of
its table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Templates = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Fact:
    """What the engine found, before it is put into words.

    Attributes:
        code: which template renders it (a key of `ENGLISH`).
        fields: the template's fields (see the module docstring for the kinds of values).
    """

    code: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Joined:
    """Items rendered one after another, separated by the language's `sep` (none: back to back;
    then every item's template carries its own leading punctuation)."""

    items: tuple[Fact | str, ...]
    sep: Literal["comma", "semicolon", "none"] = "comma"


Value = Fact | Joined | str | int | float | None


def render(value: Value, templates: Templates) -> str:
    """`value` in the language of `templates` (a code it lacks falls back to `ENGLISH`)."""
    if value is None:
        return ""
    if isinstance(value, Joined):
        sep = "" if value.sep == "none" else templates.get(f"sep.{value.sep}", ENGLISH[f"sep.{value.sep}"])
        return sep.join(render(item, templates) for item in value.items)
    if isinstance(value, Fact):
        values = {
            k: render(v, templates) if v is None or isinstance(v, Fact | Joined) else v
            for k, v in value.fields.items()
        }
        template = templates.get(value.code) or ENGLISH[value.code]
        return template.format(**values)
    return str(value)


def english(value: Value) -> str:
    """`value` in English (what the CLI prints and the JSON holds)."""
    return render(value, ENGLISH)


ENGLISH: dict[str, str] = {
    "sep.comma": ", ",
    "sep.semicolon": "; ",
    # verdicts and counts shared by the summaries
    "noise.within": "within noise",
    "noise.beyond": "beyond noise",
    "seeds.many": "mean over {n} draws",
    "seeds.one": "one draw",
    "seeds.kcurve_many": "mean over {n} seeded draws",
    "seeds.kcurve_one": "one draw per k",
    "draw.label_balanced": "label-balanced",
    "draw.random": "random",
    # setting names (`Row.setting`)
    "setting.order": "order {i}: {positions}",
    "setting.draw": "draw {i}",
    "setting.kcurve": "{scorer} k={k}",
    "condition.gold": "gold labels",
    "condition.random": "random labels",
    "condition.flipped": "flipped labels",
    "condition.none": "no labels",
    "setting.words.default": "default: {words}",
    "setting.words.yours": "yours: {words}",
    "setting.words.unrelated": "unrelated: {words}",
    "setting.format.instruction": "template {i} + instruction",
    "setting.format.no_instruction": "template {i}, no instruction",
    "setting.format.plain": "template {i}",
    # notes (what was adjusted)
    "note.orders": "{k} demonstrations have only {n} orders; all of them were run.",
    "note.stopped": "{n} evaluations of the unfinished draw left out, so that every setting rests on the same draws.",
    "note.ks": "k = {ks} left out: larger than the pool or too long for the model's context ({n_ctx} tokens).",
    # summaries
    "summary.order": (
        "Accuracy ranges from {lo:.1%} to {hi:.1%} over {n} orders of the same {k} demonstrations "
        "(mean {mean:.1%}, std {std:.1f} points; macro-F1 from {f1_lo:.1%} to {f1_hi:.1%}); "
        "best vs worst: {noise} for {n_q} queries."
    ),
    "summary.selection": (
        "Accuracy ranges from {lo:.1%} to {hi:.1%} over {n} {draw} draws of {k} demonstrations "
        "(mean {mean:.1%}, std {std:.1f} points; macro-F1 from {f1_lo:.1%} to {f1_hi:.1%}); "
        "best vs worst: {noise} for {n_q} queries."
    ),
    "summary.kcurve": "{parts} ({seeds}; chance {chance:.1%}).",
    "kcurve.scorer": (
        "{scorer_title}: {shots}; best {best:.1%} at k={best_k} "
        "({conf:.0f}% Wilson interval over {n} queries: {lo:.1%}–{hi:.1%}){clauses}"
    ),
    "kcurve.shot": "{acc:.1%} at k={k}",
    "kcurve.below": ", k={k} (the largest) is {gap:.1f} points below it",
    "kcurve.no_plateau": ", the largest k: no plateau yet",
    "kcurve.plateau": ", every k from k={k} on within {points:.0f} points of it",
    "kcurve.drop": "; not monotone: k={k} is {fall:.1f} points below k={ref}{noise}",
    "kcurve.drop_within_noise": " (within noise)",
    "kcurve.all_within": "; every other k within noise of the best",
    "kcurve.some_within": "; k={ks} within noise of the best",
    "kcurve.none_within": "; every other k differs from the best beyond noise",
    "summary.labels": (
        "With {k} demonstrations: gold labels {gold:.1%} ({conf:.0f}% Wilson interval over {n} queries: "
        "{lo:.1%}–{hi:.1%}){others} ({seeds}; chance {chance:.1%})."
    ),
    "labels.other": ", {condition} {acc:.1%} ({delta:+.1f} points, {noise})",
    "summary.label_words": "Label words {parts}{change} ({seeds}; chance {chance:.1%}).",
    "label_words.part": "{words} {acc:.1%}",
    "label_words.change": (
        ": unrelated words change accuracy by {delta:+.1f} points from the defaults, {noise} for {n} queries"
    ),
    "summary.format": (
        "Accuracy ranges from {lo:.1%} ({worst}) to {hi:.1%} ({best}) over {n} formats "
        "({seeds}; best vs worst: {noise} for {n_q} queries)."
    ),
}
