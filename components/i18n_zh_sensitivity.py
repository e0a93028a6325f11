"""Chinese (简体中文) UI strings of the sensitivity page and its components; merged into `ZH`.

Keys are the exact English strings passed to `components.i18n.t`; format fields must match.
"""

from __future__ import annotations

ZH_SENSITIVITY: dict[str, str] = {}

ERROR_PATTERNS_SENSITIVITY: list[tuple[str, str]] = []
