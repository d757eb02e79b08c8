"""Folio: a self-hostable, multi-tenant document-intelligence backend."""
