"""The condition language of condition rules, and its translation to SQL over a case and its labels.

A condition is a comparison `{"field": "severity", "op": "gte", "value": "high"}` or a combination of conditions:
`{"all": [...]}`, `{"any": [...]}`, `{"not": {...}}`. Fields are the case's own (priority, status, SLA…) or the
labels of its latest enrichment (sentiment, severity, category…). A label a case does not have (not enriched yet)
makes its comparison unknown, and an unknown comparison never matches, negated or not: `not severity = low` does
not match a case without a severity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, TypeAlias

from pydantic import ConfigDict, Discriminator, Field, Tag, model_validator
from sqlalchemy import ARRAY, ColumnElement, String, and_, false, func, literal, not_, or_
from sqlalchemy.dialects.postgresql import JSONB

from folio.models import CasePriority, CaseStatus
from folio.schemas import RequestModel

MAX_DEPTH = 5
MAX_COMPARISONS = 20
MAX_VALUES = 20
MAX_TEXT = 100


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"


class FieldType(StrEnum):
    ORDERED = "ordered"  # a scale, lowest first: every operator, `gte` by rank
    CHOICE = "choice"  # one of a set of values
    TEXT = "text"
    BOOLEAN = "boolean"
    NUMBER = "number"


_EQUALITY = frozenset({Op.EQ, Op.NE, Op.IN, Op.NOT_IN})
_ORDER = frozenset({Op.GT, Op.GTE, Op.LT, Op.LTE})
OPS: dict[FieldType, frozenset[Op]] = {
    FieldType.ORDERED: _EQUALITY | _ORDER,
    FieldType.CHOICE: _EQUALITY,
    FieldType.TEXT: _EQUALITY,
    FieldType.BOOLEAN: frozenset({Op.EQ}),
    FieldType.NUMBER: _ORDER,
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    type: FieldType
    label: bool  # read from the case's latest enrichment rather than the case
    description: str
    values: tuple[str, ...] = ()  # ORDERED (lowest first) and CHOICE


class ConditionField(StrEnum):
    PRIORITY = "priority"
    STATUS = "status"
    CHANNEL = "channel"
    CUSTOMER = "customer"
    ASSIGNED = "assigned"
    SLA_BREACHED = "sla_breached"
    SENTIMENT = "sentiment"
    SEVERITY = "severity"
    CATEGORY = "category"
    SUBCATEGORY = "subcategory"
    RISK_FLAG = "risk_flag"
    NEEDS_REVIEW = "needs_review"
    CONFIDENCE = "confidence"


FIELDS: dict[ConditionField, FieldSpec] = {
    ConditionField.PRIORITY: FieldSpec(
        FieldType.ORDERED, False, "The case's priority.", tuple(priority.value for priority in CasePriority)
    ),
    ConditionField.STATUS: FieldSpec(
        FieldType.CHOICE, False, "The case's status.", tuple(status.value for status in CaseStatus)
    ),
    ConditionField.CHANNEL: FieldSpec(FieldType.TEXT, False, "The case's channel (email, chat…)."),
    ConditionField.CUSTOMER: FieldSpec(FieldType.TEXT, False, "The case's customer."),
    ConditionField.ASSIGNED: FieldSpec(FieldType.BOOLEAN, False, "Whether someone is assigned to the case."),
    ConditionField.SLA_BREACHED: FieldSpec(
        FieldType.BOOLEAN, False, "Past its SLA due time and neither resolved nor closed."
    ),
    ConditionField.SENTIMENT: FieldSpec(
        FieldType.CHOICE, True, "How the customer feels.", ("positive", "neutral", "negative")
    ),
    ConditionField.SEVERITY: FieldSpec(
        FieldType.ORDERED, True, "How urgent the case is.", ("low", "medium", "high", "critical")
    ),
    ConditionField.CATEGORY: FieldSpec(FieldType.TEXT, True, "What the case is about (billing, refund_return…)."),
    ConditionField.SUBCATEGORY: FieldSpec(FieldType.TEXT, True, "A finer topic within the category."),
    ConditionField.RISK_FLAG: FieldSpec(
        FieldType.BOOLEAN, True, "Legal action, fraud, safety, a regulator, the press or churn mentioned."
    ),
    ConditionField.NEEDS_REVIEW: FieldSpec(FieldType.BOOLEAN, True, "The labels should be read by a person."),
    ConditionField.CONFIDENCE: FieldSpec(FieldType.NUMBER, True, "How sure the labels are, from 0 to 1."),
}


def describe_fields() -> str:
    """The fields with their values, for the API's documentation."""
    parts = []
    for field, spec in FIELDS.items():
        joined = " < ".join(spec.values) if spec.type is FieldType.ORDERED else ", ".join(spec.values)
        notes = "; ".join(note for note in ("a label" if spec.label else "", joined) if note)
        parts.append(f"`{field.value}`{f' ({notes})' if notes else ''}: {spec.description}")
    return " ".join(parts)


Value: TypeAlias = bool | float | Annotated[str, Field(max_length=MAX_TEXT)] | list[str]


class Comparison(RequestModel):
    """One field compared with a value: `in` and `not_in` take a list, the others one value."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"field": "severity", "op": "gte", "value": "high"}]}
    )

    field: ConditionField
    op: Op
    value: Value

    @model_validator(mode="after")
    def _fits_the_field(self) -> Comparison:
        spec = FIELDS[self.field]
        if self.op not in OPS[spec.type]:
            allowed = ", ".join(sorted(OPS[spec.type]))
            raise ValueError(f"{self.field} takes the operators {allowed}, not {self.op}")
        values: list[Any] = [self.value]
        if self.op in (Op.IN, Op.NOT_IN):
            if not (isinstance(self.value, list) and 0 < len(self.value) <= MAX_VALUES):
                raise ValueError(f"{self.op} takes a list of 1 to {MAX_VALUES} values")
            values = list(self.value)
        for value in values:
            _check_value(self.field, spec, value)
        return self


def _check_value(field: ConditionField, spec: FieldSpec, value: object) -> None:
    if spec.type is FieldType.BOOLEAN:
        if not isinstance(value, bool):
            raise ValueError(f"{field} is compared with true or false")
    elif spec.type is FieldType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, float | int):
            raise ValueError(f"{field} is compared with a number")
    elif not isinstance(value, str) or not value or len(value) > MAX_TEXT or "\x00" in value:
        raise ValueError(f"{field} is compared with text of 1 to {MAX_TEXT} characters")
    elif spec.values and value not in spec.values:
        raise ValueError(f"{field} is one of {', '.join(spec.values)}")


class AllOf(RequestModel):
    model_config = ConfigDict(extra="forbid")

    all: list[Condition] = Field(min_length=1, max_length=MAX_COMPARISONS, description="Every one holds.")


class AnyOf(RequestModel):
    model_config = ConfigDict(extra="forbid")

    any: list[Condition] = Field(min_length=1, max_length=MAX_COMPARISONS, description="At least one holds.")


class NotOf(RequestModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    not_: Condition = Field(alias="not", description="It does not hold (and is known).")


def _node(value: Any) -> str | None:
    if isinstance(value, dict):
        return next((key for key in ("all", "any", "not") if key in value), "comparison")
    for model, tag in ((Comparison, "comparison"), (AllOf, "all"), (AnyOf, "any"), (NotOf, "not")):
        if isinstance(value, model):
            return tag
    return None


Condition: TypeAlias = Annotated[
    Annotated[Comparison, Tag("comparison")]
    | Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[NotOf, Tag("not")],
    Discriminator(_node),
]

for _model in (AllOf, AnyOf, NotOf):
    _model.model_rebuild()


def children(condition: Condition) -> list[Condition]:
    if isinstance(condition, AllOf):
        return list(condition.all)
    if isinstance(condition, AnyOf):
        return list(condition.any)
    if isinstance(condition, NotOf):
        return [condition.not_]
    return []


def comparisons(condition: Condition) -> list[Comparison]:
    """Every comparison of the condition, found without recursion."""
    found: list[Comparison] = []
    pending = [condition]
    while pending:
        node = pending.pop()
        if isinstance(node, Comparison):
            found.append(node)
        pending.extend(children(node))
    return found


def depth(condition: Condition) -> int:
    """Levels of the tree: a comparison is 1, a combination one more than its deepest part."""
    deepest = 0
    pending = [(condition, 1)]
    while pending:
        node, level = pending.pop()
        deepest = max(deepest, level)
        pending.extend((child, level + 1) for child in children(node))
    return deepest


def check_bounds(condition: Condition) -> None:
    if depth(condition) > MAX_DEPTH:
        raise ValueError(f"a condition nests at most {MAX_DEPTH} levels")
    if len(comparisons(condition)) > MAX_COMPARISONS:
        raise ValueError(f"a condition holds at most {MAX_COMPARISONS} comparisons")


def uses_labels(condition: Condition) -> bool:
    return any(FIELDS[comparison.field].label for comparison in comparisons(condition))


def uses_sla(condition: Condition) -> bool:
    return any(comparison.field is ConditionField.SLA_BREACHED for comparison in comparisons(condition))


@dataclass(frozen=True, slots=True)
class CaseColumns:
    """The columns a condition is translated over: a case's, its latest enrichment's, and the time it is now."""

    priority: ColumnElement[Any]
    status: ColumnElement[Any]
    channel: ColumnElement[Any]
    customer: ColumnElement[Any]
    assigned_to: ColumnElement[Any]
    due_at: ColumnElement[Any]
    labels: ColumnElement[Any]  # the enrichment's JSONB data
    needs_review: ColumnElement[Any]
    confidence: ColumnElement[Any]
    now: ColumnElement[datetime]

    def of(self, field: ConditionField) -> ColumnElement[Any]:
        """The field's value as SQL: text for scales, choices and text labels, JSONB for true/false labels."""
        columns: dict[ConditionField, Callable[[], ColumnElement[Any]]] = {
            ConditionField.PRIORITY: lambda: self.priority,
            ConditionField.STATUS: lambda: self.status,
            ConditionField.CHANNEL: lambda: self.channel,
            ConditionField.CUSTOMER: lambda: self.customer,
            ConditionField.ASSIGNED: lambda: self.assigned_to.is_not(None),
            # No due time, no breach (rather than unknown).
            ConditionField.SLA_BREACHED: lambda: func.coalesce(
                (self.due_at <= self.now) & self.status.not_in([CaseStatus.RESOLVED.value, CaseStatus.CLOSED.value]),
                false(),
            ),
            ConditionField.NEEDS_REVIEW: lambda: self.needs_review,
            ConditionField.CONFIDENCE: lambda: self.confidence,
        }
        if field in columns:
            return columns[field]()
        label: ColumnElement[Any] = self.labels[field.value]
        return label if FIELDS[field].type is FieldType.BOOLEAN else label.astext


def to_sql(condition: Condition, columns: CaseColumns) -> ColumnElement[bool]:
    """The condition as a SQL boolean over `columns` (depth is bounded, so recursion is too)."""
    if isinstance(condition, AllOf):
        return and_(*(to_sql(child, columns) for child in condition.all))
    if isinstance(condition, AnyOf):
        return or_(*(to_sql(child, columns) for child in condition.any))
    if isinstance(condition, NotOf):
        return not_(to_sql(condition.not_, columns))
    return _comparison(condition, columns)


def _comparison(comparison: Comparison, columns: CaseColumns) -> ColumnElement[bool]:
    spec = FIELDS[comparison.field]
    column = columns.of(comparison.field)
    value = comparison.value
    if spec.type is FieldType.BOOLEAN:
        # A label is JSON: true matches a JSON true, never the string "true".
        return column == (literal(value, JSONB) if isinstance(column.type, JSONB) else value)
    if comparison.op is Op.EQ:
        return column == value
    if comparison.op is Op.NE:
        return column != value
    if comparison.op is Op.IN:
        return column.in_(value if isinstance(value, list) else [value])
    if comparison.op is Op.NOT_IN:
        return column.not_in(value if isinstance(value, list) else [value])
    if spec.type is FieldType.ORDERED:
        column = func.array_position(literal(list(spec.values), ARRAY(String)), column)
        value = spec.values.index(str(value)) + 1
    return {
        Op.GT: column > value,
        Op.GTE: column >= value,
        Op.LT: column < value,
        Op.LTE: column <= value,
    }[comparison.op]
