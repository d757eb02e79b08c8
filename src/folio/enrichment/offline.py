"""The offline enrichment engine: labels for a text from a lexicon, rules and embedding similarity, no language model.

Sentiment is VADER's compound score (its lexicon adjusted to support messages, see `lexicon`); severity and the
risk flag are rules over that score and term lists; a property with a set of labels gets the label whose
description is nearest to the text's embedding; the summary is the text's first sentence. The engine is prepared
once per schema (the label descriptions are embedded then) and applied to texts whose vectors the caller already
has, so applying it is pure CPU work. It reports `MODEL` so that nobody mistakes its labels for a model's.

Accuracy, calibration and throughput are measured on hand-labelled messages in tests/enrichment/test_offline.py.
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from folio.embeddings.provider import EmbeddingProvider
from folio.enrichment import lexicon
from folio.llm.extractive import split_sentences

MODEL = "folio-offline-enrichment"

# VADER's standard cut-off for negative. Its positive one (+0.05) calls most support messages positive: courtesy
# survives the lexicon changes ("Would be great if you could..."), so positive starts higher. Measured on
# tests/enrichment/labelled.py with the adjusted lexicon, accuracy by positive cut-off: 0.05 -> 0.68, 0.3 -> 0.68,
# 0.5 -> 0.72, 0.6 -> 0.74 (one message more, at the price of calling "Thanks, that works." (0.53) neutral).
NEGATIVE_TO = -0.05
POSITIVE_FROM = 0.5
# A compound score this low is an angry customer even without words of anger (`lexicon.ANGER`). Higher cut-offs
# catch defect reports: on the labelled set every non-critical text under -0.6 was an ordinary (medium) problem.
STRONG_NEGATIVE = -0.85
SENTIMENTS = frozenset({"positive", "neutral", "negative"})
SEVERITIES = frozenset({"low", "medium", "high", "critical"})
# How often the sentiment is right, measured on tests/enrichment/labelled.py (CASES; HELD_OUT agrees: 0.90, 0.80):
# 0.84 when the signals agree, 0.58 when they do not (VADER finds both positive and negative words; a weak score in
# the neutral band; a problem told without a negative reading). The distance of the compound score from a cut-off,
# the obvious measure, does not predict it at all (AUC 0.49): VADER is not more often right when more emphatic.
SENTIMENT_CLEAR = 0.85
SENTIMENT_AMBIGUOUS = 0.6
# Softmax temperature over the cosine similarities of the labels: at 0.05 the mean probability of the best category
# (0.72) is close to the category accuracy (0.67) on CASES, and it tells right from wrong with an AUC of 0.78.
LABEL_TEMPERATURE = 0.05
# Confidence is then roughly the chance that sentiment and labels are all right (mean 0.57, share right 0.54 over
# both labelled sets), so below 0.5 they are more likely wrong than right: on CASES 27 of 69 messages fall below, and
# 37 % of those are right against 55 % above. Between 0.4 and 0.5 only 3 of 8 (both sets) were right, so a lower
# bar would leave mostly wrong labels unreviewed.
REVIEW_BELOW = 0.5
# First sentences shorter than this are greetings ("Hello,", "Hi team") that say nothing about the case.
MIN_SUMMARY_WORDS = 3
ELLIPSIS = "…"
# What `_value` returns for a property it cannot fill.
_UNFILLED = object()


@dataclass(frozen=True, slots=True)
class OfflineResult:
    """An enrichment valid against its schema whenever `missing` (required properties left unfilled) is empty."""

    data: dict[str, Any]
    confidence: float
    needs_review: bool
    missing: list[str]


class _Fill(enum.Enum):
    SENTIMENT = enum.auto()
    SEVERITY = enum.auto()
    RISK_FLAG = enum.auto()
    LABELS = enum.auto()
    SUMMARY = enum.auto()
    NULL = enum.auto()
    CONFIDENCE = enum.auto()
    NEEDS_REVIEW = enum.auto()


@dataclass(frozen=True, slots=True)
class _LabelSet:
    values: tuple[str, ...]
    # One unit row per value: its description's embedding.
    vectors: npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class _Reading:
    """What the engine makes of one text, before it is laid out as the schema's properties."""

    sentiment: str
    sentiment_certainty: float
    severity: str
    risk: bool
    labels: dict[str, tuple[str, float]]  # property -> (best value, its probability)


class OfflineEnricher:
    """Prepared once per schema (label descriptions embedded once), then applied to many texts."""

    def __init__(self, schema: dict[str, Any], label_sets: dict[str, _LabelSet]) -> None:
        properties: dict[str, Any] = schema.get("properties", {})
        self._plan = {name: _fill_for(name, spec) for name, spec in properties.items()}
        self._properties = properties
        self._required: list[str] = list(schema.get("required", []))
        self._label_sets = label_sets
        # Severity and the risk flag are read off the same words as sentiment, so its doubt counts for them too.
        self._sentiment_counts = bool(set(self._plan.values()) & {_Fill.SENTIMENT, _Fill.SEVERITY, _Fill.RISK_FLAG})

    @classmethod
    async def prepare(cls, schema: dict[str, Any], embedder: EmbeddingProvider) -> OfflineEnricher:
        if schema.get("type") != "object":
            raise ValueError("the offline engine fills object schemas only")
        labelled = {
            name: labels
            for name, spec in schema.get("properties", {}).items()
            if _fill_for(name, spec) is _Fill.LABELS and (labels := _labels_of(spec))
        }
        if not labelled:
            return cls(schema, {})
        vectors = await embedder.embed([description for labels in labelled.values() for _, description in labels])
        label_sets: dict[str, _LabelSet] = {}
        first = 0
        for name, labels in labelled.items():
            label_sets[name] = _LabelSet(tuple(value for value, _ in labels), vectors[first : first + len(labels)])
            first += len(labels)
        return cls(schema, label_sets)

    def enrich(self, text: str, vector: npt.NDArray[np.float32]) -> OfflineResult:
        """Labels for `text`, whose unit embedding `vector` the caller has already computed."""
        reading = self._read(text, vector)
        certainties = [probability for _, probability in reading.labels.values()]
        if self._sentiment_counts:
            certainties.append(reading.sentiment_certainty)
        # The product is the chance that every label is right, if their errors are independent.
        confidence = round(math.prod(certainties), 4)
        data: dict[str, Any] = {}
        for name, fill in self._plan.items():
            value = self._value(fill, name, text, reading, confidence)
            if value is not _UNFILLED:
                data[name] = value
        missing = [name for name in self._required if name not in data]
        needs_review = confidence < REVIEW_BELOW or reading.severity == "critical" or bool(missing)
        for name, fill in self._plan.items():
            if fill is _Fill.NEEDS_REVIEW:
                data[name] = needs_review
        return OfflineResult(data=data, confidence=confidence, needs_review=needs_review, missing=missing)

    def _read(self, text: str, vector: npt.NDArray[np.float32]) -> _Reading:
        # Typographic apostrophes would hide "can't" and "haven't" from VADER's negations and from the term lists.
        text = text.replace("\u2019", "'")
        scores: dict[str, float] = _analyzer().polarity_scores(text)
        compound = scores["compound"]
        cues = _Cues.of(text)
        labels = {name: _best_label(label_set, vector) for name, label_set in self._label_sets.items()}
        sentiment = _sentiment(compound, cues)
        mixed = scores["pos"] > 0 and scores["neg"] > 0
        weak = sentiment == "neutral" and compound != 0
        unvoiced_problem = sentiment != "negative" and cues.problem
        certainty = SENTIMENT_AMBIGUOUS if mixed or weak or unvoiced_problem else SENTIMENT_CLEAR
        return _Reading(sentiment, certainty, _severity(compound, cues), cues.risk, labels)

    def _value(self, fill: _Fill | None, name: str, text: str, reading: _Reading, confidence: float) -> Any:
        spec: dict[str, Any] = self._properties[name]
        match fill:
            case _Fill.SENTIMENT:
                return reading.sentiment
            case _Fill.SEVERITY:
                return reading.severity
            case _Fill.RISK_FLAG:
                return reading.risk
            case _Fill.LABELS:
                return reading.labels[name][0]
            case _Fill.SUMMARY:
                summary = summarize(text, spec.get("maxLength"))
                return summary if len(summary) >= spec.get("minLength", 0) else _UNFILLED
            case _Fill.NULL:
                return None
            case _Fill.CONFIDENCE:
                return confidence
            case _Fill.NEEDS_REVIEW:
                # Holds the property's place in the schema's order until `missing`, which it depends on, is known.
                return True
        return _UNFILLED


def summarize(text: str, max_length: int | None = None) -> str:
    """The first sentence of `text` that is more than a greeting, cut to `max_length` characters at a word."""
    sentences = [" ".join(text[start:end].split()) for start, end in split_sentences(text)]
    summary = next((sentence for sentence in sentences if len(sentence.split()) >= MIN_SUMMARY_WORDS), "")
    summary = summary or (sentences[0] if sentences else "")
    if max_length is None or len(summary) <= max_length:
        return summary
    cut = summary[: max(max_length - len(ELLIPSIS), 0)]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-") + ELLIPSIS if cut else summary[:max_length]


@dataclass(frozen=True, slots=True)
class _Cues:
    """Which of `lexicon`'s term lists a text matches."""

    harm: bool  # safety, security, legal, regulator, fraud, outage
    exposure: bool  # the press, a competitor
    stakes: bool  # money, churn, anger, data loss
    problem: bool

    @classmethod
    def of(cls, text: str) -> _Cues:
        return cls(
            harm=any(pattern.search(text) for pattern in lexicon.CRITICAL),
            exposure=any(pattern.search(text) for pattern in lexicon.ELEVATED),
            stakes=any(pattern.search(text) for pattern in lexicon.HIGH),
            problem=lexicon.PROBLEM.search(text) is not None,
        )

    @property
    def risk(self) -> bool:
        return self.harm or self.exposure


def _sentiment(compound: float, cues: _Cues) -> str:
    # Someone harmed, out of pocket, leaving or angry is not content, however it reads: this catches the sarcasm
    # VADER takes at its word ("Oh wonderful, the update deleted all my projects"). The press and competitors are
    # left out: a journalist's request for comment is a risk, not a feeling. Accuracy: CASES 0.725 -> 0.754,
    # HELD_OUT 0.84 -> 0.88.
    if cues.harm or cues.stakes or compound <= NEGATIVE_TO:
        return "negative"
    return "positive" if compound >= POSITIVE_FROM else "neutral"


def _severity(compound: float, cues: _Cues) -> str:
    if cues.harm:
        return "critical"
    if cues.exposure or cues.stakes or compound <= STRONG_NEGATIVE:
        return "high"
    if cues.problem or compound <= NEGATIVE_TO:
        return "medium"
    return "low"


def _best_label(labels: _LabelSet, vector: npt.NDArray[np.float32]) -> tuple[str, float]:
    similarities = labels.vectors @ vector
    # A softmax over similarities: the probability of the best label grows with its lead over the others.
    weights = np.exp((similarities - similarities.max()) / LABEL_TEMPERATURE)
    best = int(np.argmax(similarities))
    return labels.values[best], float(weights[best] / weights.sum())


def _fill_for(name: str, spec: dict[str, Any]) -> _Fill | None:
    """How the engine fills property `name`, or None when it cannot."""
    values = set(_string_enum(spec))
    if values and _allows(spec, "string"):
        if SENTIMENTS <= values:
            return _Fill.SENTIMENT
        if SEVERITIES <= values:
            return _Fill.SEVERITY
    if name == "risk_flag" and _allows(spec, "boolean"):
        return _Fill.RISK_FLAG
    if name == "needs_review" and _allows(spec, "boolean"):
        return _Fill.NEEDS_REVIEW
    if name == "confidence" and _allows(spec, "number") and _spans_unit_interval(spec):
        return _Fill.CONFIDENCE
    if name == "summary" and _allows(spec, "string"):
        return _Fill.SUMMARY
    if _labels_of(spec) and _allows(spec, "string"):
        return _Fill.LABELS
    if "null" in _declared_types(spec):
        return _Fill.NULL
    return None


def _labels_of(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """`(value, description)` for each label of a label-set property: `oneOf` consts, or a string `enum`."""
    options = spec.get("oneOf")
    if isinstance(options, list) and options and all(isinstance(option.get("const"), str) for option in options):
        return [(option["const"], option.get("description") or _spoken(option["const"])) for option in options]
    return [(value, _spoken(value)) for value in _string_enum(spec)]


def _string_enum(spec: dict[str, Any]) -> list[str]:
    values = spec.get("enum")
    if isinstance(values, list) and values and all(isinstance(value, str) for value in values):
        return values
    return []


def _spoken(value: str) -> str:
    return re.sub(r"[_-]+", " ", value)


def _allows(spec: dict[str, Any], json_type: str) -> bool:
    return "type" not in spec or json_type in _declared_types(spec)


def _declared_types(spec: dict[str, Any]) -> set[str]:
    declared = spec.get("type", [])
    return {declared} if isinstance(declared, str) else set(declared)


def _spans_unit_interval(spec: dict[str, Any]) -> bool:
    minimum: float = spec.get("minimum", 0)
    maximum: float = spec.get("maximum", 1)
    return minimum <= 0 and maximum >= 1


@cache
def _analyzer() -> Any:
    # Built once per process: it reads VADER's 7,500-word lexicon from disk.
    analyzer = SentimentIntensityAnalyzer()
    analyzer.lexicon.update(lexicon.SUPPORT_VALENCE)
    return analyzer
