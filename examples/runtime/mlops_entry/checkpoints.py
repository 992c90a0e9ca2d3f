"""Resume-able training state in the contract's checkpoint folder (SageMaker syncs it with S3 on spot).

On Kubernetes the folder is an ``emptyDir`` volume (``MLOPS_CHECKPOINT_DIR``): it survives a container
restarted in place, not a pod recreated on another node (a reclaimed spot node). With
``MLOPS_CHECKPOINT_URI`` (``s3://<models bucket>/_checkpoints/<job>/<run>/``, per run; compiled by
mlops_infra/compile/kubernetes/training.py ``checkpoint_env``) :func:`save` also uploads each checkpoint
there, and :func:`load` downloads it when the folder has none, so a recreated pod of the same run resumes,
as SageMaker's managed spot training does from its S3 checkpoints.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

LAST = "last.pt"
URI = "MLOPS_CHECKPOINT_URI"


def _remote(environ: dict[str, str] | None) -> tuple[str | None, dict[str, str]]:
    env = dict(os.environ if environ is None else environ)
    uri = env.get(URI)
    return (uri if uri and uri.startswith("s3://") else None), env


def save(folder: Path, state: dict, environ: dict[str, str] | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{LAST}.tmp"
    torch.save(state, tmp)
    tmp.replace(folder / LAST)  # atomic: an interrupted save never leaves a half checkpoint
    uri, env = _remote(environ)
    if uri:  # one PUT: S3 never shows a half-written object
        from mlops_entry.objects import _client, _split

        bucket, prefix = _split(uri)
        _client(env, bucket).upload_file(str(folder / LAST), bucket, prefix.rstrip("/") + "/" + LAST)


def load(folder: Path, environ: dict[str, str] | None = None) -> dict | None:
    path = folder / LAST
    uri, env = _remote(environ)
    if not path.is_file() and uri:
        from botocore.exceptions import ClientError

        from mlops_entry.objects import _client, _split

        bucket, prefix = _split(uri)
        folder.mkdir(parents=True, exist_ok=True)
        try:
            _client(env, bucket).download_file(bucket, prefix.rstrip("/") + "/" + LAST, str(path))
        except ClientError as exc:  # no checkpoint yet: a new run (HeadObject answers 404)
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
    return torch.load(path, map_location="cpu", weights_only=True) if path.is_file() else None
