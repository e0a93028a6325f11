"""Classification data sets (historic home): bundled benchmarks and user uploads, by re-export.

The code lives in one module per concept; import from there in new code:

* `engine.data.types`: `Example`, `Dataset` (with its content fingerprint), `Split`.
* `engine.data.benchmarks`: the StaICC benchmark table `DATASETS` and `load_dataset`.
* `engine.data.loading`: the restricted unpickler that refuses every global.
* `engine.data.splits`: `split_dataset`, `label_counts`.
* `engine.data.uploads`: the one CSV / JSONL reader (also used by generation-task uploads).
* `engine.data.classification_upload`: `parse_user_data` and the downloads that read back through it.
"""

from __future__ import annotations

from engine.core.errors import DataError as DataError  # re-exported: its historic home
from engine.data.benchmarks import DATASETS as DATASETS  # re-exported
from engine.data.benchmarks import Cleanup as Cleanup  # re-exported
from engine.data.benchmarks import DatasetName as DatasetName  # re-exported
from engine.data.benchmarks import DatasetSpec as DatasetSpec  # re-exported
from engine.data.benchmarks import dataset_names as dataset_names  # re-exported
from engine.data.benchmarks import load_dataset as load_dataset  # re-exported
from engine.data.classification_upload import MAX_LABELS as MAX_LABELS  # re-exported
from engine.data.classification_upload import UPLOAD_TEMPLATE as UPLOAD_TEMPLATE  # re-exported
from engine.data.classification_upload import dataset_to_csv as dataset_to_csv  # re-exported
from engine.data.classification_upload import dataset_to_jsonl as dataset_to_jsonl  # re-exported
from engine.data.classification_upload import parse_user_data as parse_user_data  # re-exported
from engine.data.loading import read_table as _read_table  # re-exported (tests/integration)
from engine.data.loading import restricted_loads as restricted_loads  # re-exported
from engine.data.splits import label_counts as label_counts  # re-exported
from engine.data.splits import split_dataset as split_dataset  # re-exported
from engine.data.types import Dataset as Dataset  # re-exported
from engine.data.types import Example as Example  # re-exported
from engine.data.types import Split as Split  # re-exported
from engine.data.uploads import MAX_ROWS as MAX_ROWS  # re-exported
from engine.data.uploads import MAX_UPLOAD_BYTES as MAX_UPLOAD_BYTES  # re-exported
from engine.data.uploads import normalise_label as normalise_label  # re-exported
from engine.data.uploads import split_jsonl_lines as split_jsonl_lines  # re-exported

__all__ = [
    "DATASETS",
    "MAX_LABELS",
    "MAX_ROWS",
    "MAX_UPLOAD_BYTES",
    "UPLOAD_TEMPLATE",
    "Cleanup",
    "DataError",
    "Dataset",
    "DatasetName",
    "DatasetSpec",
    "Example",
    "Split",
    "_read_table",
    "dataset_names",
    "dataset_to_csv",
    "dataset_to_jsonl",
    "label_counts",
    "load_dataset",
    "normalise_label",
    "parse_user_data",
    "restricted_loads",
    "split_dataset",
    "split_jsonl_lines",
]
