"""SRC's object store, when it is not where DST is: the S3-compatible models store of a Kubernetes SRC.

A Kubernetes environment keeps its models in "an S3-compatible store (MinIO, Ceph RGW, S3)"
(docs/compile-kubernetes.md 3.1); its pods reach it through the Secret ``mlops-object-store``
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL``), and the training runtime
uploads there with ``boto3.client("s3", endpoint_url=AWS_ENDPOINT_URL)``
(``examples/runtime/mlops_entry/objects.py``). The artifact step of a promotion into AWS reads that
store and writes DST's S3: two endpoints and two sets of credentials, where one ``AWS_ENDPOINT_URL``
and one credential chain served both before (audit finding promote-2).

Contract of :func:`source_store_client`:

- ``--source-store ENV=URL`` names SRC's store: the URL the promoting machine reaches it at (for a
  store inside the cluster, ``kubectl port-forward``: the in-cluster address in the Secret is not
  reachable from outside, which is why the endpoint is given, not read from the Secret).
- Its credentials come from ``MLOPS_SOURCE_AWS_ACCESS_KEY_ID`` and ``MLOPS_SOURCE_AWS_SECRET_ACCESS_KEY``
  (and ``MLOPS_SOURCE_AWS_SESSION_TOKEN`` when set): the Secret's keys under a prefix, so they never
  mix with DST's ``AWS_*`` chain, and never appear on a command line (where ``ps`` and shell
  history would keep them). Missing ones refuse the command, naming the variables; their values are
  never printed. ``MLOPS_SOURCE_AWS_REGION`` (else ``us-east-1``, the region the Secret's contract
  defaults to) signs the requests.
- The client is used only to read SRC's objects; DST keeps ``AWS_ENDPOINT_URL``, its region and its
  role. botocore addresses a bucket at a custom endpoint path-style (``<url>/<bucket>/<key>``), the
  form MinIO serves without a domain configured.
- This choice over reading dev's Secret through the cluster: it needs no Kubernetes access and no
  right to read Secrets in the promoting job, and works the same for a store outside any cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_infra.errors import UserError

KEY_ID, SECRET_KEY = "MLOPS_SOURCE_AWS_ACCESS_KEY_ID", "MLOPS_SOURCE_AWS_SECRET_ACCESS_KEY"
SESSION_TOKEN, REGION = "MLOPS_SOURCE_AWS_SESSION_TOKEN", "MLOPS_SOURCE_AWS_REGION"
DEFAULT_REGION = "us-east-1"


def source_store_client(env: str, url: str, environ: Mapping[str, str]) -> Any:
    """An S3 client of ``env``'s store at ``url`` with the ``MLOPS_SOURCE_AWS_*`` credentials (see the
    module contract)."""
    if not url.startswith(("http://", "https://")) or len(url.split("://", 1)[1]) == 0:
        raise UserError(f"--source-store {env}=URL takes the store's http(s) address, not {url!r}",
                        f"For example --source-store {env}=http://127.0.0.1:9000 "
                        "(kubectl port-forward svc/minio 9000 -n <namespace>).")
    missing = [name for name in (KEY_ID, SECRET_KEY) if not environ.get(name)]
    if missing:
        raise UserError(f"--source-store {env}: no credentials for {env}'s store: {' and '.join(missing)} not set",
                        f"Export {KEY_ID} and {SECRET_KEY} with the keys {env}'s pods use (the Secret "
                        "mlops-object-store: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).")
    import boto3

    from mlops_infra.promote.registries import client

    session = boto3.Session(aws_access_key_id=environ[KEY_ID], aws_secret_access_key=environ[SECRET_KEY],
                            aws_session_token=environ.get(SESSION_TOKEN) or None,
                            region_name=environ.get(REGION) or DEFAULT_REGION)
    return client(session, "s3", url)
