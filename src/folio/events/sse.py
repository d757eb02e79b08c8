"""Live events as server-sent events: `/api/v1/events` and `/api/v1/jobs/{job_id}/events`."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["events"])
