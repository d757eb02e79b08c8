"""Where uploaded and generated files live: a local directory (the default) or an S3-compatible object store."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, Field, SecretStr, model_validator


class StorageSettings(BaseModel):
    backend: Literal["local", "s3"] = Field(
        "local",
        description="`local`: files under `<data_dir>/files` (one machine). `s3`: an S3-compatible object store that "
        "every API and worker process reaches (AWS S3, MinIO, Cloudflare R2, Ceph…).",
    )
    bucket: str | None = Field(None, description="The bucket (s3); it must exist.")
    prefix: str = Field("", description="Prefix of every object key, for sharing a bucket (s3).")
    endpoint_url: str | None = Field(
        None, description="The S3 endpoint, for stores other than AWS (`http://minio:9000`); unset: AWS's own."
    )
    region: str = Field("us-east-1", description="The bucket's region (s3).")
    access_key_id: SecretStr | None = Field(
        None, description="Credentials (s3); unset: the environment's (AWS_* variables, instance role)."
    )
    secret_access_key: SecretStr | None = None
    part_mb: int = Field(
        8, ge=5, le=512, description="Size of each part of a multipart upload, in MiB (S3's minimum is 5)."
    )
    presigned_downloads: bool = Field(
        False,
        description="Answer file downloads with a 307 to a presigned URL of the object instead of streaming it through "
        "the API process (s3; the store must be reachable from the clients).",
    )
    presign_seconds: int = Field(300, ge=10, le=7 * 24 * 3600, description="Lifetime of a presigned download URL.")

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> Self:
        if self.backend == "s3" and not self.bucket:
            raise ValueError("FOLIO_STORAGE__BACKEND=s3 needs FOLIO_STORAGE__BUCKET.")
        return self
