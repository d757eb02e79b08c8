"""Sign-in through OpenID Connect providers (`FOLIO_SSO__PROVIDERS`): Google or any other."""
