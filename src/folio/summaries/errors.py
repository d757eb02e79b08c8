from __future__ import annotations

from folio.errors import Conflict, FolioError, Forbidden, ValidationFailed


class TemplateSyntaxInvalid(ValidationFailed):
    """A template's prompt has an unmatched brace, a positional `{}`, or a `{name!r}` or `{name:spec}`.

    Write a literal brace as `{{` or `}}`.
    """

    code = "TEMPLATE_SYNTAX_INVALID"
    message = "The template's prompt is not valid."


class TemplateVariableUnknown(ValidationFailed):
    """A template's prompt names a variable its kind does not offer; `details` lists the unknown and allowed ones."""

    code = "TEMPLATE_VARIABLE_UNKNOWN"
    message = "The template uses variables its kind does not offer."


class TemplateNotFound(FolioError):
    """No such template among the built-in ones and your organization's."""

    status_code = 404
    code = "TEMPLATE_NOT_FOUND"
    message = "Template not found."


class TemplateReadOnly(Forbidden):
    """Built-in templates cannot be changed or deleted; create your own from their prompt instead."""

    code = "TEMPLATE_READ_ONLY"
    message = "Built-in templates cannot be changed."


class TemplateNameTaken(Conflict):
    """Your organization already has a template with this name."""

    code = "TEMPLATE_NAME_TAKEN"
    message = "A template with this name already exists."


class SummaryPromptTooLong(FolioError):
    """The template and instructions leave too little of the model's context (FOLIO_LLM__CONTEXT_TOKENS) for text.

    Shorten them, or configure a model with a larger context.
    """

    status_code = 422
    code = "SUMMARY_PROMPT_TOO_LONG"
    message = "The template leaves too little room in the model's context for the document."


class TemplateWrongKind(ValidationFailed):
    """The template named is not of the kind this request needs (a summary needs a `summary` template)."""

    code = "TEMPLATE_WRONG_KIND"
    message = "The template is not of the kind this request needs."


class SummaryNotFound(FolioError):
    """No such summary in your organization."""

    status_code = 404
    code = "SUMMARY_NOT_FOUND"
    message = "Summary not found."


class SummaryInProgress(Conflict):
    """The summary is being written; regenerate it once it is ready, failed or cancelled."""

    code = "SUMMARY_IN_PROGRESS"
    message = "The summary is still being written."
