from __future__ import annotations

from fastapi import APIRouter

from folio.deps import API_V1

router = APIRouter(prefix=f"{API_V1}/auth/sso", tags=["auth"])
