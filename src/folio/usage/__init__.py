"""Usage and cost: every model call recorded with who caused it, reports by day, model and kind, monthly budgets."""
