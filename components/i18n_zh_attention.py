"""Chinese (简体中文) UI strings of the Attention page's ablation (Stop, partial result, paired drops).

Keys are the exact English strings passed to `components.i18n.t`; format fields must match.
"""

from __future__ import annotations

ZH_ATTENTION: dict[str, str] = {
    # pages/attention.py
    "What to expect (measured on SmolLM2-135M with the defaults on SST-2, seed 0): the top 10 induction heads "
    "change the answers beyond noise, 10 random heads do not, but accuracy goes **up** (0.575 to 0.775 on 40 "
    "queries, McNemar exact p = 0.02). One reading, not tested here: at this scale the demonstrations' labels "
    "are copied, and these heads copy them; without them the model leans on the query. Each drop below "
    "comes with its paired 95 % interval: a drop within noise says nothing either way.": "预期结果(在 SmolLM2-135M 上用默认设置、"
    "SST-2、种子 0 实测):消融归纳得分最高的 10 个头,答案的变化超出噪声范围,消融 10 个随机头则没有;但准确率是**上升**的"
    "(40 个查询上从 0.575 升到 0.775,McNemar 精确检验 p = 0.02)。一种解释(此处未经检验):在这个规模下,示例中的标签被复制,"
    "而复制由这些头完成;没有它们,模型更多地依靠查询本身。下面每个下降值都附有配对的 95% 区间:"
    "在噪声范围内的下降不能说明任何方向的结论。",
    "Stopped before the first queries were scored: press **Run the ablation** to run again.": "在第一批查询打分之前已停止:请按 **运行消融实验** 重新运行。",
    "Stopped after {done} of {total} queries: partial result. Every condition ran on the same {done} queries, "
    "so the drops below compare like with like; press **Run the ablation** to run them all.": "在 {total} 个查询中完成 {done} 个后停止:部分结果。"
    "每种条件都在同样的 {done} 个查询上运行,因此下面的下降值是同类比较;请按 **运行消融实验** 运行全部查询。",
    # components/ablation_views.py
    "Error bars: the Wilson 95 % interval of each accuracy on its own.": "误差线:每个准确率各自的 Wilson 95% 区间。",
    # components/attention_views.py (the long-prompt gate; its warning is the Prompt Lab's)
    "running it with attention patterns": "带注意力模式运行它",
    "The long prompt was not run: shorten it in the Prompt Lab, or ask again.": "这个长提示词没有运行:"
    "请在提示词实验室中缩短它,或重新估计。",
    "Estimate again": "重新估计",
    "**{name}**: accuracy drop **{drop:+.3f}** (95 % interval {lo:+.3f} … {hi:+.3f}; {lost} of {n} queries "
    "went from right to wrong, {gained} from wrong to right; McNemar exact p = {p:.3f}). Mean P(gold label) "
    "drop {pdrop:+.3f} (bootstrap 95 % interval {plo:+.3f} … {phi:+.3f}).": "**{name}**:准确率下降 **{drop:+.3f}**"
    "(95% 区间 {lo:+.3f} … {hi:+.3f};{n} 个查询中有 {lost} 个由对变错,{gained} 个由错变对;McNemar 精确检验 p = {p:.3f})。"
    "正确标签的平均概率 P(正确标签) 下降 {pdrop:+.3f}(自助法 95% 区间 {plo:+.3f} … {phi:+.3f})。",
    "No query changed its answer's correctness: no measurable effect on accuracy.": "没有任何查询的对错发生变化:对准确率没有可测量的影响。",
    "Within noise: with {n} paired queries, a split of {lost} lost to {gained} gained is what chance gives "
    "(p ≥ 0.05). More test queries narrow the interval.": "在噪声范围内:在 {n} 个配对查询上,{lost} 个变错对 {gained} 个变对"
    "的差别是偶然就会出现的(p ≥ 0.05)。更多的测试查询会使区间变窄。",
    "Beyond noise (p < 0.05): on this task the model needs these heads.": "超出噪声范围(p < 0.05):在这个任务上模型需要这些注意力头。",
    "Beyond noise (p < 0.05), and accuracy went **up**: on this task these heads hurt more than they help "
    "(for example by copying labels from the demonstrations instead of reading the query).": "超出噪声范围(p < 0.05),"
    "而且准确率**上升**了:在这个任务上这些注意力头弊大于利(例如它们从示例中复制标签,而不是读懂查询)。",
    "**{top}** against **{control}**: ablating the top heads costs {diff:+.3f} more accuracy than the control "
    "(negative: it gains more; 95 % interval {lo:+.3f} … {hi:+.3f}, McNemar exact p = {p:.3f}).": "**{top}** 对比 **{control}**:"
    "消融得分最高的注意力头比对照组多损失 {diff:+.3f} 的准确率(负值表示反而提高更多;95% 区间 {lo:+.3f} … {hi:+.3f},"
    "McNemar 精确检验 p = {p:.3f})。",
    "The difference from the random control is within noise.": "与随机对照组的差别在噪声范围内。",
    "The difference from the random control is beyond noise (p < 0.05).": "与随机对照组的差别超出噪声范围(p < 0.05)。",
}

ERROR_PATTERNS_ATTENTION: list[tuple[str, str]] = [
    (
        r"^A paired comparison needs both runs over the same queries\.?$",
        "配对比较要求两次运行使用相同的查询。",
    ),
]
