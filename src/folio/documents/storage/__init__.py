"""Where uploaded and generated files live: a directory of this machine (the default) or an S3-compatible object
store, behind one protocol. Files are written as they stream in, hashed on the way, and size-capped."""

from __future__ import annotations

from folio.documents.storage.base import ObjectInfo, Storage, StorageWriter, StoredFile, attachment, save
from folio.documents.storage.local import LocalStorage, LocalWriter
from folio.documents.storage.s3 import S3Storage
from folio.settings import Settings

__all__ = [
    "LocalStorage",
    "LocalWriter",
    "ObjectInfo",
    "S3Storage",
    "Storage",
    "StorageWriter",
    "StoredFile",
    "attachment",
    "save",
    "storage_for",
]


def storage_for(settings: Settings) -> Storage:
    """The backend `FOLIO_STORAGE__BACKEND` names."""
    if settings.storage.backend == "s3":
        return S3Storage(settings.storage)
    return LocalStorage(settings.files_dir)
