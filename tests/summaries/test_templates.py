"""Template prompts: variables checked against the kind's list when saved; values never read as template syntax."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from folio.models import TemplateKind
from folio.summaries.errors import TemplateSyntaxInvalid, TemplateVariableUnknown
from folio.summaries.templates import VARIABLES, parse, render, variables

SUMMARY = TemplateKind.SUMMARY


def test_a_prompt_is_filled_with_its_variables_and_keeps_literal_braces() -> None:
    pieces = parse("Summarise {document_title} in {length} words {{as JSON}}:\n{content}", SUMMARY)
    assert variables(pieces) == {"document_title", "length", "content"}
    text = render(pieces, {"document_title": "Q3 report", "length": "80", "content": "Sales rose."})
    assert text == "Summarise Q3 report in 80 words {as JSON}:\nSales rose."


@pytest.mark.parametrize(
    ("prompt", "unknown"),
    [
        ("Summarise {document}", ["document"]),
        ("{content} for {audience} by {deadline}", ["audience", "deadline"]),
        ("{content.__class__}", ["content.__class__"]),
        ("{content[0]}", ["content[0]"]),
        ("Use the {schema}", ["schema"]),  # an enrichment variable, not a summary one
    ],
)
def test_a_variable_the_kind_does_not_offer_is_refused(prompt: str, unknown: list[str]) -> None:
    with pytest.raises(TemplateVariableUnknown) as refused:
        parse(prompt, SUMMARY)
    assert refused.value.details == {"unknown": unknown, "allowed": sorted(VARIABLES[SUMMARY])}


def test_each_kind_has_its_own_variables() -> None:
    assert variables(parse("Fill {schema} from {content}", TemplateKind.ENRICHMENT)) == {"schema", "content"}


@pytest.mark.parametrize(
    "prompt",
    ["Summarise {content", "Summarise content}", "{}", "{0}", "{content!r}", "{content:>20}", "{length:{format}}"],
)
def test_malformed_prompts_and_anything_beyond_a_plain_name_are_refused(prompt: str) -> None:
    with pytest.raises(TemplateSyntaxInvalid):
        parse(prompt, SUMMARY)


@given(st.text())
def test_values_stay_literal_whatever_they_hold(value: str) -> None:
    pieces = parse("<{document_title}|{content}>", SUMMARY)
    assert render(pieces, {"document_title": value, "content": "{document_title}{{x}}"}) == (
        f"<{value}|{{document_title}}{{{{x}}}}>"
    )
