"""Experiments as files and links: everything needed to reproduce what a user set up.

An `Experiment` holds the shared prompt (instruction, template, separator, demonstrations, query,
label words), the model and its identity (the sha256 of its weights file when known), the
dataset, the seed, per-page settings and the app version. It is saved as a JSON file and can be
packed into a URL query parameter (`exp=`, zlib-compressed JSON in base64url) so a link restores
the prompt and settings. Loading validates every field and fails with a message for the user.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from engine.core.errors import ConfigError
from engine.core.text_safety import SURROGATE_HINT, has_lone_surrogate, replace_lone_surrogates
from engine.prompting.prompts import MAX_DEMOS

APP_VERSION = "0.1.0"
SCHEMA = "icl-explorer/experiment"
SCHEMA_VERSION = 1
MAX_LINK_CHARS = 6000  # browsers and proxies cut long URLs; larger experiments go to a file
# A link parameter longer than this is refused before it is decoded (links the app builds stay under
# MAX_LINK_CHARS; the slack is for hand-edited or re-encoded links).
MAX_LINK_PARAM_CHARS = 2 * MAX_LINK_CHARS
# The most JSON a link may inflate to; the decompressor stops there, so a zlib bomb costs at most this.
MAX_LINK_JSON_BYTES = 5_000_000


@dataclass(frozen=True, slots=True)
class Experiment:
    """A reproducible ICL set-up.

    Attributes:
        model: registry name, path or hub id.
        model_identity: e.g. "sha256:<hex> of SmolLM2-135M-Instruct.Q4_1.gguf" ("" when unknown).
        dataset: dataset registry name, or "upload".
        seed: the sidebar seed.
        instruction, template, separator, query: the shared prompt.
        demos: demonstrations in prompt order, each {"text", "label"}.
        label_words: label name -> word, in label order.
        settings: per-page settings (scorer, calibration, k, retrieval, ...), JSON values.
        language: UI language code.
        app_version: the version that saved it.

    Saved files and links never hold an absolute model path (it tells whoever receives the file
    the server's or the author's directory layout): a path under the home directory is saved as
    ``~/<relative path>`` (it still loads for the same user), any other absolute path as its base
    name only. Registry names and hub ids are saved as they are. See `portable_model_name`.
    """

    model: str
    dataset: str
    instruction: str
    template: str
    separator: str
    query: str
    demos: tuple[tuple[str, str], ...]
    label_words: tuple[tuple[str, str], ...]
    seed: int = 0
    model_identity: str = ""
    settings: tuple[tuple[str, Any], ...] = field(default_factory=tuple)
    language: str = "en"
    app_version: str = APP_VERSION

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["model"] = portable_model_name(self.model)
        d["demos"] = [{"text": t, "label": lab} for t, lab in self.demos]
        d["label_words"] = dict(self.label_words)
        d["settings"] = dict(self.settings)
        return {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, **d}


def portable_model_name(model: str) -> str:
    """`model` as saved in a file or link: ``~/...`` under the home directory, the base name for any
    other absolute path, unchanged otherwise (registry names, hub ids, relative paths)."""
    path = PurePosixPath(model)
    if not path.is_absolute():
        return model
    try:
        return "~/" + path.relative_to(PurePosixPath(Path.home())).as_posix()
    except ValueError:
        return path.name or model


def _check_text(value: str, where: str) -> str:
    """Refuses text that cannot be encoded (a lone surrogate from a JSON escape); names the field."""
    if has_lone_surrogate(value):
        raise ConfigError(f"{where} contains {SURROGATE_HINT}; fix or remove that character.")
    return value


def _check_json_text(value: Any, where: str) -> None:
    """`_check_text` over every string (keys included) inside a JSON value."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            _check_text(item, where)
        elif isinstance(item, dict):
            for k, v in item.items():
                _check_text(str(k), where)
                stack.append(v)
        elif isinstance(item, list):
            stack.extend(item)


def _str(d: dict[str, Any], key: str, default: str | None = None) -> str:
    if key not in d:
        if default is not None:
            return default
        raise ConfigError(f"The experiment file has no {key!r} field.")
    value = d[key]
    if not isinstance(value, str):
        raise ConfigError(f"Field {key!r} must be text, got {type(value).__name__}.")
    return _check_text(value, f"Field {key!r}")


def from_dict(d: Any) -> Experiment:
    """Validates a parsed JSON object and builds an `Experiment`."""
    if not isinstance(d, dict):
        raise ConfigError("An experiment must be a JSON object.")
    if d.get("schema") != SCHEMA:
        raise ConfigError("This JSON is not an ICL Explorer experiment (missing or wrong 'schema').")
    version = d.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ConfigError(
            "The experiment file has no valid 'schema_version' (a positive integer); it was not saved by "
            "ICL Explorer or has been edited."
        )
    if version > SCHEMA_VERSION:
        raise ConfigError(
            f"Experiment schema version {version} is newer than this app understands ({SCHEMA_VERSION}); "
            "open it with a newer ICL Explorer."
        )
    # older schema versions load: every field added since has a default
    demos_raw = d.get("demos", [])
    if not isinstance(demos_raw, list):
        raise ConfigError("Field 'demos' must be a list of {text, label} objects.")
    if len(demos_raw) > MAX_DEMOS:
        raise ConfigError(
            f"The experiment has {len(demos_raw):,} demonstrations; this app takes at most {MAX_DEMOS}."
        )
    demos: list[tuple[str, str]] = []
    for i, item in enumerate(demos_raw):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("text"), str)
            or not isinstance(item.get("label"), str)
        ):
            raise ConfigError(f"Demonstration {i + 1} must be an object with text and label strings.")
        _check_text(item["text"], f"The text of demonstration {i + 1}")
        _check_text(item["label"], f"The label of demonstration {i + 1}")
        demos.append((item["text"], item["label"]))
    words_raw = d.get("label_words", {})
    if not isinstance(words_raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in words_raw.items()
    ):
        raise ConfigError("Field 'label_words' must map label names to words.")
    _check_json_text(words_raw, "Field 'label_words'")
    settings_raw = d.get("settings", {})
    if not isinstance(settings_raw, dict):
        raise ConfigError("Field 'settings' must be an object.")
    _check_json_text(settings_raw, "Field 'settings'")
    seed = d.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError("Field 'seed' must be a non-negative integer.")
    return Experiment(
        model=_str(d, "model"),
        dataset=_str(d, "dataset"),
        instruction=_str(d, "instruction", ""),
        template=_str(d, "template"),
        separator=_str(d, "separator", "\n\n"),
        query=_str(d, "query", ""),
        demos=tuple(demos),
        label_words=tuple(words_raw.items()),
        seed=seed,
        model_identity=_str(d, "model_identity", ""),
        settings=tuple(sorted(settings_raw.items())),
        language=_str(d, "language", "en"),
        app_version=_str(d, "app_version", "unknown"),
    )


def version_note(exp: Experiment) -> str | None:
    """A sentence for the UI when `exp` was saved by another app version (None when the same).

    Why: results may differ between versions (models, scorers, defaults), so a loaded experiment
    from another version loads but says so.
    """
    if exp.app_version == APP_VERSION:
        return None
    return (
        f"This experiment was saved by ICL Explorer {exp.app_version}; this is {APP_VERSION}. "
        "It loads, but results may differ from the ones its author saw."
    )


def dumps(exp: Experiment) -> str:
    """Pretty JSON for a file download.

    Never raises on text that cannot be encoded: lone surrogates become U+FFFD (in JSON written
    with ``ensure_ascii=False`` they appear verbatim, so replacing them in the output is exact).
    """
    return replace_lone_surrogates(json.dumps(exp.to_dict(), ensure_ascii=False, indent=2))


def loads(text: str | bytes) -> Experiment:
    """Parses an experiment file; raises `ConfigError` with a message for the user."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigError("The experiment file is not UTF-8 text.") from exc
    if not text.strip():
        raise ConfigError("The experiment file is empty.")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"The experiment file is not valid JSON (line {exc.lineno}: {exc.msg}).") from exc
    except RecursionError:
        raise ConfigError("The experiment file is nested too deeply to be an experiment.") from None
    return from_dict(data)


def to_link_param(exp: Experiment) -> str:
    """Compact URL-safe encoding of an experiment for the `exp` query parameter."""
    text = json.dumps(exp.to_dict(), ensure_ascii=False, separators=(",", ":"))
    raw = replace_lone_surrogates(text).encode("utf-8")  # never raises; see `dumps`
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode("ascii").rstrip("=")


def inflate_bounded(data: bytes, limit: int) -> bytes:
    """Decompresses a zlib stream, refusing it as soon as it would exceed `limit` bytes.

    Why: ``zlib.decompress`` inflates everything before a size check can run, so a 1 MB link
    can ask for gigabytes. Here the decompressor is asked for at most ``limit + 1`` bytes; more
    output, or input left over, means the stream is too large; a stream that ends early is damaged.

    Raises:
        ConfigError: too large, or not a complete zlib stream.
    """
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise ConfigError("The link is damaged: its experiment could not be decoded.") from exc
    if len(out) > limit or (inflater.unconsumed_tail and not inflater.eof):
        raise ConfigError(
            f"The link's experiment is too large (over {limit / 1e6:.0f} MB of JSON); share it as a file."
        )
    if not inflater.eof:
        raise ConfigError("The link is damaged: its experiment is cut short.")
    return out


def from_link_param(param: str) -> Experiment:
    """Inverse of `to_link_param`; raises `ConfigError` for a damaged or oversized link.

    The parameter's length is checked before decoding and the decompression is bounded by
    `MAX_LINK_JSON_BYTES`, so a hostile link costs little memory and time.
    """
    if len(param) > MAX_LINK_PARAM_CHARS:
        raise ConfigError(
            f"The link is too long ({len(param):,} characters, at most {MAX_LINK_PARAM_CHARS:,}); "
            "share large experiments as a file."
        )
    try:
        padded = param + "=" * (-len(param) % 4)
        compressed = base64.urlsafe_b64decode(padded.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise ConfigError("The link is damaged: its experiment could not be decoded.") from exc
    return loads(inflate_bounded(compressed, MAX_LINK_JSON_BYTES))
