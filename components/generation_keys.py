"""Session keys of the Generation and Response Ranking pages (``gen_*`` and ``rk_*``).

The Generation page keeps its own input/output demonstrations under ``gen_demos`` and reads or
writes the Prompt Lab's ``pl_instruction`` / ``pl_demos`` / ``pl_query`` only on explicit
buttons. `GEN_CTL` and `EVAL_CTL` hold the two runs' stop flags and partial results (issue 22,
long work, see `components.run_control`).
"""

from __future__ import annotations

from components.run_control import RunControl

# ---------------------------------------------------------------- session keys (Generation page)
GEN_SOURCE = "gen_source"
GEN_SOURCES = ("builtin", "upload")  # where the examples come from: a built-in task or the user's file
GEN_TASK = "gen_task"
GEN_INSTRUCTION = "gen_instruction"
GEN_TEMPLATE = "gen_template"
GEN_DEMOS = "gen_demos"  # list of {"input", "reasoning", "output"} dicts, prompt order
GEN_DEMOS_BASE = "gen_demos_base"
GEN_EDITOR_VERSION = "gen_editor_version"
GEN_QUERY = "gen_query"
GEN_REFERENCE = "gen_reference"
GEN_REFERENCE_REASONING = "gen_reference_reasoning"  # the reasoning of the test item taken as reference
GEN_PATTERN = "gen_pattern"
GEN_STOP = "gen_stop"
GEN_FOR_TASK = "gen_for_task"  # which task the defaults came from
GEN_RESULTS = "gen_results"  # the last run: {"prompt", "reference", "pattern", "results": {label: result}}
GEN_EVAL = "gen_eval_result"
# Stop and partial results of the two runs ("gen" itself would name the Stop button "gen_stop",
# the stop-sequences field's key)
GEN_CTL = RunControl("gen_ctl")
EVAL_CTL = RunControl("gen_eval_ctl")
GEN_PARTIAL = "generation"  # the key of the generation's partial result in GEN_CTL
EVAL_PARTIAL = "evaluation"

# ---------------------------------------------------------------- session keys (Ranking page)
RK_RESULT = "rk_result"
