"""Delivery chaos on both backends: random sequences of 5 uploads each.

Repeats and reordering are of uploads (events) and, on AWS, of stream batches retried from
a random record. STOCKWATCH_CHAOS_SEQUENCES sets the number; the figures of the last run
are in docs/reliability.md.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.aws_stack import Aws
from tests.reliability.chaos import run_aws, run_embedded

SEQUENCES = int(os.environ.get("STOCKWATCH_CHAOS_SEQUENCES", "200"))
# moto answers some 160 requests per sequence at a few ms each: CI runs 50 on AWS; the
# 200-sequence run is STOCKWATCH_CHAOS_AWS_SEQUENCES=200 pytest tests/test_reliability_chaos.py
AWS_SEQUENCES = int(os.environ.get("STOCKWATCH_CHAOS_AWS_SEQUENCES", "50"))


def test_delivery_chaos_embedded(tmp_path: Path) -> None:
    figures = run_embedded(SEQUENCES, seed=21, workdir=tmp_path)
    print(figures.to_json())
    assert figures.failures == []
    assert figures.ok and figures.sequences == SEQUENCES
    assert figures.repeats > 0 and figures.out_of_order > 0 and figures.concurrent > 0


def test_delivery_chaos_aws(aws: Aws) -> None:
    figures = run_aws(aws, AWS_SEQUENCES, seed=22)
    print(figures.to_json())
    assert figures.failures == []
    assert figures.ok and figures.sequences == AWS_SEQUENCES
    assert figures.repeats > 0 and figures.out_of_order > 0
