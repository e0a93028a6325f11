"""Chinese (简体中文) UI strings of the scoring page and its components; merged into `ZH`.

Keys are the exact English strings passed to `components.i18n.t`; format fields must match.
"""

from __future__ import annotations

ZH_SCORING: dict[str, str] = {
    # pages/scoring.py
    "Evaluate the Prompt Lab's prompt (instruction, template, label words) over a test set and compare "
    "scoring functions and calibrations on the same prompts. Click a query to see each label's per-token "
    "log-probs.": "在测试集上评估提示词实验室中的提示词(指令、模板、标签词),并在相同的提示词上比较不同的打分函数和校准方法。"
    "点击某个查询可查看每个标签逐 token 的对数概率。",
    "Scoring functions": "打分函数",
    "Calibrations": "校准方法",
    "Sum or mean over tokens": "按 token 求和或取平均",
    "sum": "求和",
    "mean": "平均",
    "For direct and channel scores: the label's (or query's) summed or mean token log-prob.": "用于 direct 和 channel 打分:标签(或查询)各 token 对数概率的和或平均值。",
    "Demonstrations": "示例",
    "Fresh draw per query (OpenICL / StaICC)": "每个查询重新抽取(OpenICL / StaICC)",
    "One shared draw for all queries": "所有查询共用一次抽取",
    "The Prompt Lab's demonstrations (fixed prompt)": "提示词实验室中的示例(固定提示词)",
    "Demonstrations per prompt.": "每个提示词中的示例数。",
    "Retrieval": "检索方式",
    "Ordering": "排序方式",
    "Skipped (contextual and domain calibration apply to direct scores only): {variants}": "已跳过(contextual 和 domain 校准只适用于 direct 打分):{variants}",
    "Pick at least one scoring function and one calibration.": "请至少选择一种打分函数和一种校准方法。",
    "{variants} variant(s) x {queries} queries x {labels} labels = {texts} texts scored.": "{variants} 个变体 × {queries} 个查询 × {labels} 个标签 = 需打分的 {texts} 条文本。",
    "Run the evaluation": "运行评估",
    "Pick scoring functions, calibrations and demonstrations, then press **Run the evaluation**.": "选择打分函数、校准方法和示例,然后点击 **运行评估**。",
    "The settings changed since the last run: press **Run the evaluation** to update.": "设置在上次运行后已更改:点击 **运行评估** 以更新结果。",
    "Starting...": "正在启动……",
    "Evaluating: {msg}": "评估中:{msg}",
    # components/run_control.py
    "Stop": "停止",
    "Ends the run after the current chunk of queries and keeps what is done.": "在当前这批查询完成后结束运行,并保留已完成的部分。",
    "{done} / {total} queries": "{done} / {total} 个查询",
    "{done} / {total} queries · about {left} left": "{done} / {total} 个查询 · 约剩 {left}",
    "{n} s": "{n} 秒",
    "{n} min": "{n} 分钟",
    "{n} h": "{n} 小时",
    "Stopped after {done} of {total} queries: partial result. The metrics are over the {done} queries done; press **Run the evaluation** to run them all.": "在 {total} 个查询中完成 {done} 个后已停止:结果不完整。各项指标只基于已完成的 {done} 个查询;点击 **运行评估** 可完整运行。",
    "Stopped before the first queries were scored: press **Run the evaluation** to run again.": "在第一批查询打分完成前已停止:点击 **运行评估** 重新运行。",
    "Accuracy and calibration": "准确率与校准",
    "Per query": "逐个查询",
    "Click a row to see every label's score and its per-token log-probs.": "点击一行,查看每个标签的得分及其逐 token 的对数概率。",
    "Select a query in the table above.": "请在上表中选择一个查询。",
    "Colour every prompt token (one extra forward pass per text)": "为提示词的每个 token 着色(每条文本多一次前向计算)",
    # components/scoring_views.py: scorer and calibration descriptions
    "log P(label word | prompt), summed (or mean) over the label's tokens; highest wins.": "log P(标签词 | 提示词),对标签的各 token 求和(或取平均);最高者胜出。",
    "Mean token NLL of the whole prompt with the label filled in (OpenICL PPLInferencer); lowest wins.": "填入标签后整个提示词的平均 token 负对数似然(OpenICL PPLInferencer);最低者胜出。",
    "log P(query text | channel-form demos, label) (Min et al. 2022); highest wins.": "log P(查询文本 | 通道形式的示例, 标签)(Min 等,2022);最高者胜出。",
    "Raw label scores.": "原始标签得分。",
    'Divide by label probabilities of content-free inputs "N/A", "", "[MASK]" (Zhao et al. 2021).': '除以无内容输入 "N/A"、""、"[MASK]" 上的标签概率(Zhao 等,2021)。',
    "Divide by label probabilities of random in-domain word strings (Fei et al. 2023).": "除以随机领域内词串上的标签概率(Fei 等,2023)。",
    "Divide by the mean label probability over the evaluated batch (Zhou et al. 2023).": "除以所评估这一批查询上的平均标签概率(Zhou 等,2023)。",
    # components/scoring_views.py: tables and charts
    "variant": "变体",
    "scorer": "打分函数",
    "calibration": "校准",
    "macro_f1": "宏平均 F1",
    "ece": "ECE(期望校准误差)",
    "mean_p_gold": "平均 P(真实标签)",
    "n_test": "测试查询数",
    # shown titles that other pages use too (sensitivity and demo selection views)
    "macro-F1": "宏平均 F1",
    "queries": "查询数",
    "seconds": "秒",
    "{variant}: pred": "{variant}:预测",
    "{variant}: P(gold)": "{variant}:P(真实标签)",
    "best is": "最佳为",
    "highest": "最高",
    "lowest": "最低",
    "tokens scored": "打分的 token 数",
    "sum log p": "log p 之和",
    "probability": "概率",
    "prior": "先验",
    "predicted": "预测",
    "chance": "随机水平",
    "gold %{y}<br>predicted %{x}<br>%{z} queries<extra></extra>": "真实 %{y}<br>预测 %{x}<br>%{z} 个查询<extra></extra>",
    "Download results (CSV)": "下载结果(CSV)",
    "Download results (JSONL)": "下载结果(JSONL)",
    "**Query {index}** (id {id}, gold **{gold}**): {text}": "**查询 {index}**(id {id},真实标签 **{gold}**):{text}",
    "correct": "正确",
    "wrong": "错误",
    "none": "无",
    "Predicted **{pred}** ({verdict}) · demonstrations (ids, prompt order): {demos}": "预测为 **{pred}**({verdict})· 示例(id,按提示词中的顺序):{demos}",
    " · {n} dropped to fit the context": " · 为适应上下文长度去掉了 {n} 个",
    "**{label}** (`{word}`): score {score:.4f}": "**{label}**(`{word}`):得分 {score:.4f}",
    "every token of this text coloured; the scored part starts at token {start} ({n} tokens, sum log p = {logprob:.3f})": "该文本的每个 token 均已着色;打分部分从第 {start} 个 token 开始({n} 个 token,log p 之和 = {logprob:.3f})",
    # components/tokens.py
    "{token}: not scored (context)": "{token}:未打分(上下文)",
    "surprisal {nats:.2f} nats": "惊奇度 {nats:.2f} 奈特",
    "{n} tokens, none scored": "{n} 个 token,均未打分",
    "{scored} of {n} tokens scored · sum log p = {total:.3f} · mean surprisal {nats:.2f} nats": "{n} 个 token 中 {scored} 个已打分 · log p 之和 = {total:.3f} · 平均惊奇度 {nats:.2f} 奈特",
    "white = predictable, red = surprising (saturates at {max_nats:.0f} nats); underlined = scored; hover a token for p, log p and surprisal.": "白色 = 可预测,红色 = 出乎意料(在 {max_nats:.0f} 奈特处饱和);带下划线 = 已打分;将鼠标悬停在 token 上可查看 p、log p 和惊奇度。",
    # components/cost_gate.py and the Prompt Lab's long prompts (issue 22)
    "Estimating how long this long prompt takes...": "正在估计这个长提示词需要多长时间……",
    "This is a long run: the model reads {tokens} tokens in {passes} passes, and {what} takes about {time} on "
    "this machine (estimated from the model's size and a timed forward pass). Shorten the text, or start it "
    "anyway.": "这是一次耗时较长的运行:模型要分 {passes} 次读取 {tokens} 个 token,{what}在本机上大约需要 {time}"
    "(根据模型大小和一次计时的前向传播估计)。请缩短文本,或仍然开始运行。",
    "Run anyway": "仍然运行",
    "Cancel": "取消",
    "scoring this prompt": "为这个提示词打分",
    # components/state.py: the model load's progress (issue 22) and engine.model.registry.LOAD_STEPS
    "Loading {name}...": "正在加载 {name}……",
    "Loading {name}: {step} {elapsed} so far.": "正在加载 {name}:{step}已用 {elapsed}。",
    "A first load of this model took about {time} on a 2-core test machine.": "该模型的首次加载在一台双核测试机上约需 {time}。",
    "A first load of this model took about {time} on this machine.": "该模型的首次加载在本机上约需 {time}。",
    "A load of this model took about {time} on this machine.": "该模型的加载在本机上约需 {time}。",
    "Converting the tokenizer from the GGUF file (first load only)...": "正在从 GGUF 文件转换分词器(仅首次加载)……",
    "Dequantising the GGUF weights (first load only)...": "正在反量化 GGUF 权重(仅首次加载)……",
    "Saving the weights for the next loads (first load only)...": "正在保存权重供以后加载(仅首次加载)……",
    "Loading weights...": "正在加载权重……",
    # the Home page's live example (components/tour.py, issue 22)
    "Scoring {n} test queries zero-shot and 4-shot...": "正在对 {n} 条测试查询做零样本和 4 样本打分……",
    "One test query scored with no demonstrations and with four: the probability of each label word, "
    "normalised over the labels. Open the Prompt Lab to change anything.": "一条测试查询分别在不加示例和加四个示例时打分:"
    "每个标签词的概率(在各标签间归一化)。打开提示词实验室即可修改任何内容。",
    "This query was picked as the first of the {n} where the demonstrations turn a wrong answer right.": "这条查询是"
    "从 {n} 条中挑出的第一条:示例把错误答案变成了正确答案。",
    "On none of the {n} queries do the demonstrations turn a wrong answer right.": "在这 {n} 条查询中,示例没有把任何错误答案变成正确答案。",
    "Over the first {n} test queries: zero-shot {a} right (95 % interval {a_lo}-{a_hi}), 4-shot {b} (95 % "
    "interval {b_lo}-{b_hi}); the demonstrations fixed {fixed} answers and broke {broke}.": "在前 {n} 条测试查询上:"
    "零样本答对 {a}(95% 区间 {a_lo}-{a_hi}),4 样本答对 {b}(95% 区间 {b_lo}-{b_hi});示例纠正了 {fixed} 个答案,弄错了 {broke} 个。",
    "The difference is beyond noise (exact McNemar test, p = {p}).": "差异超出噪声范围(McNemar 精确检验,p = {p})。",
    "The difference is within noise at this model's scale on {n} queries (exact McNemar test, p = {p}): this "
    "sample does not show that the demonstrations help.": "在这个模型规模下、{n} 条查询上,差异在噪声范围内"
    "(McNemar 精确检验,p = {p}):这个样本不能说明示例有帮助。",
}

# (regex, Chinese template) for the messages of engine/evaluation/run.py and the test split that the
# scoring page shows; groups are passed positionally, {message} is the English text.
ERROR_PATTERNS_SCORING: list[tuple[str, str]] = [
    (
        r"^Shared demonstrations need a retriever that ignores the query \((.*?)\); '(.*?)' picks",
        "共用示例需要一个与查询无关的检索方式({0});'{1}' 按查询挑选示例,请改用每个查询重新抽取的示例。",
    ),
    (r"^k must be 0 or more, got (.*?)\.?$", "k 必须大于等于 0,当前为 {0}。"),
    (r"^demos must be one of (.*?), got (.*?)\.?$", "demos 必须是以下之一:{0};当前为 {1}。"),
    (
        r"^Test labels (.*?) have no label word; known labels: (.*?)\.?$",
        "测试集标签 {0} 没有标签词;已知标签:{1}。",
    ),
    (r"^No label word for (.*?)\.?$", "以下标签没有标签词:{0}。"),
    (r"^Got (\d+) label words for (\d+) labels \((.*?)\)", "给出了 {0} 个标签词,但有 {1} 个标签({2})。"),
    (r"^Pick at least one scoring function and one calibration", "请至少选择一种打分函数和一种校准方法。"),
    (
        r"^Asked for (\d+) test examples but (.*?) has only (\d+) examples",
        "要求 {0} 个测试样例,但 {1} 只有 {2} 个样例;最多使用 {2} 个。",
    ),
    (
        r"^The number of test examples must be 0 or more, got (.*?)\.?$",
        "测试样例数必须大于等于 0,当前为 {0}。",
    ),
]
