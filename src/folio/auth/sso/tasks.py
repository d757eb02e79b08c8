"""The sign-in flows' retention: flows expired over `EXPIRED_FLOWS_KEPT` ago are deleted by a periodic job, a step
at a time, not by the sign-ins themselves."""

from __future__ import annotations

from folio.auth.sso.repository import EXPIRED_FLOWS_KEPT, delete_flows_expired_before
from folio.jobs.retention import Prune


def prune_flows() -> Prune:
    return Prune("sign-in flows", EXPIRED_FLOWS_KEPT, delete_flows_expired_before)
