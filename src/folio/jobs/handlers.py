"""The job kinds this deployment runs, by name. API and worker processes share this table."""

from __future__ import annotations

from collections.abc import Mapping

from folio.jobs.runner import Handler

JOB_HANDLERS: Mapping[str, Handler] = {}
