from __future__ import annotations

from folio.errors import FolioError


class BudgetExceeded(FolioError):
    """Your organization has used its monthly language-model token budget; an admin can raise it."""

    status_code = 402
    code = "BUDGET_EXCEEDED"
    message = "The organization's monthly token budget is spent."
