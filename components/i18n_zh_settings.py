"""Chinese (简体中文) UI strings of loading an experiment's settings (`components.experiment_io`);
merged into `ZH`.

Keys are the exact English strings passed to `components.i18n.t`; format fields must match.
"""

from __future__ import annotations

ZH_SETTINGS: dict[str, str] = {
    "Ignored {n} settings from the experiment: {items}": "已忽略实验中的 {n} 项设置:{items}",
    "This experiment has no value for {n} settings ({keys}); those keep their current values.": (
        "此实验缺少 {n} 项设置的值({keys});这些设置保持当前值。"
    ),
}

# engine messages shown through t_error (engine.experiments.share.version_note)
ERROR_PATTERNS_SETTINGS: list[tuple[str, str]] = [
    (
        r"^This experiment was saved by ICL Explorer (.*?); this is (.*?)\. It loads",
        "此实验由 ICL Explorer {0} 保存;当前版本为 {1}。可以载入,但结果可能与作者当时看到的不同。",
    ),
]
