"""Lone UTF-16 surrogates: detect them at the input boundaries, or replace them where text must be kept.

A Python ``str`` can hold a code point in U+D800..U+DFFF on its own (a JSON escape ``"\\ud800"``
decodes to one). Such a string cannot be encoded as UTF-8: saving it, putting it in a link,
sending it to the browser or tokenising it fails (``UnicodeEncodeError``, or the tokenizer's
``TypeError``), and it would fail again on every rerun of the session that holds it. In a ``str``
every surrogate is lone (a valid pair is already one astral code point), so one regex finds them.

Readers of user input (uploads, experiment files, links) refuse such text with a message naming
where it is; the UI replaces it in typed text with `replace_lone_surrogates` (U+FFFD), and writers
(experiment files and links) replace it so that they never raise.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(s: str) -> bool:
    """Whether `s` holds a lone surrogate (so it cannot be encoded as UTF-8)."""
    return _SURROGATE.search(s) is not None


def lone_surrogate_index(s: str) -> int | None:
    """Index of the first lone surrogate in `s`, or None (for messages that point at it)."""
    m = _SURROGATE.search(s)
    return None if m is None else m.start()


def replace_lone_surrogates(s: str) -> str:
    """`s` with every lone surrogate replaced by U+FFFD; other text is unchanged."""
    return _SURROGATE.sub(REPLACEMENT, s) if has_lone_surrogate(s) else s


def clean_text(s: str) -> str:
    """Typed text made safe to keep in a session: lone surrogates become U+FFFD."""
    return replace_lone_surrogates(s)


SURROGATE_HINT = (
    "a lone UTF-16 surrogate (an escape like \\ud800 that is not part of a pair), which is not valid text"
)


def check_prompt_text(value: str, what: str) -> str:
    """Refuses text the tokenizer cannot take (a lone surrogate); `what` names it in the message.

    Why here: the tokenizer raises a bare ``TypeError`` on such text, on every rerun; the runner
    (model layer) and the prompt builder (prompting layer) both check, so the check sits below both.
    """
    if has_lone_surrogate(value):
        from engine.core.errors import PromptError

        raise PromptError(f"{what} contains {SURROGATE_HINT}; retype or delete that character.")
    return value
