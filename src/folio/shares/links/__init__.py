"""Public links: a document or a summary readable by whoever holds a link's token, until it expires or is revoked."""
