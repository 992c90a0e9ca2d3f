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

Contract of :func:`source_client`, the one S3 client a promotion reads SRC's objects with, in both
places that read them: the serving contract's file read of the preview
(:func:`mlops_infra.promote.contracts.read_artifact_files`) and the artifact copy
(``--execute-artifacts``, :func:`mlops_infra.promote.artifacts.execute_steps`). They had a client each,
the same endpoint and session (``--source-store`` as above, else SRC's session: ``--role SRC=ARN``,
else the default chain, at ``AWS_ENDPOINT_URL``), but only the copy's carried the bucket owner
condition (:mod:`mlops_infra.promote.bucket_owner`), so an AWS SRC's artifact promoted to Kubernetes
was listed and read in a bucket of that name whichever account owned it. Now both send SRC's account
(``target.account``) as ``ExpectedBucketOwner`` on the buckets SRC's compiled graph creates, as the
copy and the digest read (:func:`mlops_infra.promote.registries.aws_digests`) do.

- The session's region is SRC's ``target.region`` (None for a Kubernetes SRC: botocore's default).
  The copy read it through DST's effective system, the file read through SRC's: the same value, for
  an override path names an item section or ``metadata``, never ``environments``
  (``spec/effective.py`` ``_resolve_path``; ``spec/system.py`` ``SECTIONS``). A bucket
  in another region is read all the same: botocore registers ``S3RegionRedirectorv2`` on every S3
  client (``botocore/client.py`` ``ClientCreator._register_s3_events``), which re-sends a request S3
  answered with ``301 PermanentRedirect`` (or ``400 AuthorizationHeaderMalformed``, a ``HeadObject``
  400) to the region the answer names (``x-amz-bucket-region``; ``botocore/utils.py``
  ``S3RegionRedirectorv2.redirect_from_error``, botocore 1.44).
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


def source_client(promotion: Any, roles: Mapping[str, str], stores: Mapping[str, str],
                  environ: Mapping[str, str]) -> Any:
    """The S3 client of SRC's objects for every read a promotion makes of them (see the module contract):
    ``--source-store``'s (``stores``) or SRC's session (``roles``) at ``AWS_ENDPOINT_URL``, sending SRC's
    account as the owner of the buckets SRC's graph creates."""
    from mlops_infra.promote.bucket_owner import created_buckets, expect_owner
    from mlops_infra.promote.registries import client, env_session

    src = promotion.src
    target = promotion.src_system.environments[src].target
    if src in stores:
        s3 = source_store_client(src, stores[src], environ)
    else:
        endpoint_url = environ.get("AWS_ENDPOINT_URL") or None
        s3 = client(env_session(roles.get(src), getattr(target, "region", None), endpoint_url), "s3", endpoint_url)
    account = getattr(target, "account", None) if target.kind == "aws" else None
    if not account:
        return s3
    from mlops_infra.compile import compile_system

    return expect_owner(s3, account, created_buckets(compile_system(promotion.src_system, src)))
