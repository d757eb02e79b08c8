"""Pulse: a period's figures against the period before, with a short narrative digest, on demand and periodically."""
