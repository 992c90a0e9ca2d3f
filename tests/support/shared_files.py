"""Where the tests read the shared reference files: ``tests/shared/``, a copy kept in the repository.

The project's shared folder (``../shared`` beside a clone: the reference spec and the real public
fixtures, their sources in ``tests/shared/fixtures/README.md``) is not part of a clone, so a clone
alone ran no test ("fresh machine", README). The tests read the copy; ``tests/test_shared_copy.py``
checks it is byte for byte the shared folder wherever that folder is present."""

from __future__ import annotations

from pathlib import Path

SHARED = Path(__file__).resolve().parents[1] / "shared"
"""``tests/shared``: ``spec/reference-mlsystem.yaml`` and ``fixtures/{aws,crds,pulumi}``."""
REFERENCE = SHARED / "spec" / "reference-mlsystem.yaml"
"""The reference document (the spec language must accept it as is)."""
UPSTREAM = Path(__file__).resolve().parents[2].parent / "shared"
"""The shared folder beside the clone, when there is one (the source of the copy)."""


def reference_at_nodes(directory: Path, nodes: int) -> Path:
    """A copy of the reference in ``directory`` whose GPU cluster and training job run ``nodes`` nodes (its
    ``nodes.max`` raised to match): audit scale45-2's reproduction, past SageMaker's instances per training job."""
    text = REFERENCE.read_text()
    assert text.count("nodes: {min: 0, max: 8}") == 1 and text.count("    nodes: 2\n") == 1
    spec = directory / "mlsystem.yaml"
    spec.write_text(text.replace("nodes: {min: 0, max: 8}", f"nodes: {{min: 0, max: {nodes}}}")
                    .replace("    nodes: 2\n", f"    nodes: {nodes}\n"))
    return spec
