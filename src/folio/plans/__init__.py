"""Plans: what an organization may hold and use (`FOLIO_PLANS__*`), enforced where it grows."""
