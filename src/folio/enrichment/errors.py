from __future__ import annotations

from folio.errors import Conflict, FolioError, Forbidden, ValidationFailed

# An item's error code (not an HTTP error): the model's JSON did not follow the schema, even when told why.
OUTPUT_INVALID = "ENRICHMENT_OUTPUT_INVALID"
# An item's error code: the offline engine could not fill what the schema requires (a required property, or a rule
# such as a pattern or a length).
OUTPUT_INCOMPLETE = "ENRICHMENT_OUTPUT_INCOMPLETE"


class EnrichmentSchemaNotFound(FolioError):
    """No such enrichment schema among the built-in ones and your organization's."""

    status_code = 404
    code = "ENRICHMENT_SCHEMA_NOT_FOUND"
    message = "Enrichment schema not found."


class EnrichmentSchemaInvalid(ValidationFailed):
    """The schema is not a valid JSON Schema (draft 2020-12) of an object with `properties`; `details` says where."""

    code = "ENRICHMENT_SCHEMA_INVALID"
    message = "The enrichment schema is not valid."


class EnrichmentSchemaReadOnly(Forbidden):
    """Built-in enrichment schemas cannot be changed or deleted; create your own from theirs instead."""

    code = "ENRICHMENT_SCHEMA_READ_ONLY"
    message = "Built-in enrichment schemas cannot be changed."


class EnrichmentSchemaNameTaken(Conflict):
    """Your organization already has an enrichment schema with this name."""

    code = "ENRICHMENT_SCHEMA_NAME_TAKEN"
    message = "An enrichment schema with this name already exists."
