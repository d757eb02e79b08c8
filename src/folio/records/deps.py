"""A batch upload at the HTTP edge: its one file stored as it streams in, its form fields parsed."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends

from folio.documents.deps import Upload, upload
from folio.errors import ValidationFailed
from folio.records.rows import RecordMapping
from folio.records.service import BatchOptions

_DELIMITERS = {",": ",", ";": ";", "|": "|", "\t": "\t", "tab": "\t"}
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


def batch_options(fields: dict[str, str]) -> BatchOptions:
    """`mapping` (required), `delimiter`, `enrich` and `schema_id`."""
    mapping = RecordMapping.parse(fields.get("mapping"))
    delimiter = fields.get("delimiter")
    if delimiter is not None and delimiter.strip(" ") not in _DELIMITERS:
        raise ValidationFailed(
            "`delimiter` is one of , ; | tab.", details={"field": "delimiter", "allowed": [",", ";", "|", "tab"]}
        )
    enrich = fields.get("enrich", "true").strip().lower()
    if enrich not in _TRUE | _FALSE:
        raise ValidationFailed("`enrich` is true or false.", details={"field": "enrich"})
    try:
        schema_id = UUID(fields["schema_id"]) if fields.get("schema_id", "").strip() else None
    except ValueError as error:
        raise ValidationFailed("`schema_id` is not a UUID.", details={"field": "schema_id"}) from error
    return BatchOptions(
        mapping=mapping,
        delimiter=None if delimiter is None else _DELIMITERS[delimiter.strip(" ")],
        enrich=enrich in _TRUE,
        schema_id=schema_id,
    )


BatchUpload = Annotated[Upload[BatchOptions], Depends(upload(batch_options, max_files=1), scope="function")]
