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
