"""The retrain gate's source ships inline in every training job's gate Lambda (``compile/aws/retrain_gate.py``),
so a run of 40 key-alphabet characters in it (the shape of an AWS secret access key, ``secrets/scan.py``'s
40-character rules) makes the output scan check a whole Lambda's code once per job: two docstring paths of
459fe9a (``mapreduce/lib/output/FileOutputCommitter``, 40 characters) cost ``graph --format json`` of the
1,000-endpoint benchmark (100 jobs) 0.27 s of its 1.54 s. The shipped source holds no such run."""

from __future__ import annotations

import re
from pathlib import Path

import mlops_infra.compile.aws.retrain_gate as gate

KEY_SHAPED = re.compile(r"[A-Za-z0-9/+]{40,}")


def test_the_shipped_gate_source_holds_no_key_shaped_run() -> None:
    assert KEY_SHAPED.findall(Path(gate.__file__).read_text()) == []
