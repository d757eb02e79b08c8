"""Structured enrichment of records and documents against an organization's JSON Schemas: by a language model, or
offline by lexicon, rules and embedding similarity."""
