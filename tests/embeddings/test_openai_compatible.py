"""The OpenAI-compatible embeddings provider against a fake server speaking the real protocol over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from folio.embeddings.factory import create_provider, identity
from folio.embeddings.openai_compatible import EmbeddingProviderRefused, OpenAICompatibleEmbeddings
from folio.main import create_app
from folio.models import EmbeddingIndex
from folio.settings import EmbeddingSettings
from tests.conftest import make_settings
from tests.factories import register
from tests.fake_openai import FakeOpenAI, serve_fake_openai


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with serve_fake_openai() as server:
        yield server


def settings_for(fake: FakeOpenAI, **overrides: object) -> EmbeddingSettings:
    values: dict[str, object] = {
        "provider": "openai",
        "base_url": fake.base_url,
        "api_key": "sk-test",
        "model": "text-embedding-3-small",
        "batch_size": 2,
        "max_retries": 2,
        **overrides,
    }
    return EmbeddingSettings.model_validate(values)


async def test_vectors_come_back_in_order_normalised_and_batched(fake: FakeOpenAI) -> None:
    provider = create_provider(settings_for(fake))
    assert isinstance(provider, OpenAICompatibleEmbeddings)
    texts = ["alpha", "beta", "gamma", "delta", "epsilon"]

    vectors = await provider.embed(texts)

    assert vectors.shape == (5, 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    expected = np.asarray(fake.vector("gamma"), dtype=np.float32)
    assert np.allclose(vectors[2], expected / np.linalg.norm(expected), atol=1e-5)
    assert [len(request["body"]["input"]) for request in fake.requests] == [2, 2, 1]
    first = fake.requests[0]
    assert first["body"]["model"] == "text-embedding-3-small"
    assert first["body"]["dimensions"] == 384
    assert first["authorization"] == "Bearer sk-test"
    await provider.close()


async def test_dimensions_are_not_sent_when_the_server_would_refuse_them(fake: FakeOpenAI) -> None:
    provider = OpenAICompatibleEmbeddings(settings_for(fake, request_dimensions=False))
    await provider.embed(["one"])
    assert "dimensions" not in fake.requests[0]["body"]
    await provider.close()


async def test_rate_limits_and_server_errors_are_retried(fake: FakeOpenAI) -> None:
    fake.fail_next = [429, 503]
    provider = OpenAICompatibleEmbeddings(settings_for(fake))
    vectors = await provider.embed(["persistent"])
    assert vectors.shape == (1, 384)
    assert len(fake.requests) == 3
    await provider.close()


async def test_a_bad_key_is_a_refusal_not_retried(fake: FakeOpenAI) -> None:
    fake.fail_next = [401]
    provider = OpenAICompatibleEmbeddings(settings_for(fake))
    with pytest.raises(EmbeddingProviderRefused) as raised:
        await provider.embed(["x"])
    assert raised.value.code == "EMBEDDINGS_REFUSED"
    assert len(fake.requests) == 1
    await provider.close()


async def test_a_wrong_dimension_is_refused() -> None:
    with serve_fake_openai(FakeOpenAI(dimension=1536)) as fake:
        provider = OpenAICompatibleEmbeddings(settings_for(fake))
        with pytest.raises(EmbeddingProviderRefused, match="1536"):
            await provider.embed(["x"])
        await provider.close()


def test_identity_names_the_configured_model_without_loading_it() -> None:
    assert identity(EmbeddingSettings()) == ("all-MiniLM-L6-v2-int8", 384)
    remote = EmbeddingSettings.model_validate({"provider": "openai", "model": "nomic-embed-text"})
    assert identity(remote) == ("nomic-embed-text", 384)


async def test_a_document_is_ingested_through_the_remote_endpoint(database_url: str) -> None:
    with serve_fake_openai() as fake:
        embeddings = {"provider": "openai", "base_url": fake.base_url, "model": "fake-embedder"}
        application = create_app(make_settings(database_url, embeddings=embeddings))
        async with (
            application.router.lifespan_context(application),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as client,
        ):
            account = await register(client)
            response = await client.post(
                "/api/v1/documents",
                files=[("files", ("remote.md", b"# Remote\n\nEmbedded elsewhere.", "text/markdown"))],
                headers=account.headers,
            )
            document_id = response.json()["items"][0]["document"]["id"]
            async with asyncio.timeout(30):
                while True:
                    document = (await client.get(f"/api/v1/documents/{document_id}", headers=account.headers)).json()
                    if document["status"] in {"ready", "failed"}:
                        break
                    await asyncio.sleep(0.05)
            async with application.state.sessionmaker() as session:
                index = await session.get(EmbeddingIndex, 1)
        assert document["status"] == "ready", document
        assert fake.requests[0]["body"]["input"] == ["# Remote\n\nEmbedded elsewhere."]
        assert index is not None
        assert index.model == "fake-embedder"
