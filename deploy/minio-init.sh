#!/bin/sh
# The bucket Folio keeps its files in, and an account of Folio's own that reaches only that bucket: run by the
# one-shot `minio-init` service of docker-compose.yml (the MinIO client image) before the API and the workers
# start. Running it again changes nothing.
set -eu

mc alias set store "$MINIO_URL" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
mc mb --ignore-existing "store/$FOLIO_STORAGE__BUCKET"

policy=$(mktemp)
cat >"$policy" <<POLICY
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
      "Resource": ["arn:aws:s3:::$FOLIO_STORAGE__BUCKET"]
    },
    {
      "Effect": "Allow",
      "Action": [
        "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"
      ],
      "Resource": ["arn:aws:s3:::$FOLIO_STORAGE__BUCKET/*"]
    }
  ]
}
POLICY
mc admin policy create store folio "$policy"
rm -f "$policy"

# `user add` updates the secret of an existing user; attaching a policy that is attached already is an error, so
# it is detached first (which fails, harmlessly, the first time).
mc admin user add store "$FOLIO_STORAGE__ACCESS_KEY_ID" "$FOLIO_STORAGE__SECRET_ACCESS_KEY"
mc admin policy detach store folio --user "$FOLIO_STORAGE__ACCESS_KEY_ID" >/dev/null 2>&1 || true
mc admin policy attach store folio --user "$FOLIO_STORAGE__ACCESS_KEY_ID"
