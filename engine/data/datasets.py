"""Classification data sets for in-context learning: bundled benchmarks and user uploads.

Bundled benchmarks are the cached tables shipped with the ``StaICC`` package (Hakaze Cho, "a standardized
toolkit for classification task on in-context learning"). Each ``*.dataset`` file is a pickle of a plain
list of rows ``([input_text, ...], label_index)``; the label index is mapped to a label name through StaICC's
``_label_mapping`` (the identity for every data set registered here). StaICC's own loaders call ``pickle.loads``
on these files; this module never imports them. It locates the package folder with
``importlib.util.find_spec`` and reads the files with a restricted unpickler that refuses every global, so only
lists, tuples, dicts, strings and numbers can come out of them.

Loading normalises rows: markup left in the source texts is repaired (Penn-Treebank escapes in SST-5, broken
HTML entities and tags in AG News, HTML entities in tweets; see ``DatasetSpec.cleanup``), input fields are
stripped and joined with a newline (every registered table has a single input field), rows with an empty text
are dropped, and exact duplicate texts keep only their first row, so that a test query can never appear
verbatim among the demonstrations. ``Example.id`` is the row index in the source table, which stays stable
across these steps.

Uploads are CSV or JSONL files with ``text`` and ``label`` columns; every problem is reported as a
:class:`DataError` whose message is meant for the user (line numbers, the columns or labels found).

References:
    StaICC: https://github.com/hc495/StaICC (package ``StaICC==0.1.1``, ``StaICC/util/hgf_dataset_loader.py``
    holds the label spaces and label mappings used here). Each ``DatasetSpec.reference`` names the original.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import functools
import html
import importlib.util
import io
import json
import pickle
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, Literal, get_args

import numpy as np

from engine.core.errors import DataError as DataError  # re-exported: its historic home
from engine.core.fingerprint import content_fingerprint
from engine.core.text_safety import SURROGATE_HINT, has_lone_surrogate

DatasetName = Literal[
    "sst2",
    "sst5",
    "mr",
    "subj",
    "trec",
    "agnews",
    "financial_phrasebank",
    "tweet_emotion",
    "tweet_hate",
    "hate_speech18",
]

Cleanup = Literal["none", "ptb", "news", "tweet"]

UPLOAD_TEMPLATE = "Input: {text}\nLabel: {label}"
_MAX_LISTED = 5  # how many line numbers / values an error message lists before "and N more"
# Upload caps: a shared server parses every upload; these keep one file from taking seconds and
# gigabytes per rerun. The UI sets Streamlit's server.maxUploadSize from MAX_UPLOAD_BYTES.
MAX_UPLOAD_BYTES = 20_000_000  # checked before decoding
MAX_ROWS = 50_000  # data rows, counted while parsing: the reader stops at the cap
MAX_LABELS = 50  # distinct labels of a classification upload


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled input.

    Attributes:
        text: The input text (stripped, never empty).
        label: The label name, one of ``Dataset.label_names``.
        id: Row index in the source (StaICC table row, or 0-based data row of an upload); stable.
    """

    text: str
    label: str
    id: int


@dataclass(frozen=True, slots=True)
class Dataset:
    """A labelled classification data set with its default prompt format.

    Attributes:
        name: Short identifier (registry key, or the upload's name).
        title: Human-readable title.
        description: One line for the UI.
        label_names: The classes, in the source's label order.
        label_words: Default verbaliser, same order as ``label_names``.
        instruction: Default instruction put before the demonstrations (may be empty).
        template: Demonstration format with ``{text}`` and ``{label}`` fields.
        examples: All rows, in source order.
        source: ``"StaICC:<name>"`` or ``"upload:<filename>"`` (a name: never a cache key).
        fingerprint: sha256 of everything above (computed): two data sets with the same
            fingerprint give the same splits, prompts and results, so caches key on it.
    """

    name: str
    title: str
    description: str
    label_names: tuple[str, ...]
    label_words: tuple[str, ...]
    instruction: str
    template: str
    examples: tuple[Example, ...]
    source: str
    fingerprint: str = dataclasses.field(init=False, default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "fingerprint",
            content_fingerprint(
                [
                    self.name,
                    self.title,
                    self.description,
                    list(self.label_names),
                    list(self.label_words),
                    self.instruction,
                    self.template,
                    self.source,
                    [[ex.text, ex.label, ex.id] for ex in self.examples],
                ]
            ),
        )
        _check_label_format(self.name, self.label_names, self.label_words, self.template)
        if not self.examples:
            raise DataError(f"Data set {self.name!r} has no examples.")
        known = set(self.label_names)
        stray = _unique_in_order(ex.label for ex in self.examples if ex.label not in known)
        if stray:
            raise DataError(
                f"Data set {self.name!r} has examples with labels not in label_names: {_listing(stray)}."
            )

    def label_word_map(self) -> dict[str, str]:
        """Maps each label name to its default label word."""
        return dict(zip(self.label_names, self.label_words, strict=True))


@dataclass(frozen=True, slots=True)
class Split:
    """A disjoint split of a data set's examples.

    Attributes:
        pool: Demonstration pool (examples retrievers may pick from).
        test: Queries to evaluate on.
    """

    pool: tuple[Example, ...]
    test: tuple[Example, ...]


@dataclass(frozen=True, slots=True)
class DatasetSpec:
    """Metadata of a bundled benchmark and the StaICC cache file holding its rows.

    Attributes:
        name: Registry key.
        title: Human-readable title.
        description: One line for the UI.
        file_name: File under ``StaICC/cached_dataset/``.
        label_names: Class names in StaICC's label-index order (after its label mapping).
        label_words: Default single-word verbaliser, same order as ``label_names``.
        instruction: Default instruction (may be empty).
        template: Default demonstration format with ``{text}`` and ``{label}`` fields.
        reference: Where the data set comes from (paper or hub id).
        cleanup: Text repair applied on load: ``"ptb"`` undoes Penn-Treebank escapes (``-lrb-``, ``\\/``),
            ``"news"`` repairs AG News' broken HTML entities, tags and backslash line breaks, ``"tweet"``
            unescapes HTML entities and literal ``\\n``.
    """

    name: str
    title: str
    description: str
    file_name: str
    label_names: tuple[str, ...]
    label_words: tuple[str, ...]
    instruction: str
    template: str
    reference: str
    cleanup: Cleanup = "none"

    def __post_init__(self) -> None:
        _check_label_format(self.name, self.label_names, self.label_words, self.template)


def _check_label_format(
    name: str, label_names: tuple[str, ...], label_words: tuple[str, ...], template: str
) -> None:
    if len(label_names) < 1:
        raise DataError(f"Data set {name!r} has no label names.")
    if len(set(label_names)) != len(label_names):
        raise DataError(f"Data set {name!r} has duplicate label names: {list(label_names)}.")
    if len(label_words) != len(label_names):
        raise DataError(
            f"Data set {name!r} has {len(label_words)} label words for {len(label_names)} label names."
        )
    for field in ("{text}", "{label}"):
        if field not in template:
            raise DataError(f"The template of data set {name!r} must contain {field}.")


_REVIEW = "Review: {text}\nSentiment: {label}"

DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            name="sst2",
            title="SST-2 (movie review sentiment)",
            description="Binary sentiment of movie-review phrases and sentences (GLUE SST-2 train split).",
            file_name="sst2.dataset",
            label_names=("negative", "positive"),
            label_words=("negative", "positive"),
            instruction="Classify the sentiment of each movie review as negative or positive.",
            template=_REVIEW,
            reference="Socher et al. 2013, GLUE (hub: glue/sst2)",
        ),
        DatasetSpec(
            name="sst5",
            title="SST-5 (fine-grained sentiment)",
            description="Five-level sentiment of movie-review sentences, from very negative to very positive.",
            file_name="sst5.dataset",
            label_names=("very negative", "negative", "neutral", "positive", "very positive"),
            label_words=("terrible", "bad", "neutral", "good", "great"),
            instruction="Rate the sentiment of each movie review as terrible, bad, neutral, good or great.",
            template=_REVIEW,
            reference="Socher et al. 2013 (hub: SetFit/sst5)",
            cleanup="ptb",
        ),
        DatasetSpec(
            name="mr",
            title="Rotten Tomatoes (MR)",
            description="Binary sentiment of Rotten Tomatoes review snippets (Pang & Lee movie reviews).",
            file_name="rotten_tomatoes.dataset",
            label_names=("negative", "positive"),
            label_words=("negative", "positive"),
            instruction="Classify the sentiment of each movie review as negative or positive.",
            template=_REVIEW,
            reference="Pang & Lee 2005 (hub: cornell-movie-review-data/rotten_tomatoes)",
        ),
        DatasetSpec(
            name="subj",
            title="Subj (subjectivity)",
            description="Whether a movie-related sentence states a fact (objective) or an opinion (subjective).",
            file_name="subjective.dataset",
            label_names=("objective", "subjective"),
            label_words=("objective", "subjective"),
            instruction="Classify each sentence as objective (a fact) or subjective (an opinion).",
            template="Sentence: {text}\nType: {label}",
            reference="Pang & Lee 2004 (hub: SetFit/subj)",
        ),
        DatasetSpec(
            name="trec",
            title="TREC (question type)",
            description="Coarse answer type of open-domain questions (6 classes, train + test).",
            file_name="trec.dataset",
            label_names=("abbreviation", "entity", "description", "human", "location", "numeric"),
            label_words=("abbreviation", "entity", "description", "person", "location", "number"),
            instruction="Classify each question by the type of its answer.",
            template="Question: {text}\nAnswer type: {label}",
            reference="Li & Roth 2002 (hub: CogComp/trec, coarse labels)",
        ),
        DatasetSpec(
            name="agnews",
            title="AG News (news topic)",
            description="Topic of news articles (title + description): world, sports, business or sci/tech.",
            file_name="agnews.dataset",
            label_names=("world", "sports", "business", "sci/tech"),
            label_words=("world", "sports", "business", "science"),
            instruction="Classify the topic of each news article.",
            template="Article: {text}\nTopic: {label}",
            reference="Zhang et al. 2015 (hub: ag_news, train + test)",
            cleanup="news",
        ),
        DatasetSpec(
            name="financial_phrasebank",
            title="Financial PhraseBank",
            description="Sentiment of sentences from financial news, all annotators agreeing.",
            file_name="financial_phrasebank.dataset",
            label_names=("negative", "neutral", "positive"),
            label_words=("negative", "neutral", "positive"),
            instruction="Classify the sentiment of each financial news sentence.",
            template="Sentence: {text}\nSentiment: {label}",
            reference="Malo et al. 2014 (hub: financial_phrasebank/sentences_allagree)",
        ),
        DatasetSpec(
            name="tweet_emotion",
            title="TweetEval Emotion",
            description="Emotion expressed in a tweet: anger, joy, optimism or sadness.",
            file_name="tweet_eval_emotion.dataset",
            label_names=("anger", "joy", "optimism", "sadness"),
            label_words=("anger", "joy", "optimism", "sadness"),
            instruction="Classify the emotion expressed in each tweet.",
            template="Tweet: {text}\nEmotion: {label}",
            reference="Mohammad et al. 2018, Barbieri et al. 2020 (hub: tweet_eval/emotion)",
            cleanup="tweet",
        ),
        DatasetSpec(
            name="tweet_hate",
            title="TweetEval Hate",
            description="Whether a tweet is hate speech against immigrants or women (offensive content).",
            file_name="tweet_eval_hate.dataset",
            label_names=("non-hate", "hate"),
            label_words=("normal", "hate"),
            instruction="Classify each tweet as normal or hate speech.",
            template="Tweet: {text}\nCategory: {label}",
            reference="Basile et al. 2019, Barbieri et al. 2020 (hub: tweet_eval/hate)",
            cleanup="tweet",
        ),
        DatasetSpec(
            name="hate_speech18",
            title="Hate Speech 18 (Stormfront)",
            description=(
                "Sentences from a white-supremacist forum labelled hate, no hate, skip (annotators unsure) "
                "or relation (hateful only with neighbouring sentences); offensive content."
            ),
            file_name="hate_speech_18.dataset",
            label_names=("noHate", "hate", "idk/skip", "relation"),
            label_words=("normal", "hate", "skip", "relation"),
            instruction="Classify each forum post as normal or hate speech.",
            template="Post: {text}\nCategory: {label}",
            reference="de Gibert et al. 2018 (hub: hate_speech18)",
        ),
    )
}

assert tuple(DATASETS) == get_args(DatasetName), "DatasetName must list the DATASETS keys in order"


def dataset_names() -> list[str]:
    """Registered benchmark names, in registry order."""
    return list(DATASETS)


# --- text repair of the bundled tables ----------------------------------------------------------------------

_PTB_ESCAPES = {"-lrb-": "(", "-rrb-": ")", "-lsb-": "[", "-rsb-": "]", "-lcb-": "{", "-rcb-": "}"}
_PTB_RE = re.compile("|".join(re.escape(k) for k in _PTB_ESCAPES) + r"|\\(?=[/*])")
# AG News lost the "&" of many entities ("#39;" for "'", "quot;" for '"'). The regexes start with a literal
# or run only on texts with a ";": a general pattern over 127k texts costs seconds.
_BARE_NUMERIC_ENTITY = re.compile(r"#\d{2,5};")
_BARE_NAMED_ENTITY = re.compile(r"\b(?:quot|amp|lt|gt|nbsp|hellip|[lr]squo|[lr]dquo|[mn]dash);")
_HTML_TAG = re.compile(r"<[^<>]{0,400}>")


def _clean_ptb(text: str) -> str:
    return _PTB_RE.sub(lambda m: _PTB_ESCAPES.get(m.group(0), ""), text)


def _clean_news(text: str) -> str:
    if ";" in text:
        text = _BARE_NUMERIC_ENTITY.sub(lambda m: "&" + m.group(0), text.replace("&#", "#"))
        text = html.unescape(text)
        if ";" in text:
            text = _BARE_NAMED_ENTITY.sub(lambda m: html.unescape("&" + m.group(0)), text)
    if "<" in text:
        text = _HTML_TAG.sub(" ", text)
    if "\\" in text:
        # A backslash escapes "$" or stands for a line break between title and body.
        text = text.replace("\\$", "$").replace("\\", " ")
    return " ".join(text.split())


def _clean_tweet(text: str) -> str:
    return html.unescape(text).replace("\\n", " ").strip()


_CLEANERS: dict[str, Callable[[str], str]] = {
    "none": lambda text: text,
    "ptb": _clean_ptb,
    "news": _clean_news,
    "tweet": _clean_tweet,
}


# --- bundled StaICC tables ---------------------------------------------------------------------------------


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global, so no class, function or callable can be loaded or called."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name} from a data file")


def restricted_loads(data: bytes) -> object:
    """Unpickles data that may only contain built-in containers, strings and numbers.

    Args:
        data: Pickle bytes.

    Returns:
        The unpickled object (lists, tuples, dicts, sets, str, bytes, int, float, bool or None).

    Raises:
        pickle.UnpicklingError: If the pickle references any global (class, function, ...) or a persistent id.
    """
    return _RestrictedUnpickler(io.BytesIO(data)).load()


def _cached_dataset_dir() -> Path:
    """The ``cached_dataset`` folder of the installed StaICC package, found without importing it."""
    spec = importlib.util.find_spec("StaICC")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("The StaICC package is not installed; run `pip install StaICC==0.1.1`.")
    return Path(next(iter(spec.submodule_search_locations))) / "cached_dataset"


def _read_table(path: Path) -> list[tuple[list[str], int]]:
    """Reads a StaICC table ``[([input_text, ...], label_index), ...]`` and checks its shape."""
    try:
        raw = restricted_loads(path.read_bytes())
    except FileNotFoundError:
        raise DataError(f"Data file {path} is missing; reinstall StaICC==0.1.1.") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise DataError(f"Data file {path} could not be read safely: {exc}") from exc
    if not isinstance(raw, list):
        raise DataError(f"Data file {path} holds a {type(raw).__name__}, expected a list of rows.")
    table: list[tuple[list[str], int]] = []
    for i, row in enumerate(raw):
        ok = (
            isinstance(row, tuple | list)
            and len(row) == 2
            and isinstance(row[0], list | tuple)
            and all(isinstance(s, str) for s in row[0])
            and isinstance(row[1], int)
            and not isinstance(row[1], bool)
        )
        if not ok:
            raise DataError(f"Data file {path}: row {i} is not ([text, ...], label_index): {row!r:.200}")
        table.append((row[0], row[1]))
    return table


def _examples_from_table(
    table: list[tuple[list[str], int]], label_names: tuple[str, ...], cleanup: Cleanup, where: str
) -> tuple[Example, ...]:
    clean = _CLEANERS[cleanup]
    examples: list[Example] = []
    seen: set[str] = set()
    for i, (fields, label_index) in enumerate(table):
        if not 0 <= label_index < len(label_names):
            raise DataError(
                f"{where}: row {i} has label index {label_index}, expected 0..{len(label_names) - 1}."
            )
        text = "\n".join(c for c in (clean(s).strip() for s in fields) if c)
        if not text or text in seen:
            continue
        seen.add(text)
        examples.append(Example(text=text, label=label_names[label_index], id=i))
    return tuple(examples)


@functools.lru_cache(maxsize=16)
def load_dataset(name: str) -> Dataset:
    """Loads a registered benchmark from the StaICC cache (memoised).

    Args:
        name: A key of :data:`DATASETS`.

    Returns:
        The data set, rows in StaICC's (already shuffled) order; empty and duplicate texts dropped.

    Raises:
        DataError: For an unknown name, or a missing or malformed data file.
    """
    spec = DATASETS.get(name)
    if spec is None:
        raise DataError(f"Unknown data set {name!r}; known data sets: {', '.join(DATASETS)}.")
    path = _cached_dataset_dir() / spec.file_name
    examples = _examples_from_table(_read_table(path), spec.label_names, spec.cleanup, f"Data file {path}")
    return Dataset(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        label_names=spec.label_names,
        label_words=spec.label_words,
        instruction=spec.instruction,
        template=spec.template,
        examples=examples,
        source=f"StaICC:{spec.name}",
    )


# --- splitting and summaries -------------------------------------------------------------------------------


def split_dataset(
    ds: Dataset, *, n_test: int | None = None, seed: int = 0, test_fraction: float = 0.2
) -> Split:
    """Splits a data set into a demonstration pool and a test set, deterministically.

    The rows are shuffled with ``np.random.default_rng(seed).permutation``; the test set is the first
    ``n_test`` shuffled rows and the pool is the rest, each kept in shuffled order.

    Args:
        ds: The data set.
        n_test: Number of test examples (0..len); ``None`` uses ``test_fraction``.
        seed: Seed of the permutation.
        test_fraction: Fraction of rows used for testing when ``n_test`` is None, in (0, 1); the result is
            rounded and kept between 1 and len - 1.

    Returns:
        The disjoint pool and test examples.

    Raises:
        DataError: If ``n_test`` is negative or larger than the data set, or ``test_fraction`` is out of range.
    """
    n = len(ds.examples)
    if n_test is None:
        if not 0.0 < test_fraction < 1.0:
            raise DataError(f"The test fraction must be between 0 and 1 (exclusive), got {test_fraction}.")
        n_test = min(max(round(test_fraction * n), 1), max(n - 1, 1))
    elif n_test < 0:
        raise DataError(f"The number of test examples must be 0 or more, got {n_test}.")
    elif n_test > n:
        raise DataError(
            f"Asked for {n_test} test examples but {ds.title} has only {n} examples; use at most {n}."
        )
    order = np.random.default_rng(seed).permutation(n)
    shuffled = [ds.examples[int(i)] for i in order]
    return Split(pool=tuple(shuffled[n_test:]), test=tuple(shuffled[:n_test]))


def label_counts(examples: Iterable[Example], label_names: Sequence[str] | None = None) -> dict[str, int]:
    """Counts examples per label.

    Args:
        examples: The examples.
        label_names: If given, the result lists these labels first, in this order, zeros included.

    Returns:
        Label name -> count; labels not in ``label_names`` follow in order of first appearance.
    """
    counts: dict[str, int] = dict.fromkeys(label_names or (), 0)
    for ex in examples:
        counts[ex.label] = counts.get(ex.label, 0) + 1
    return counts


def dataset_to_jsonl(examples: Iterable[Example]) -> str:
    """Serialises examples as JSONL lines ``{"text": ..., "label": ...}`` (UTF-8 text, for download).

    The result reads back with :func:`parse_user_data` (which splits lines on ``"\n"`` only, so
    texts holding U+2028, U+2029 or U+0085, which JSON leaves unescaped, survive the round trip).
    """
    return "".join(
        json.dumps({"text": ex.text, "label": ex.label}, ensure_ascii=False) + "\n" for ex in examples
    )


def dataset_to_csv(examples: Iterable[Example]) -> str:
    """Serialises examples as CSV with a ``text,label`` header (UTF-8 text, for download).

    Every field is quoted, so commas, quotes and line breaks inside texts read back exactly
    with :func:`parse_user_data`.
    """
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(["text", "label"])
    writer.writerows([ex.text, ex.label] for ex in examples)
    return out.getvalue()


def split_jsonl_lines(text: str) -> list[str]:
    """The lines of a JSONL text: split on ``"\n"`` only, a trailing ``"\r"`` dropped from each.

    Why not ``str.splitlines``: it also breaks at U+2028, U+2029, U+0085 and other characters that
    JSON writes unescaped inside strings, which cut an object in two.
    """
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


# --- user uploads ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Row:
    line: int  # 1-based line in the file where the row starts
    fields: dict[str, Any]


def _unique_in_order(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _listing(items: Sequence[object], limit: int = _MAX_LISTED) -> str:
    shown = ", ".join(repr(x) if isinstance(x, str) else str(x) for x in items[:limit])
    more = len(items) - limit
    return f"{shown} and {more} more" if more > 0 else shown


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _size(n_bytes: int) -> str:
    if n_bytes < 1_000:
        return _plural(n_bytes, "byte")
    if n_bytes < 1_000_000:
        return f"{n_bytes / 1e3:.1f} kB"
    return f"{n_bytes / 1e6:.1f} MB"


def _lines(rows: Sequence[_Row]) -> str:
    word = "line" if len(rows) == 1 else "lines"
    return f"{word} {_listing([r.line for r in rows])}"


def _decode(data: bytes) -> tuple[str, str]:
    """Decodes uploaded bytes; returns (text, encoding name)."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError:
            pass
    else:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    has_utf16_bom = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if b"\x00" in data and not has_utf16_bom:
        raise DataError(
            "The file looks binary (it contains NUL bytes), not like a CSV or JSONL text file. "
            "Export the data as CSV (UTF-8) or JSONL."
        )
    import charset_normalizer  # lazily: only needed for non-UTF-8 uploads

    matches = charset_normalizer.from_bytes(data)
    best = matches.best()
    if best is None:
        raise DataError(
            "The file could not be decoded: it is not UTF-8 and no other text encoding fits. "
            "Save it as UTF-8 and upload it again."
        )
    # On a small file several 8-bit code pages fit equally well and the detector picks the first
    # (cp1250: "naïve" -> "naďve"). Windows-1252 is by far the most common of them (Excel's CSV
    # export in Western Europe and the Americas), so it wins every tie.
    tied = [m for m in matches if m.chaos <= best.chaos and m.coherence >= best.coherence]
    for m in tied:
        if m.encoding == "cp1252":
            return str(m), "cp1252"
    return str(best), str(best.encoding)


def normalise_label(text: str) -> str:
    """A label or column name as compared: NFC, no format characters (Unicode Cf: zero-width
    spaces, joiners, BOMs, direction marks), no surrounding whitespace.

    Why: ``pos`` and ``pos\u200b``, or NFC and NFD ``café``, look the same to a user but would
    count as different labels (or a `text` column would not be found).
    """
    if any(unicodedata.category(ch) == "Cf" for ch in text):
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    # NFC after the removal (a removed character may have kept two composable ones apart), so that
    # normalising twice changes nothing
    return unicodedata.normalize("NFC", text).strip()


def _column_key(name: str) -> str:
    return normalise_label(name).lower()


def _check_header(columns: list[str], where: str) -> dict[str, int]:
    """Checks a header for duplicates and the required columns; returns name -> position."""
    normalised = [_column_key(c) for c in columns]
    duplicates = _unique_in_order(c for i, c in enumerate(normalised) if c and c in normalised[:i])
    if duplicates:
        raise DataError(f"{where} has duplicate column names: {_listing(duplicates)}. Rename or drop them.")
    missing = [c for c in ("text", "label") if c not in normalised]
    if missing:
        found = _listing([c for c in columns if c.strip()]) or "none"
        need = " and ".join(f"`{c}`" for c in missing)
        raise DataError(
            f"{where} has no {need} column{'s' if len(missing) > 1 else ''}; columns found: {found}. "
            "The file needs a `text` and a `label` column."
        )
    return {c: i for i, c in enumerate(normalised)}


def _too_many_rows(max_rows: int) -> DataError:
    return DataError(
        f"The file has more than {max_rows:,} rows; upload at most {max_rows:,} (a sample of the data)."
    )


def _parse_csv(text: str, delimiter: str, max_rows: int = MAX_ROWS) -> list[_Row]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    header_line = 1
    positions: dict[str, int] = {}
    rows: list[_Row] = []
    start = 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if not record or all(not f.strip() for f in record):
                continue  # blank line
            if header is None:
                header, header_line = record, line
                positions = _check_header(header, "The CSV header")
                continue
            if len(record) != len(header):
                hint = (
                    " Put texts that contain the delimiter in double quotes."
                    if len(record) > len(header)
                    else ""
                )
                raise DataError(
                    f"Malformed CSV: line {line} has {_plural(len(record), 'field')} but the header "
                    f"(line {header_line}) has {len(header)}.{hint}"
                )
            if len(rows) >= max_rows:
                raise _too_many_rows(max_rows)
            rows.append(_Row(line=line, fields={k: record[i] for k, i in positions.items()}))
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise DataError(
                f"Malformed CSV: the row starting on line {start} has a field that is too long."
            ) from None
        raise DataError(f"Malformed CSV: the row starting on line {start}: {exc}.") from None
    if header is None:
        raise DataError(
            "The file has no header row; the first line must name the `text` and `label` columns."
        )
    return rows


def _parse_jsonl(text: str, max_rows: int = MAX_ROWS) -> list[_Row]:
    rows: list[_Row] = []
    keys: dict[str, None] = {}

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        names = [k for k, _ in pairs]
        duplicates = _unique_in_order(k for i, k in enumerate(names) if k in names[:i])
        if duplicates:
            raise DataError(f"duplicate keys {_listing(duplicates)}")
        return dict(pairs)

    for line_no, line in enumerate(split_jsonl_lines(text), start=1):
        if not line.strip():
            continue
        if len(rows) >= max_rows:
            raise _too_many_rows(max_rows)
        try:
            obj = json.loads(line, object_pairs_hook=no_duplicates)
        except DataError as exc:
            raise DataError(f"Line {line_no} has {exc}; each key may appear once per object.") from None
        except json.JSONDecodeError as exc:
            raise DataError(
                f"Malformed JSONL: line {line_no} is not valid JSON ({exc.msg}, column {exc.colno})."
            ) from None
        except RecursionError:
            raise DataError(
                f"Malformed JSONL: line {line_no} is nested too deeply; each line must be a flat object "
                'like {"text": "...", "label": "..."}.'
            ) from None
        if not isinstance(obj, dict):
            raise DataError(
                f"Malformed JSONL: line {line_no} holds a JSON {type(obj).__name__}; each line must be an "
                'object like {"text": "...", "label": "..."}.'
            )
        if any(has_lone_surrogate(str(k)) for k in obj):
            raise DataError(f"Line {line_no}: a field name contains {SURROGATE_HINT}; fix or remove it.")
        lowered = {_column_key(str(k)): v for k, v in obj.items()}
        if len(lowered) != len(obj):
            raise DataError(
                f"Line {line_no} has keys that differ only in case or spaces: {_listing(list(obj))}."
            )
        keys.update(dict.fromkeys(obj))
        rows.append(_Row(line=line_no, fields=lowered))
    if rows:
        present = {k.strip().lower() for k in keys}
        missing = [c for c in ("text", "label") if c not in present]
        if missing:
            need = " and ".join(f"`{c}`" for c in missing)
            raise DataError(
                f"The JSONL objects have no {need} field{'s' if len(missing) > 1 else ''}; fields found: "
                f"{_listing(list(keys)) or 'none'}. Each line needs a `text` and a `label` field."
            )
    return rows


def _cell_to_str(value: Any, column: str, line: int) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        if has_lone_surrogate(value):
            raise DataError(f"Line {line}: `{column}` contains {SURROGATE_HINT}; fix or remove it.")
        return value.strip()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    raise DataError(
        f"Line {line}: `{column}` must be a string or a number, got a JSON {type(value).__name__}."
    )


def parse_user_data(
    data: bytes,
    filename: str,
    *,
    label_names: Sequence[str] | None = None,
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_text_chars: int = 10_000,
    max_rows: int = MAX_ROWS,
    max_labels: int = MAX_LABELS,
    name: str | None = None,
) -> Dataset:
    """Parses an uploaded CSV or JSONL file with ``text`` and ``label`` columns into a data set.

    The format comes from the extension (``.csv``/``.tsv``, ``.jsonl``/``.ndjson``/``.json``), else from the
    content (a first character ``{`` means JSONL). Column names match case-insensitively; extra columns are
    ignored. Texts and labels are stripped. CSV delimiters other than a comma (tab, semicolon) are taken from
    the header line when it has no comma.

    Args:
        data: The file's bytes.
        filename: The file's name (used for the format, the source and the default name).
        label_names: Allowed labels, in order; if None, the labels found in order of first appearance.
        max_bytes: Largest accepted file size.
        max_text_chars: Longest accepted text, in characters.
        max_rows: Most data rows; the reader stops and refuses the file at the next one.
        max_labels: Most distinct labels (given or found).
        name: Name of the data set; defaults to the file name without extension.

    Returns:
        The data set, with label words equal to the label names, template ``"Input: {text}\\nLabel: {label}"``
        and no instruction.

    Raises:
        DataError: With a message for the user, for any problem with the file.
    """
    base = PurePath(filename).name or "upload"
    suffix = PurePath(base).suffix.lower()
    if suffix in {".xlsx", ".xls", ".ods", ".parquet"}:
        raise DataError(f"{suffix} files are not supported; export the data as CSV (UTF-8) or JSONL.")
    if len(data) > max_bytes:
        raise DataError(
            f"The file is {_size(len(data))}, over the {_size(max_bytes)} limit; upload a smaller sample."
        )
    if label_names is not None:
        label_names = [normalise_label(str(x)) for x in label_names]
        if not label_names or any(not x for x in label_names):
            raise DataError("The label names must be non-empty strings.")
        if len(set(label_names)) != len(label_names):
            raise DataError(f"The label names contain duplicates: {label_names}.")
        if len(label_names) > max_labels:
            raise DataError(f"{len(label_names)} label names are too many; use at most {max_labels}.")
    text, encoding = _decode(data)
    note = "" if encoding in {"utf-8", "utf-8-sig", "ascii"} else f" (file decoded as {encoding})"
    if not text.strip():
        raise DataError("The file is empty.")

    try:
        content = text.lstrip()
        if suffix in {".jsonl", ".ndjson", ".json"} or (
            suffix not in {".csv", ".tsv"} and content.startswith("{")
        ):
            if content.startswith("["):
                raise DataError(
                    "The file is a JSON array; upload JSON Lines instead (one object per line, "
                    'like {"text": "...", "label": "..."}).'
                )
            rows = _parse_jsonl(text, max_rows)
            kind = "JSONL"
        else:
            first_line = content.splitlines()[0]
            delimiter = "\t" if suffix == ".tsv" else ","
            if delimiter not in first_line:
                delimiter = next((d for d in ("\t", ";", "|") if d in first_line), delimiter)
            rows = _parse_csv(text, delimiter, max_rows)
            kind = "CSV"
        if not rows:
            raise DataError(f"The {kind} file has no data rows.")

        texts = [_cell_to_str(r.fields.get("text"), "text", r.line) for r in rows]
        labels = [normalise_label(_cell_to_str(r.fields.get("label"), "label", r.line)) for r in rows]
        empty_text = [r for r, t in zip(rows, texts, strict=True) if not t]
        if empty_text:
            raise DataError(f"Empty text on {_lines(empty_text)}; fill in or remove these rows.")
        empty_label = [r for r, lab in zip(rows, labels, strict=True) if not lab]
        if empty_label:
            raise DataError(f"Empty label on {_lines(empty_label)}; fill in or remove these rows.")
        too_long = [r for r, t in zip(rows, texts, strict=True) if len(t) > max_text_chars]
        if too_long:
            raise DataError(
                f"Text longer than {max_text_chars:,} characters on {_lines(too_long)}; shorten or remove these rows."
            )
        if label_names is not None:
            allowed = set(label_names)
            unknown = _unique_in_order(lab for lab in labels if lab not in allowed)
            if unknown:
                where = [r for r, lab in zip(rows, labels, strict=True) if lab not in allowed]
                raise DataError(
                    f"Labels not among the label names ({_listing(label_names, 20)}): {_listing(unknown)} "
                    f"(on {_lines(where)})."
                )
            names = tuple(label_names)
        else:
            names = tuple(_unique_in_order(labels))
            if len(names) > max_labels:
                raise DataError(
                    f"The file has {len(names):,} distinct labels; a classification upload may have at most "
                    f"{max_labels} (is the `label` column the right one?)."
                )
            if len(names) < 2:
                raise DataError(
                    f"The file has only one label ({names[0]!r}); a classification task needs at least two."
                )
    except DataError as exc:
        raise DataError(f"{exc}{note}") from None

    stem = PurePath(base).stem or "upload"
    return Dataset(
        name=name or stem,
        title=name or base,
        description=f"Uploaded from {base}: {len(rows)} rows, {len(names)} labels, {kind}{note or ', UTF-8'}.",
        label_names=names,
        label_words=names,
        instruction="",
        template=UPLOAD_TEMPLATE,
        examples=tuple(
            Example(text=t, label=lab, id=i) for i, (t, lab) in enumerate(zip(texts, labels, strict=True))
        ),
        source=f"upload:{base}",
    )
