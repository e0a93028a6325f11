"""Chinese (简体中文) UI strings of the Scoring page's Benchmark section (StaICC's protocol).

Keys are the exact English strings passed to `components.i18n.t`; format fields must match.
"""

from __future__ import annotations

ZH_BENCHMARK: dict[str, str] = {
    # components/benchmark_section.py
    "Benchmark: StaICC's standard protocol": "基准测试:StaICC 标准协议",
    "Runs StaICC's Normal protocol (Cho et al.): its fixed demonstrations (k = 4), test sets and "
    "templates, scored by this engine's direct scorer, with StaICC's own metrics. The prompt "
    "settings above do not apply here.": "运行 StaICC 的 Normal 协议(Cho 等):使用它固定的示例(k = 4)、测试集和模板,"
    "由本引擎的直接打分函数打分,并用 StaICC 自己的指标计算。上面的提示词设置在这里不起作用。",
    "Data sets": "数据集",
    "StaICC's ten classification data sets, each with its own demonstrations and test set.": "StaICC 的十个分类"
    "数据集,每个都有自己的示例和测试集。",
    "Prompts per data set": "每个数据集的提示词数",
    "StaICC's standard protocol scores all 1,024 prompts of each data set; fewer prompts give "
    "a quicker, cut-down run with wider intervals.": "StaICC 标准协议对每个数据集的全部 1,024 个提示词打分;"
    "提示词更少时运行更快,但只是缩减版运行,区间也更宽。",
    "Resamples": "重抽样次数",
    "Bootstrap resamples for the macro-F1 and ECE intervals.": "用于宏平均 F1 和 ECE 区间的自助法重抽样次数。",
    "all 1,024 (standard)": "全部 1,024 个(标准)",
    "{n} (cut-down)": "{n} 个(缩减版)",
    "Estimating the run time...": "正在估计运行时间……",
    "About {time} on this machine: {n} prompts, {passes} label scores (estimated from the model's "
    "size, the prompts' lengths and a timed forward pass).": "在本机上大约需要 {time}:{n} 个提示词,"
    "{passes} 个标签得分(根据模型大小、提示词长度和一次计时的前向计算估计)。",
    "Ends the run after the current chunk of 32 prompts and keeps what is done.": "在当前这批 32 个提示词完成后"
    "结束运行,并保留已完成的部分。",
    "prompts": "个提示词",
    "stopping after the current chunk...": "当前这批完成后停止……",
    "Run the benchmark": "运行基准测试",
    "The settings changed since this run: press **Run the benchmark** to update.": "设置在这次运行之后已更改:"
    "请按 **运行基准测试** 更新。",
    # components/benchmark_views.py
    "data set": "数据集",
    "ECE": "ECE(期望校准误差)",
    "Choose at least one data set.": "请至少选择一个数据集。",
    "{metric} 95 % interval": "{metric} 95% 区间",
    "partial": "部分结果",
    "yes": "是",
    "StaICC's standard protocol: k = 4 demonstrations, all 1,024 prompts per data set (512 test "
    "queries, each asked twice with other demonstrations), StaICC's own demonstrations, templates "
    "and metrics; the engine's direct scorer. Comparable with other StaICC results.": "StaICC 标准协议:"
    "k = 4 个示例,每个数据集全部 1,024 个提示词(512 个测试查询,每个用不同示例问两次),使用 StaICC 自己的示例、"
    "模板和指标;本引擎的直接打分函数。可与其他 StaICC 结果比较。",
    "A cut-down run, not StaICC's standard protocol: k = {k}, at most {n} of the 1,024 prompts per data "
    "set (the first ones in StaICC's order). Do not compare these numbers with published StaICC "
    "results; choose all prompts (standard) for that.": "缩减版运行,不是 StaICC 标准协议:k = {k},"
    "每个数据集 1,024 个提示词中至多 {n} 个(按 StaICC 顺序的前几个)。不要把这些数字与已发表的 StaICC 结果比较;"
    "要比较请选择全部提示词(标准)。",
    "{name}: the accuracy interval includes chance ({chance:.2f}, guessing among {labels} "
    "labels): with {n} prompts this accuracy is not distinguishable from guessing.": "{name}:准确率区间包含"
    "随机水平({chance:.2f},在 {labels} 个标签中随机猜测):在 {n} 个提示词上,这个准确率与随机猜测无法区分。",
    "All the accuracy intervals overlap: at this number of prompts these numbers do not rank "
    "the data sets (overlapping intervals do not show that there is no difference either).": "所有准确率区间"
    "都相互重叠:在这个提示词数下,这些数字不能给数据集排出高低(区间重叠也不能说明没有差别)。",
    "Accuracy intervals that overlap ({pairs}): these differences may be chance at this number "
    "of prompts.": "准确率区间相互重叠的数据集({pairs}):在这个提示词数下,这些差别可能只是偶然。",
    "Stopped before the first prompts were scored: press **Run the benchmark** to run again.": "在第一批提示词"
    "打分之前已停止:请按 **运行基准测试** 重新运行。",
    "Stopped after {done} prompts: partial result. The data sets shown were scored on the "
    "prompts done so far (one stopped part-way is marked partial; data sets not reached are "
    "left out); press **Run the benchmark** to run them all.": "完成 {done} 个提示词后停止:部分结果。"
    "下面的数据集只在已完成的提示词上打分(中途停止的那个标为部分结果,未运行到的数据集不列出);"
    "请按 **运行基准测试** 运行全部提示词。",
    "Error bars and intervals: 95 %. Accuracy: Wilson interval; macro-F1 and ECE: percentile "
    "bootstrap over the prompts ({resamples} resamples, seed {seed}). Model: {model}.": "误差线和区间:95%。"
    "准确率:Wilson 区间;宏平均 F1 和 ECE:对提示词做百分位自助法({resamples} 次重抽样,种子 {seed})。模型:{model}。",
    "Download the benchmark table (CSV)": "下载基准测试表格(CSV)",
    "Download per-prompt scores (CSV)": "下载每个提示词的得分(CSV)",
}
