"""The bundled classification benchmarks: the StaICC table of `DatasetSpec`s and `load_dataset`.

Bundled benchmarks are the cached tables shipped with the ``StaICC`` package (Hakaze Cho, "a standardized
toolkit for classification task on in-context learning"), read by `engine.data.loading` (a restricted
unpickler). A row's label index is mapped to a label name through StaICC's ``_label_mapping`` (the identity
for every data set registered here).

Loading normalises rows: markup left in the source texts is repaired (Penn-Treebank escapes in SST-5, broken
HTML entities and tags in AG News, HTML entities in tweets; see ``DatasetSpec.cleanup``), input fields are
stripped and joined with a newline (every registered table has a single input field), rows with an empty text
are dropped, and exact duplicate texts keep only their first row, so that a test query can never appear
verbatim among the demonstrations. ``Example.id`` is the row index in the source table, which stays stable
across these steps. Adding a benchmark: docs/howto/dataset.md.

References:
    StaICC: https://github.com/hc495/StaICC (package ``StaICC==0.1.1``, ``StaICC/util/hgf_dataset_loader.py``
    holds the label spaces and label mappings used here). Each ``DatasetSpec.reference`` names the original.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

from engine.core.errors import DataError
from engine.data.loading import cached_dataset_dir, read_table
from engine.data.types import Dataset, Example, check_label_format

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
        check_label_format(self.name, self.label_names, self.label_words, self.template)


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
    path = cached_dataset_dir() / spec.file_name
    examples = _examples_from_table(read_table(path), spec.label_names, spec.cleanup, f"Data file {path}")
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
