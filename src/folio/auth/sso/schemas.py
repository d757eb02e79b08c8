from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from folio.auth.passwords import MAX_LENGTH
from folio.auth.schemas import TokenResponse, UserRead
from folio.schemas import RequestModel

# The secrets handed out here are 48 characters; a little room, and no more.
Secret = Annotated[str, Field(min_length=1, max_length=128)]


class ProviderRead(BaseModel):
    name: str = Field(description="The provider's name in the sign-in URLs.", examples=["google"])
    label: str = Field(description="What a sign-in button shows.", examples=["Google"])


class SignedIn(TokenResponse):
    status: Literal["signed_in"] = "signed_in"
    user: UserRead
    created: bool = Field(description="True when this sign-in made the account (with its personal organization).")


class LinkRequired(BaseModel):
    status: Literal["link_required"] = "link_required"
    link_ticket: str = Field(
        description="Single use: POST it with the account's password to /api/v1/auth/sso/link within expires_in."
    )
    email: str = Field(description="The verified address, which an existing account holds.")
    provider: str
    expires_in: int = Field(description="Seconds the ticket stays valid.")


CallbackResult = Annotated[SignedIn | LinkRequired, Field(discriminator="status")]


class LinkRequest(RequestModel):
    ticket: Secret = Field(description="The `link_ticket` (or the `sso_link` parameter of the return URL).")
    password: str = Field(min_length=1, max_length=MAX_LENGTH, description="The existing account's password.")


class ExchangeRequest(RequestModel):
    code: Secret = Field(description="The `sso_code` parameter the browser came back to the return URL with.")
