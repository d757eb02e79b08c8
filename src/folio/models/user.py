from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, func
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, IdMixin


class User(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True, server_default="true")
    # How the member signed up: "password", or the name of the sign-in provider (`UserIdentity.provider`).
    auth_provider: Mapped[str] = mapped_column(String(64), default="password", server_default="password")
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
