"""Every `st.cache_data` / `st.cache_resource` wrapper of the app's shell and pages, one module per family.

- `models`: model loads (a background job per model, device and weights stamp), the measured
  speed of a loaded model, a model's identity for saved experiments.
- `data`: bundled data sets, parsed uploads, train / test splits.
- `scoring`: the Prompt Lab's label scores, per-token log-probs of a text, response ranking.
- `retrieval`: which demonstrations a strategy selects for one query.
- `experiments`: the Home page's zero-shot vs 4-shot example.

Models and indexes are `st.cache_resource` (shared by every session, never mutated); results are
`st.cache_data`. Every key is content, never a name alone: `state.model_key` for what was
loaded, a data set's `fingerprint` for its rows (every pasted upload is "pasted.csv"). Arguments
whose name starts with ``_`` are not hashed: they are the objects the key already names. The
session-facing accessors (`state.get_runner`, `state.get_dataset`, ...) stay in
`components.state`; pages call the wrappers here directly.
"""
