"""Hybrid search over an organization's documents: BM25 full text, pgvector neighbours, reciprocal rank fusion."""
