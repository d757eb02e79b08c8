"""The Folio API client."""
