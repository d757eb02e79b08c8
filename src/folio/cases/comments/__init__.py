"""Comments on a case, with the members they @mention (who are told in their inbox)."""
