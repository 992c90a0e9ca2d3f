"""One definition of a folder marker: the training runtime's is mlops-infra's.

mlops-infra's definition is ``mlops_infra/compile/aws/retrain_gate.py`` ``is_folder_marker`` (the retrain
gate's freshness; ``promote/digests.py`` reuses it for the artifact digest and ``artifact_layout``). The
runtime (``examples/runtime/mlops_entry/objects.py``) is shipped in training images without mlops-infra,
so it holds its own tuple; the promotion's digest of a folder must be the digest the runtime computes of
the same folder downloaded, so the two must not drift (stop-36 datasources audit, item 1).
"""

from __future__ import annotations

import sys
from pathlib import Path

from mlops_infra.compile.aws import retrain_gate

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples" / "runtime"))
from mlops_entry import objects  # noqa: E402

KEYS = ("dt=2026-12-06/", "dt=2026-12-06_$folder$", "dt=2026-12-06/part-0.parquet", "dt=2026-12-06/_SUCCESS",
        "model/", "model/config.json", "a_$folder$/b", "folder$", "_$folder")


def test_the_runtime_holds_mlops_infras_marker_suffixes() -> None:
    assert objects.FOLDER_MARKER_SUFFIXES == retrain_gate.FOLDER_MARKER_SUFFIXES == ("/", "_$folder$")
    assert [objects.is_folder_marker(k) for k in KEYS] == [retrain_gate.is_folder_marker(k) for k in KEYS] == [
        True, True, False, False, True, False, False, False, False]


PENDING_KEYS = ("_temporary/0/part-0.parquet", "dt=1/_temporary/0/_temporary/attempt_0/part-0.parquet",
                ".spark-staging-3f2a/dt=1/part-0.parquet", "__magic/job-1/part-0.pending",
                "__magic_job-1/part-0.pending", "_temporary/", "dt=1/_temporary", "dt=1/part-0.parquet",
                "temporary/part-0.parquet", "dt=1/_SUCCESS")


def test_the_runtime_skips_the_uncommitted_output_the_retrain_gate_leaves_out() -> None:
    """Closing-37a-2: the gate's freshness and the runtime's download leave out the same pending folders."""
    assert objects.UNCOMMITTED_FOLDERS == retrain_gate.UNCOMMITTED_FOLDERS == ("_temporary", "__magic", ".spark-staging-")
    expected = [True, True, True, True, True, True, False, False, False, False]
    assert [objects.is_uncommitted(k) for k in PENDING_KEYS] == expected
    assert [retrain_gate.is_uncommitted(k) for k in PENDING_KEYS] == expected
    assert objects.is_uncommitted("raw/_temporary/x", "raw/") and not objects.is_uncommitted("_temporary/x", "_temporary/")
