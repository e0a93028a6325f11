"""Generation: decoding strategies over a KV-cached model, streamed token by token, and metrics
of generated text against references.

Files: config.py (DecodeConfig, results), protocol.py (StepModel / StepSession, the `DECODERS`
registry), decoders.py (the one step loop and a pick function per strategy), beam.py,
processors.py (log-softmax, penalties, top-k / top-p, contrastive scores), function_model.py and
hf_model.py (the two step models), stops.py and stream.py (streamed text), metrics.py.

Imports core, model, data and prompting. Importing this package imports `decoders`, which
registers every strategy, so `DECODERS` is full whichever generation module is imported first.
"""

from engine.generation import decoders as decoders  # fills DECODERS
from engine.generation.config import DecodeConfig as DecodeConfig
from engine.generation.config import GenerationResult as GenerationResult
from engine.generation.config import StrategyName as StrategyName
from engine.generation.protocol import DECODERS as DECODERS
from engine.generation.stream import GenerationStream as GenerationStream
from engine.generation.stream import generate as generate
