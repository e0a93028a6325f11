"""Interpretability: attention-head scores, head ablation and attention over prompt parts.

Files: patterns.py (pure maths: head labels, target masks, attention scores, the OV copying
score), probes.py (the seeded random repeated sequences and the one batched pass that collects
their attention), heads.py (the `HEAD_SCORES` registry, `score_heads` and its per-model caches;
adding a score: docs/howto/head_score.md), ablation.py (head sets and the `ablate_heads` hook
context manager), prompt_attention.py (attention of the final position to each prompt part).
The experiment that evaluates with heads ablated is `engine.experiments.ablation`.

Imports core, model, data and prompting; model internals only through `engine.model.arch`.
Importing this package imports `heads` and `ablation` (numpy only, no torch).
"""

from engine.interp.ablation import ABLATION_MODES as ABLATION_MODES
from engine.interp.ablation import AblationMode as AblationMode
from engine.interp.ablation import HeadSet as HeadSet
from engine.interp.ablation import ablate_heads as ablate_heads
from engine.interp.ablation import top_vs_random as top_vs_random
from engine.interp.heads import HEAD_SCORE_NAMES as HEAD_SCORE_NAMES
from engine.interp.heads import HEAD_SCORES as HEAD_SCORES
from engine.interp.heads import HeadScoreName as HeadScoreName
from engine.interp.heads import HeadScores as HeadScores
from engine.interp.heads import HeadScoreSpec as HeadScoreSpec
from engine.interp.heads import ProbeConfig as ProbeConfig
from engine.interp.heads import score_heads as score_heads
from engine.interp.patterns import head_label as head_label
from engine.interp.patterns import parse_head as parse_head
