"""Domain events: the outbox, the bus between processes, live streams (WebSocket and SSE)."""
