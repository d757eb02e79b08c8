"""Webhooks: events POSTed to admins' endpoints, signed by the Standard Webhooks scheme, delivered by durable jobs."""
