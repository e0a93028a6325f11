"""Chinese (简体中文) translations of the UI: English text -> Chinese text.

Keys are the exact English strings passed to `components.i18n.t`; format fields such as
``{n}`` must appear in both. `ERROR_PATTERNS` translates engine error messages by pattern.
"""

from __future__ import annotations

ZH: dict[str, str] = {
    # sidebar
    "Model": "模型",
    "Other (local path or HF id)": "其他(本地路径或 HF 模型 id)",
    "Bundled models are installed by pip; nothing is downloaded at run time.": "内置模型由 pip 安装;运行时不下载任何内容。",
    "Local directory, .gguf file or cached Hugging Face id": "本地目录、.gguf 文件或已缓存的 Hugging Face id",
    "Dataset": "数据集",
    "Your file (CSV / JSONL)": "你的文件(CSV / JSONL)",
    "CSV or JSONL with `text` and `label` columns": "含 `text` 和 `label` 列的 CSV 或 JSONL",
    "Loaded {n} rows.": "已载入 {n} 行。",
    "Loaded {n} pasted rows.": "已载入粘贴的 {n} 行。",
    "...or paste CSV / JSONL here": "……或在此粘贴 CSV / JSONL",
    "No file loaded yet: pages use SST-2 until you upload one.": "尚未载入文件:上传之前各页面使用 SST-2。",
    "Device": "设备",
    "auto = CUDA when a GPU is present, else CPU.": "auto = 有 GPU 时用 CUDA,否则用 CPU。",
    "Seed": "随机种子",
    # experiment io
    "Save, load, share": "保存、载入、分享",
    "Experiment loaded.": "实验已载入。",
    "Save experiment (JSON)": "保存实验(JSON)",
    "Load experiment": "载入实验",
    "...or paste an experiment JSON": "……或粘贴实验 JSON",
    "Load pasted experiment": "载入粘贴的实验",
    "Make a share link": "生成分享链接",
    "This experiment is too large for a link; save it as a file instead.": "实验太大,无法放进链接;请保存为文件。",
    "The address bar now holds the link; copy it. Relative part:": "地址栏中已是分享链接,复制即可。相对部分:",
}

# (regex, Chinese template): groups are passed positionally, {message} is the English text.
ERROR_PATTERNS: list[tuple[str, str]] = [
    (
        r"^Unknown model '(.*?)'",
        "未知模型 '{0}'。可用模型:smollm2-135m、gemma3-270m;也可以填写本地目录、.gguf 文件或本地缓存中的 Hugging Face id。",
    ),
    (
        r"^'(.*?)' is not in the local Hugging Face cache",
        "'{0}' 不在本地 Hugging Face 缓存中,本应用从不下载模型。",
    ),
    (r"^GGUF file not found: (.*)$", "找不到 GGUF 文件:{0}"),
    (r"The template must contain \{text\}", "模板必须包含 {{text}}(输入放在这里)。"),
    (r"The template must contain \{label\}", "模板必须包含 {{label}}(标签词放在这里)。"),
    (
        r"The template has an unknown field \{(.*?)\}",
        "模板中有未知字段 {{{0}}};只允许 {{text}} 和 {{label}}。",
    ),
    (r"^Demonstration (\d+) has empty text", "第 {0} 个示例的文本为空;请填写或删除该行。"),
    (r"^The query is empty", "查询为空;请输入要分类的文本。"),
    (r"^The prompt is too long", "提示词太长,超出模型的上下文长度。请缩短查询或指令。({message})"),
    (r"(\d+) demonstration\(s\) were dropped", "为适应上下文长度,删去了最远的 {0} 个示例。"),
    (r"missing the '(\w+)' column|no '(\w+)' column", "文件缺少必需的列。({message})"),
    (r"^Label word for (.*) is empty", "标签 {0} 的标签词为空。"),
    (r"have the same word", "两个标签使用了相同的标签词;标签词必须互不相同。({message})"),
    (r"^k = (\d+) is larger than the demonstration pool \((\d+)", "k = {0} 大于示例池的大小({1})。"),
    (r"^Unknown (\w+) '(.*?)'\. Known: (.*)$", "未知的 {0} '{1}'。可选:{2}"),
    (r"not valid JSON", "不是有效的 JSON。({message})"),
    (r"is empty", "内容为空。({message})"),
]
