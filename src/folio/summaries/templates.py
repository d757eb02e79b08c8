"""Prompt templates: named variables in `{braces}`, checked when a template is saved, filled without re-parsing.

Templates use the syntax of Python's `str.format` (so `{{` and `}}` are literal braces), but only its plainest part:
a bare variable name from the kind's list. Attribute access, indexing, conversions and format specs are refused,
because they would let a template reach into the values it is given. Rendering never calls `str.format`: the saved
prompt is split into literal text and variables once, and the values are put between the pieces as they are, so
braces or template syntax inside a document or a user's instructions stay text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from string import Formatter

from folio.models import TemplateKind
from folio.summaries.errors import TemplateSyntaxInvalid, TemplateVariableUnknown

VARIABLES: dict[TemplateKind, dict[str, str]] = {
    TemplateKind.SUMMARY: {
        "document_title": "The document's title.",
        "content": "The text to summarise: the whole document, or for a long one, the summaries of its sections.",
        "length": "The length asked for, in words (from `length`: short, medium, long).",
        "format": "The form asked for (from `format`: paragraph, bullets, markdown).",
        "language": "The language to write in (from `language`; the document's own when not given).",
        "instructions": "The request's free `instructions`, or nothing.",
    },
    TemplateKind.ENRICHMENT: {
        "document_title": "The record's or document's title.",
        "content": "The text to analyse.",
        "schema": "The enrichment schema (JSON Schema) the answer must follow.",
        "language": "The language to write free-text fields in.",
        "instructions": "The request's free `instructions`, or nothing.",
    },
}


@dataclass(frozen=True, slots=True)
class Piece:
    literal: str
    variable: str | None


def parse(prompt: str, kind: TemplateKind) -> list[Piece]:
    """The prompt as literal text and variables; raises when it is malformed or names a variable `kind` lacks."""
    allowed = VARIABLES[kind]
    try:
        parsed = list(Formatter().parse(prompt))
    except ValueError as error:
        raise TemplateSyntaxInvalid(f"The prompt is not valid: {error}.") from error
    pieces: list[Piece] = []
    unknown: set[str] = set()
    for literal, variable, spec, conversion in parsed:
        if variable is not None:
            if variable == "" or variable.isdigit():
                raise TemplateSyntaxInvalid("Variables are named, as in {content}; write a literal brace as {{.")
            if spec or conversion:
                raise TemplateSyntaxInvalid(
                    f"The variable {{{variable}}} has a conversion or format spec; only plain names are allowed."
                )
            if variable not in allowed:
                unknown.add(variable)
        pieces.append(Piece(literal, variable))
    if unknown:
        raise TemplateVariableUnknown(
            f"Unknown variable{'s' if len(unknown) > 1 else ''}: {', '.join(sorted(unknown))}.",
            details={"unknown": sorted(unknown), "allowed": sorted(allowed)},
        )
    return pieces


def variables(pieces: list[Piece]) -> set[str]:
    return {piece.variable for piece in pieces if piece.variable is not None}


def render(pieces: list[Piece], values: Mapping[str, str]) -> str:
    return "".join(piece.literal + (values[piece.variable] if piece.variable else "") for piece in pieces)
