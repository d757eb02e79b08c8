"""The API's documentation: Swagger UI and ReDoc pages with their assets, and the catalogue of error codes."""

from folio.api_docs.pages import install_docs, page_policy

__all__ = ["install_docs", "page_policy"]
