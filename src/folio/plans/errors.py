from __future__ import annotations

from folio.errors import FolioError


class PlanLimitReached(FolioError):
    """The organization's plan allows no more of this: documents, storage bytes, monthly tokens, members or
    integrations. `details` names the `limit`, the `plan`, what it `allowed`, what is `used` and what the request
    was `adding`; the deployment's operator changes an organization's plan.

    402 Payment Required, as billing APIs answer "upgrade needed": the request was allowed and well formed (not 403,
    which here means a missing role or scope), and another plan would accept it.
    """

    status_code = 402
    code = "PLAN_LIMIT_REACHED"
    message = "The organization's plan does not allow this."
