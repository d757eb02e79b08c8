"""Summaries of documents, written with prompt templates (built-in or an organization's own)."""
