"""Exports: cases, documents, summaries, search hits and the audit log as CSV, JSON Lines, XLSX and Markdown."""
