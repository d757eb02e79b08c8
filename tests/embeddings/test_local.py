"""The local MiniLM embedding provider and its tokenizer (folio.embeddings)."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Sequence
from itertools import pairwise

import anyio
import numpy as np
import pytest
from tokenizers import Encoding

from folio.embeddings.local import LocalMiniLM
from folio.embeddings.provider import EmbeddingProvider, Embeddings
from folio.embeddings.tokenizer import load_tokenizer
from folio.settings import EmbeddingSettings

WORDS = "the archive keeps letters maps ledgers and photographs from the river towns of the valley".split()


@pytest.fixture(autouse=True, scope="module")
def _empty_tables() -> None:
    """These tests touch no database: stand in for the suite's table-cleaning fixture so none is started."""


@pytest.fixture(scope="module")
def provider() -> LocalMiniLM:
    # A small batch so that a handful of texts already spans several batches.
    return LocalMiniLM(EmbeddingSettings(batch_size=4))


def words(count: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(count))


def test_tokenizer_neither_truncates_nor_pads() -> None:
    tokenizer = load_tokenizer()

    assert len(tokenizer.encode(words(300)).ids) > 128
    assert len(tokenizer.encode("hello world").ids) == 4  # [CLS] hello world [SEP]


def test_provider_declares_its_model_and_dimension(provider: LocalMiniLM) -> None:
    as_protocol: EmbeddingProvider = provider

    assert as_protocol.model == "all-MiniLM-L6-v2-int8"
    assert as_protocol.dimension == 384


def test_embeddings_are_unit_float32_rows(provider: LocalMiniLM) -> None:
    vectors = provider.embed_sync(["a short text", words(50), "日本語のテキスト", ""])

    assert vectors.shape == (4, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_empty_input_gives_no_rows(provider: LocalMiniLM) -> None:
    vectors = provider.embed_sync([])

    assert vectors.shape == (0, 384)
    assert vectors.dtype == np.float32


def test_batched_rows_match_texts_embedded_alone(provider: LocalMiniLM) -> None:
    texts = [words(length, seed) for seed, length in enumerate([3, 200, 1, 40, 120, 7, 2, 80, 15, 160])]

    together = provider.embed_sync(texts)
    alone = np.vstack([provider.embed_sync([text]) for text in texts])

    cosines = np.sum(together * alone, axis=1)
    assert cosines.min() > 0.999


def test_texts_are_batched_by_token_length(provider: LocalMiniLM, monkeypatch: pytest.MonkeyPatch) -> None:
    batches: list[list[int]] = []
    run = provider._run

    def recording_run(encodings: list[Encoding]) -> Embeddings:
        batches.append([len(encoding.ids) for encoding in encodings])
        return run(encodings)

    monkeypatch.setattr(provider, "_run", recording_run)
    provider.embed_sync([words(length, seed) for seed, length in enumerate([90, 2, 60, 5, 120, 1, 30, 8, 45])])

    assert [len(batch) for batch in batches] == [4, 4, 1]
    assert all(max(earlier) <= min(later) for earlier, later in pairwise(batches))


def test_similar_meanings_are_closer(provider: LocalMiniLM) -> None:
    question, paraphrase, unrelated = provider.embed_sync(
        ["How do I reset my password?", "Steps to change a forgotten password", "Quarterly revenue grew by 12 percent"]
    )

    assert question @ paraphrase > question @ unrelated + 0.3


def test_embeddings_are_deterministic(provider: LocalMiniLM) -> None:
    texts = [words(20, 1), words(150, 2), "again"]

    np.testing.assert_allclose(provider.embed_sync(texts), provider.embed_sync(texts), rtol=0, atol=1e-6)


def test_long_texts_are_truncated_at_256_tokens(provider: LocalMiniLM) -> None:
    long = words(400)
    assert len(load_tokenizer().encode(long).ids) > 256

    vectors = provider.embed_sync([long, long + " Saturn's rings are made of ice.", words(2000)])

    np.testing.assert_allclose(vectors[0], vectors[1], rtol=0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


async def test_async_embed_matches_sync(provider: LocalMiniLM) -> None:
    texts: Sequence[str] = ["first text", words(70), "third"]

    vectors = await provider.embed(texts)

    np.testing.assert_allclose(vectors, provider.embed_sync(texts), rtol=0, atol=1e-6)


def test_threads_follow_the_cpus_this_process_may_use(provider: LocalMiniLM) -> None:
    # ONNX Runtime's own default counts every core of the machine, even under taskset or a cgroup CPU set.
    assert provider._session.get_session_options().intra_op_num_threads == len(os.sched_getaffinity(0))


def test_batches_default_to_eight_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    model = LocalMiniLM(EmbeddingSettings())
    batches: list[int] = []
    run = model._run

    def counting_run(encodings: list[Encoding]) -> Embeddings:
        batches.append(len(encodings))
        return run(encodings)

    monkeypatch.setattr(model, "_run", counting_run)
    model.embed_sync([words(10, seed) for seed in range(20)])

    assert batches == [8, 8, 4]


async def test_one_inference_runs_at_a_time(provider: LocalMiniLM, monkeypatch: pytest.MonkeyPatch) -> None:
    running, overlaps = 0, 0
    run = provider._run

    def counting_run(encodings: list[Encoding]) -> Embeddings:
        nonlocal running, overlaps
        running += 1
        overlaps += running > 1
        time.sleep(0.02)
        try:
            return run(encodings)
        finally:
            running -= 1

    monkeypatch.setattr(provider, "_run", counting_run)
    async with anyio.create_task_group() as group:
        for seed in range(4):
            group.start_soon(provider.embed, [words(20, seed + n) for n in range(8)])

    assert overlaps == 0
