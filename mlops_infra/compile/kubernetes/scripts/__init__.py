"""Helper programs mlops-infra runs inside the cluster, shipped to it in the ``mlops-scripts``
ConfigMap (see :func:`source`).
``register_model.py`` runs in the MLflow image.

Contract: ``launcher.py`` and ``capture_sink.py`` use the Python standard library only, so they run
in the official slim Python image; ``drift_job.py`` runs in the Evidently image and imports its
third-party modules lazily. None of them is imported by the compiler: it reads their text.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

SCRIPTS = ("launcher.py", "capture_sink.py", "drift_job.py", "register_model.py")
MOUNT = "/opt/mlops-infra"
"""Where pods mount the scripts ConfigMap."""


@cache
def source(name: str) -> str:
    """The text of helper program ``name`` (one of :data:`SCRIPTS`)."""
    if name not in SCRIPTS:
        raise ValueError(f"unknown helper script {name} (this is a bug in mlops-infra)")
    return (Path(__file__).parent / name).read_text(encoding="utf-8")
