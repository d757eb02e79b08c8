"""One module per kind of source; each speaks its source's API through `folio.integrations.http.SourceHttp`."""
