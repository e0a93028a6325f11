"""Chinese (简体中文) UI strings of the Generation page's run control (count, rate, time left,
Stop and the partial results; issue 22, long work); merged into `ZH`.

Keys are the exact English strings passed to `components.i18n.t`; format fields must match.
"""

from __future__ import annotations

ZH_GENERATION: dict[str, str] = {
    # pages/generation.py
    "Ends the generation after the current token and keeps the text generated so far.": "在当前 token 生成后结束,并保留已生成的文本。",
    "Stopped before the first token was generated: press **Generate with both strategies** to run again.": "在生成第一个 token 之前已停止:点击 **用两种策略生成** 重新运行。",
    " — **stopped: partial**": " — **已停止:结果不完整**",
    " (partial)": "(不完整)",
    "Building the prompts and the reference perplexities…": "正在构建提示词并计算参考答案的困惑度……",
    "Ends the evaluation after the current token and keeps the items done.": "在当前 token 生成后结束评估,并保留已完成的条目。",
    "Stopped before the first item was done: press **Evaluate** to run again.": "在第一个条目完成之前已停止:点击 **评估** 重新运行。",
    # components/generation_views.py
    "{label} · {done} / at most {total} tokens · {rate} tokens/s": "{label} · {done} / 最多 {total} 个 token · 每秒 {rate} 个 token",
    "{label} · {done} / at most {total} tokens · {rate} tokens/s · about {left} left at most": "{label} · {done} / 最多 {total} 个 token · 每秒 {rate} 个 token · 最多约剩 {left}",
    "{done} / {total} items · item {item}: {tokens} tokens · {rate} tokens/s": "{done} / {total} 个条目 · 第 {item} 个条目:{tokens} 个 token · 每秒 {rate} 个 token",
    "{done} / {total} items · item {item}: {tokens} tokens · {rate} tokens/s · about {left} left": "{done} / {total} 个条目 · 第 {item} 个条目:{tokens} 个 token · 每秒 {rate} 个 token · 约剩 {left}",
    "Stopped after {done} of at most {total} tokens: partial result ({finished} of {n} strategies finished). The text shown is what was generated before Stop, and its metrics are over that text; press **Generate with both strategies** to run again.": "在最多 {total} 个 token 中生成 {done} 个后已停止:结果不完整({n} 种策略中完成了 {finished} 种)。显示的是点击停止前已生成的文本,其指标也只基于这段文本;点击 **用两种策略生成** 重新运行。",
    "Stopped after {done} of {total} items: partial result. The metrics are over the {done} items done; press **Evaluate** to run them all.": "在 {total} 个条目中完成 {done} 个后已停止:结果不完整。各项指标只基于已完成的 {done} 个条目;点击 **评估** 可完整运行。",
    "end of sequence": "序列结束符",
    "stop sequence": "停止序列",
    "max new tokens": "最大新 token 数",
    "full context": "上下文已满",
    "Stop (partial)": "停止(不完整)",
}
