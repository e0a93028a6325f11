"""Model: the runner protocol and its request / result types, the Hugging Face runner, the
shared-prefix scoring fast path, the lean Llama forward, the model registry and the fake
runner used by tests.

Layer order: core < model < data, prompting < scoring, retrieval, generation, interp <
evaluation < experiments < cli. This package imports only core.
"""
