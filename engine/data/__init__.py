"""Data: classification benchmarks and uploads, generation tasks and their uploads.

Files: types.py (Example, Dataset with its content fingerprint, Split), benchmarks.py (the StaICC
benchmark table DATASETS, text repair, load_dataset; adding one: docs/howto/dataset.md), loading.py
(the restricted unpickler that refuses every global), splits.py (split_dataset, label_counts),
uploads.py (the one CSV / JSONL reader, its caps and messages), classification_upload.py
(parse_user_data and the downloads that read back through it), gen_tasks.py (GenTask, the built-in
generation tasks, parse_gen_upload) with gen_task_items.py (their items). datasets.py re-exports the
classification names from their historic home.

Imports core and model only (and prompting, its neighbour on the same layer). Importing this package
imports none of its modules, so `engine.data.types` stays cheap to import.
"""
