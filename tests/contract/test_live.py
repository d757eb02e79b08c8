"""Schemathesis' current release, `--checks all` with its examples, fuzzing and stateful phases, against a live
`folio serve` (tests/contract/live.py), at a few examples per operation so that CI stays short: no failure. The
coverage phase and 100 examples per operation run in `make contract`."""

from __future__ import annotations

from pathlib import Path

from tests.contract import live


def test_schemathesis_finds_no_failure_on_a_live_server(tmp_path: Path) -> None:
    outcome = live.run(max_examples=5, phases="examples,fuzzing,stateful", report_dir=tmp_path)
    assert outcome.returncode == 0, outcome.output[-20_000:]
    assert "Stateful" in outcome.output
