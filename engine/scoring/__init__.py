"""Scoring: direct, perplexity and channel scorers, and calibrations, turning log-probs into
one answer per label.

Files: `types.py` (what is scored and what comes back, the spec types), `direct.py` (direct and
ppl texts), `channel.py` (noisy channel), `calibration.py` (`CALIBRATIONS`), `scorers.py`
(`SCORERS`, `ScoringConfig`, `score_prompt`). Imports core, model, data and prompting.
"""

from engine.scoring.calibration import CALIBRATIONS as CALIBRATIONS
from engine.scoring.scorers import SCORERS as SCORERS
from engine.scoring.scorers import ScoringConfig as ScoringConfig
from engine.scoring.scorers import prompt_requests as prompt_requests
from engine.scoring.scorers import score_prompt as score_prompt
from engine.scoring.types import CalibrationName as CalibrationName
from engine.scoring.types import LabelScore as LabelScore
from engine.scoring.types import PromptScores as PromptScores
from engine.scoring.types import ScorerName as ScorerName
