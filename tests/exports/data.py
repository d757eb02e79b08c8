"""Cases written straight into the database with INSERT … SELECT generate_series, for exports of many rows."""

from __future__ import annotations

import secrets
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from folio.enrichment.triage import TRIAGE_SCHEMA_ID

# Ids sort by their number (as UUIDv7 ids sort by time), under a prefix of the call's own: `ids` below.

_DOCUMENTS = """
INSERT INTO documents (id, org_id, title, filename, kind, status, size_bytes, sha256, metadata)
SELECT ids.id, CAST(:org_id AS uuid), 'Case ' || n, 'cases.csv', 'record', 'ready', 64, md5(n::text) || md5(n::text),
       jsonb_build_object('row', n, 'source', 'generated')
FROM generate_series(1, :count) AS n,
     LATERAL (SELECT (CAST(:prefix AS text) || '-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid AS id) AS ids
"""
_CONTENTS = """
INSERT INTO document_contents (document_id, org_id, version, text, pages)
SELECT ids.id, CAST(:org_id AS uuid), 0,
       'Message number ' || n || ': the parcel arrived late and the box was damaged.', '[]'
FROM generate_series(1, :count) AS n,
     LATERAL (SELECT (CAST(:prefix AS text) || '-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid AS id) AS ids
"""
_RECORDS = """
INSERT INTO records (document_id, org_id, external_id, channel, customer, number, unit_id, case_status, priority)
SELECT ids.id, CAST(:org_id AS uuid), 'EXT-' || (CAST(:first AS bigint) + n),
       (ARRAY['email', 'phone', 'chat'])[1 + n % 3], 'Customer ' || (n % 97), CAST(:first AS bigint) + n,
       CAST(:unit_id AS uuid),
       (ARRAY['open', 'in_progress', 'resolved'])[1 + n % 3], 'normal'
FROM generate_series(1, :count) AS n,
     LATERAL (SELECT (CAST(:prefix AS text) || '-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid AS id) AS ids
"""
_ENRICHMENTS = """
INSERT INTO enrichments (id, org_id, document_id, schema_id, status, data, confidence)
SELECT gen_random_uuid(), CAST(:org_id AS uuid), ids.id, CAST(:schema_id AS uuid), 'enriched',
       jsonb_build_object('sentiment', 'negative', 'severity', 'medium', 'category', 'shipping_delivery',
                          'risk_flag', n % 10 = 0, 'needs_review', false, 'summary', 'A late, damaged parcel.',
                          'confidence', 0.8),
       0.8
FROM generate_series(1, :count) AS n,
     LATERAL (SELECT (CAST(:prefix AS text) || '-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid AS id) AS ids
"""


async def insert_cases(
    connection: AsyncConnection, org_id: UUID, count: int, *, unit_id: UUID | None = None, enriched: bool = True
) -> None:
    """`count` cases of the organization (in `unit_id`), each enriched by the built-in triage schema."""
    first = await connection.scalar(
        text("UPDATE organizations SET case_numbers = case_numbers + :count WHERE id = :org_id RETURNING case_numbers"),
        {"count": count, "org_id": org_id},
    )
    values = {
        "prefix": secrets.token_hex(4),
        "org_id": org_id,
        "count": count,
        "first": first - count,
        "unit_id": unit_id,
        "schema_id": TRIAGE_SCHEMA_ID,
    }
    statements = [_DOCUMENTS, _CONTENTS, _RECORDS, *([_ENRICHMENTS] if enriched else [])]
    for statement in statements:
        await connection.execute(text(statement), values)
