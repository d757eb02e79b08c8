"""The built-in "Case triage" enrichment schema: how a customer's message feels, how urgent it is, what it is about.

A property whose values are a `oneOf` of `const` + `description` is a set of labels: a language model reads the
descriptions, and the offline engine picks the label whose description is nearest to the text in embedding space.

The migration that created the table seeds this schema from here: a change to it needs a migration that updates the
seeded row, or databases made before and after the change would differ.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

TRIAGE_SCHEMA_ID = UUID("00000000-0000-0000-0000-000000000101")
TRIAGE_NAME = "Case triage"
TRIAGE_DESCRIPTION = "Sentiment, severity, category, risk and a one-line summary of a customer's message."

CATEGORIES: dict[str, str] = {
    "billing": "Billing and payments: being charged twice or the wrong amount, charges on my card, invoices, "
    "subscription fees, prices, payment methods, failed payments.",
    "refund_return": "Refunds and returns: sending a product back, asking for money back, return labels.",
    "shipping_delivery": "Shipping and delivery: late, lost or damaged parcels, tracking, delivery address.",
    "technical_issue": "Technical problems: the app or website crashes, errors, bugs, outages, slow or not loading.",
    "account_access": "Account and login: password reset, locked account, two-factor codes, cannot sign in.",
    "product_quality": "Product quality: broken, defective or faulty items, poor quality, not as described.",
    "cancellation": "I want to cancel: ending my subscription, contract or order, closing my account, leaving "
    "the service.",
    "customer_service": "The support experience: rude or unhelpful staff, long waits, no reply, being ignored.",
    "feature_request": "Suggestions and feature requests: ideas, missing functions, wishes for improvements.",
    "praise": "Praise and thanks: compliments about the product, the service or a member of staff.",
    "other": "Anything else: general questions and messages that fit none of the other categories.",
}

TRIAGE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": TRIAGE_NAME,
    "type": "object",
    "additionalProperties": False,
    "required": ["sentiment", "severity", "category", "risk_flag", "needs_review", "summary", "confidence"],
    "properties": {
        "sentiment": {
            "description": "How the customer feels.",
            "type": "string",
            "enum": ["positive", "neutral", "negative"],
        },
        "severity": {
            "description": "How urgently the case needs attention: critical for safety, legal, security or "
            "outage-level harm; high for an angry customer or money at stake; medium for a real problem; low "
            "for questions, ideas and praise.",
            "type": "string",
            "enum": ["low", "medium", "high", "critical"],
        },
        "category": {
            "description": "What the message is about.",
            "type": "string",
            "oneOf": [{"const": name, "description": description} for name, description in CATEGORIES.items()],
        },
        "subcategory": {
            "description": "A finer topic within the category, in two to four words.",
            "type": ["string", "null"],
            "maxLength": 100,
        },
        "risk_flag": {
            "description": "True when the message mentions legal action, fraud, a safety or security issue, a "
            "regulator, the press, or leaving for a competitor.",
            "type": "boolean",
        },
        "needs_review": {
            "description": "True when a person should read the case before acting on these labels.",
            "type": "boolean",
        },
        "summary": {"description": "The case in one sentence.", "type": "string", "maxLength": 300},
        "confidence": {
            "description": "How sure the labels are, from 0 to 1.",
            "type": "number",
            "minimum": 0,
            "maximum": 1,
        },
    },
}
