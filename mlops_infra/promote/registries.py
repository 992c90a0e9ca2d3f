"""Reading an environment's model registry for a promotion (the edge that talks to the world).

Contract of :func:`read_view` -- one :class:`~mlops_infra.model_versions.RegistryView` per
environment, every model's versions described in full (digests included), from the first of:

1. a saved registry read (``--registry ENV=FILE``: the JSON of ``RegistryView.to_json``), for
   offline review and benchmarks; its bases are taken as saved;
2. an AWS environment: SageMaker through boto3
   (:func:`mlops_infra.state.aws_live.model_registry.read_registry` with ``describe_all`` and without the
   live endpoint read, ``live=False``: docs/promote.md's roles need it only for an applied state), with the
   usual credential chain, ``AWS_ENDPOINT_URL`` honoured, and -- for another account -- a role
   assumed through STS (``--role ENV=ARN``; ``AssumeRole`` returns credentials of the role's
   account: https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html); credentials of
   another account than the environment's ``target.account`` are refused first (:func:`check_account`), and
   a promotion between AWS targets of two partitions before that (:func:`check_partitions`, called by the
   command before either registry is read);
3. a Kubernetes environment: the in-cluster MLflow registry through its REST API
   (``--mlflow ENV=URL``, else ``MLFLOW_TRACKING_URI``; reach it with ``kubectl port-forward``), read by
   :func:`mlops_infra.state.mlflow_registry.read_mlflow` (``SearchModelVersions``, every page; the
   approval tag, status, source and digest tag of each version: see that module). Tested against a
   real tracking server of the version the cluster runs (tests/cli/test_promote_mlflow_cmd.py).

For an AWS SRC, :func:`aws_digests` gives the versions SRC pins the artifact digest a SageMaker
training job's registration did not record (:mod:`mlops_infra.promote.digests`).

A registry that cannot be read raises :class:`~mlops_infra.errors.UserError` naming the environment,
the registry and the error (credentials scrubbed): a promotion fails closed.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mlops_infra.errors import UserError
from mlops_infra.model_versions import RegistryView
from mlops_infra.state.mlflow_registry import MLFLOW_APPROVAL_TAG as MLFLOW_APPROVAL_TAG
from mlops_infra.state.mlflow_registry import MLFLOW_DIGEST_TAG as MLFLOW_DIGEST_TAG
from mlops_infra.state.mlflow_registry import mlflow_call as mlflow_call
from mlops_infra.state.mlflow_registry import read_mlflow

# The MLflow reader lives in state/ (plan --refresh reads it too); these names stay importable here.
SNAPSHOT_LIMIT = 64 * 1024 * 1024


def read_view(system: Any, env: str, prior: Any, *, snapshot: Path | None = None, role: str | None = None,
              mlflow_uri: str | None = None, document: Any = None) -> RegistryView:
    """``env``'s registry view (see the module contract); ``document`` (the spec's
    :class:`~mlops_infra.spec.loader.LoadedDocument`) places an AWS account refusal (:func:`check_account`)."""
    if snapshot is not None:
        return read_snapshot(snapshot)
    target = system.environments[env].target
    if target.kind == "aws":
        return _read_aws(system, env, prior, role, document)
    uri = mlflow_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        raise UserError(f"cannot read the model registry of {env} (Kubernetes): no MLflow address",
                        f"Pass --mlflow {env}=http://127.0.0.1:5000 (kubectl port-forward svc/mlops-mlflow "
                        f"5000 -n {target.namespace}), or a saved registry read with --registry {env}=FILE.")
    return read_mlflow(system, uri)


def read_snapshot(path: Path) -> RegistryView:
    """A saved registry read (``RegistryView.to_json``). A field of the wrong JSON type is a UserError naming
    the file and the field's path (``models.fraud-model.versions[2].digest is a number, not a string``,
    :func:`snapshot_problem`), checked before the view is built; so is a number JSON reads as infinity
    (``1e400``: ``OverflowError`` in ``int()``)."""
    from mlops_infra.fileio import TooLarge, read_limited

    try:
        data = json.loads(read_limited(path, SNAPSHOT_LIMIT))
        problem = snapshot_problem(data)
        if problem:
            raise UserError(f"not a saved registry read: {problem}",
                            "Expected the JSON of a registry view as `plan --refresh -f json` or promote saves it "
                            '({"models": {...}, "serving": {...}}); save the read again.', source=str(path))
        return RegistryView.from_json(data)
    except OSError as err:
        raise UserError(f"cannot read the registry file: {err.strerror or err}", source=str(path)) from None
    except TooLarge:
        raise UserError("the registry file is larger than 64 MiB", source=str(path)) from None
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as err:
        raise UserError("not a saved registry read", f"Expected the JSON of a registry view "
                        f'({{"models": {{...}}, "serving": {{...}}}}): {err}', source=str(path)) from None


_VERSION_TEXTS = ("approval", "status", "arn", "artifactUri", "image", "imageDigest", "digest", "artifactCompression")
"""The fields of a saved version (``VersionRecord.to_json``) that are a string or null."""


def snapshot_problem(data: Any) -> str:
    """The first field of a saved registry read whose JSON type ``RegistryView.from_json`` cannot take, as
    ``<path> is <kind>, not <expected>`` ("" when none): ``models`` an object of objects with string
    ``model``/``where``/``basis``, ``complete`` true/false and ``versions`` an array of objects, each with an
    integer ``version`` and the :data:`_VERSION_TEXTS` strings or null; ``serving`` names to integers;
    ``running`` names to arrays of integers; ``warnings``/``runningUnread`` arrays of strings; ``servedUris``
    models to version numbers to strings; ``runningModels`` names to models to arrays of integers."""
    from mlops_infra.promote.record import json_kind

    def bad(where: str, value: Any, expected: str) -> str:
        return f"{where} is {json_kind(value)}, not {expected}"

    def integer(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if not isinstance(data, dict):
        return bad("the file", data, "an object")
    for key in ("models", "serving", "running", "servedUris", "runningModels"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            return bad(key, data[key], "an object")
    for key in ("warnings", "runningUnread"):
        value = data.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            return bad(key, value, "an array of strings")
    for name, model in (data.get("models") or {}).items():
        where = f"models.{name}"
        if not isinstance(model, dict):
            return bad(where, model, "an object")
        for key in ("model", "where", "basis"):
            if not isinstance(model.get(key), str):
                return bad(f"{where}.{key}", model.get(key), "a string")
        if not isinstance(model.get("complete"), bool):
            return bad(f"{where}.complete", model.get("complete"), "true/false")
        versions = model.get("versions")
        if versions is not None and not isinstance(versions, list):
            return bad(f"{where}.versions", versions, "an array")
        for index, record in enumerate(versions or ()):
            at = f"{where}.versions[{index}]"
            if not isinstance(record, dict):
                return bad(at, record, "an object")
            if not integer(record.get("version")):
                return bad(f"{at}.version", record.get("version"), "an integer")
            for key in _VERSION_TEXTS:
                if record.get(key) is not None and not isinstance(record[key], str):
                    return bad(f"{at}.{key}", record[key], 'a string ("sha256:..." for a digest)'
                               if key == "digest" else "a string")
    for name, version in (data.get("serving") or {}).items():
        if not integer(version):
            return bad(f"serving.{name}", version, "an integer")
    for name, versions in (data.get("running") or {}).items():
        if not (isinstance(versions, list) and all(integer(v) for v in versions)):
            return bad(f"running.{name}", versions, "an array of integers")
    for name, by_model in (data.get("runningModels") or {}).items():
        if not isinstance(by_model, dict):
            return bad(f"runningModels.{name}", by_model, "an object")
        for model, versions in by_model.items():
            if not (isinstance(versions, list) and all(integer(v) for v in versions)):
                return bad(f"runningModels.{name}.{model}", versions, "an array of integers")
    for model, uris in (data.get("servedUris") or {}).items():
        if not isinstance(uris, dict):
            return bad(f"servedUris.{model}", uris, "an object")
        for version, uri in uris.items():
            if not version.isdigit() or not isinstance(uri, str):
                return bad(f"servedUris.{model}.{version}", uri, "a string under a version number")
    return ""


def _read_aws(system: Any, env: str, prior: Any, role: str | None, document: Any = None) -> RegistryView:
    from mlops_infra.state.aws_live.model_registry import read_registry

    target = system.environments[env].target
    endpoint_url = os.environ.get("AWS_ENDPOINT_URL") or None
    # one session for the account check and the read: the role is assumed once (one sts:AssumeRole)
    factory = functools.cache(assumed_session_factory(role, target.region, endpoint_url)) if role else None
    check_account(target, env, factory, endpoint_url, role, document)
    view = read_registry(system, env, prior, session_factory=factory, endpoint_url=endpoint_url, describe_all=True,
                         live=False)  # closing-33d-3: a promotion uses nothing the live endpoints say
    if view.warnings:  # fail closed: a promotion never decides from offline evidence
        raise UserError(f"cannot read the model registry of {env}", "\n".join(view.warnings))
    return view


def check_account(target: Any, env: str, factory: Callable[[], Any] | None, endpoint_url: str | None,
                  role: str | None = None, document: Any = None) -> None:
    """Refuse, before ``env``'s registry is read, credentials of another account than its ``target.account``
    (:class:`~mlops_infra.state.aws_live.account.WrongAccount`, exit 1): the registry read's own check
    (:func:`mlops_infra.state.aws_live.model_registry.check_account`, which ``plan --refresh`` and ``apply`` make
    too), the error every live read of an environment gives (the scan, promote's ``no_drift`` gate, ``rollout``;
    audit envs-7), placed at ``environments.<env>.target.account`` of ``document`` (file:line), with the fix
    (``--role ENV=ARN`` of the right account).

    Why. The promotion's writes (the DST group's new package, its copied artifact) go where its registry read
    went, with the same credentials (``--role ENV=ARN``'s, else the default chain's): with a staging profile
    left in ``AWS_PROFILE`` the read of prod's registry found another account's group (or none: "no versions"),
    and the promotion would register there. A session that cannot be made (no profile) is not refused here:
    the registry read fails the same way and says so; a role that cannot be assumed is its UserError."""
    from mlops_infra.state.aws_live.account import WrongAccount
    from mlops_infra.state.aws_live.model_registry import check_account as check_registry_account

    account = str(getattr(target, "account", "") or "")
    if not account:
        return
    try:
        session = factory() if factory is not None else env_session(None, target.region, endpoint_url)
    except UserError:
        raise
    except Exception:  # no credentials, unreachable: the registry read reports it
        return

    def nothing(caller: str) -> str:
        how = (f"--role {env}={role} gives credentials of account {caller}: pass a role of account {account}"
               if role else f"--role {env}=<a role ARN of account {account}> gives credentials of that account too")
        return (f"Nothing was read or written: {env}'s model package groups are in account {account}, and a "
                f"promotion registers where it reads; {how}.")

    try:
        check_registry_account(session, account, env, target.region, endpoint_url,
                               doing="reading the model registry", nothing=nothing)
    except WrongAccount as refused:
        if document is not None:
            from mlops_infra.diagnostics import error

            refused.diagnostics = document.attach([error(ACCOUNT_CODE, refused.summary, refused.detail,
                                                         ("environments", env, "target", "account"),
                                                         f"environments.{env}")])
        raise


ACCOUNT_CODE = "wrong-account"
"""The diagnostic code of :func:`check_account`'s refusal."""
PARTITION_CODE = "promotion-across-partitions"
"""The diagnostic code of :func:`check_partitions`' refusal."""


def check_partitions(systems: Mapping[str, Any], src: str, dst: str, document: Any = None) -> None:
    """Refuse, before any AWS call, a promotion between AWS targets in different partitions (``aws``, ``aws-cn``,
    ``aws-us-gov``: :func:`mlops_infra.partitions.partition` of each ``target.region``; audit xregion-6), at
    ``environments.<dst>.target.region`` of ``document`` (file:line), exit 1.

    Why. A promotion reads both registries and copies SRC's artifact into DST in one process, with one credential
    chain (the default chain's, or a ``--role ENV=ARN`` assumed with it: :func:`assumed_session_factory`), and
    credentials do not cross partitions: "Accounts and credentials for other Amazon Regions will not work for
    services operating in the China (Beijing) and China (Ningxia) Regions" (and the reverse;
    https://docs.amazonaws.cn/en_us/aws/latest/userguide/general-info.html, "Amazon Web Services Accounts in the
    China Regions"); a role of one partition cannot be assumed from the other (STS answers
    ``InvalidClientTokenId``, jenkinsci/ec2-plugin#531). mlops-infra has no per-environment credential source, so
    one side's reads would fail with an error that does not say why; the image cannot cross either
    (``image-in-other-partition``, :mod:`mlops_infra.spec.containers`)."""
    from mlops_infra.partitions import partition

    targets = {env: systems[env].environments[env].target for env in (src, dst)}
    if any(t.kind != "aws" for t in targets.values()):
        return
    sides = {env: partition(t.region) for env, t in targets.items()}
    if sides[src] == sides[dst]:
        return
    summary = (f"cannot promote {src} ({targets[src].region}, partition {sides[src]}) to {dst} "
               f"({targets[dst].region}, partition {sides[dst]}): AWS credentials do not cross partitions")
    detail = (f"A promotion reads both model registries and copies {src}'s artifacts into {dst} with one credential "
              f"chain (--role ENV=ARN is assumed with it too), and accounts and credentials of one partition do not "
              f"work in another (https://docs.amazonaws.cn/en_us/aws/latest/userguide/general-info.html). Nothing was "
              f"read or written. Fix: carry the model yourself: with {sides[dst]} credentials push its image to ECR "
              f"and its artifact to S3 in {targets[dst].region}, register it in {dst}'s model package group, then pin "
              f"that version in environments.{dst}; or promote between environments of one partition.")
    refused = UserError(summary, detail)
    if document is not None:
        from mlops_infra.diagnostics import error

        refused.diagnostics = document.attach([error(PARTITION_CODE, summary, detail,
                                                     ("environments", dst, "target", "region"),
                                                     f"environments.{dst}")])
    raise refused


def aws_digests(system: Any, env: str, view: RegistryView, wanted: Mapping[str, set[int]], role: str | None,
                ) -> tuple[RegistryView, tuple[str, ...]]:
    """``view`` (an AWS environment's registry read) with the artifact digest of every ``wanted``
    version (those SRC pins) that has none, or one mlops-infra computed from objects that changed
    since, obtained from its artifact and recorded on its package
    (:func:`mlops_infra.promote.digests.complete_digests`), and notes saying what was done. The
    clients are those of the registry read (``--role``, ``AWS_ENDPOINT_URL``)."""
    from mlops_infra.compile import compile_system
    from mlops_infra.promote.bucket_owner import created_buckets, expect_owner
    from mlops_infra.promote.digests import complete_digests

    todo = {m: {v for v in versions if v in r.versions} for m, versions in wanted.items()
            if (r := view.models.get(m)) is not None and r.basis == "registry"}
    if not any(todo.values()):
        return view, ()
    target = system.environments[env].target
    endpoint_url = os.environ.get("AWS_ENDPOINT_URL") or None
    session = env_session(role, target.region, endpoint_url)
    return complete_digests(view, todo, sagemaker=client(session, "sagemaker", endpoint_url, target.region),
                            s3=expect_owner(client(session, "s3", endpoint_url, target.region), target.account,
                                            created_buckets(compile_system(system, env))))


def bucket_region_refusal(dst_session: Any, endpoint_url: str | None, destination: str, region: str,
                          model: str) -> str | None:
    """Why a promotion may not copy ``model``'s artifact into ``destination`` (an ``s3://`` URI under DST's
    ``artifacts_uri``, a bucket DST's stack does not create): its bucket is in another Region than ``region``,
    DST's (S3 ``HeadBucket``'s ``x-amz-bucket-region``, :mod:`mlops_infra.state.aws_live.bucket_region`), so the
    package it would register names an artifact SageMaker does not read
    (:func:`mlops_infra.spec.artifacts_region.other_region_refusal`, audit xregion-3). None when it is in
    ``region``, does not exist or S3 did not say (the copy then reports what S3 answers). One ``HeadBucket``."""
    from mlops_infra.s3_uri import bucket_of
    from mlops_infra.spec.artifacts_region import other_region_refusal
    from mlops_infra.state.aws_live.bucket_region import bucket_region

    bucket = bucket_of(destination)
    if not bucket:
        return None
    answer = bucket_region(client(dst_session, "s3", endpoint_url, region), bucket)
    if answer.region and answer.region != region:
        return other_region_refusal(bucket, answer.region, "DST", region, f"models.{model}.artifacts_uri")
    return None


def assumed_session_factory(role_arn: str, region: str, endpoint_url: str | None) -> Callable[[], Any]:
    """A boto3 session factory whose credentials are those of ``role_arn`` (STS ``AssumeRole``)."""

    def factory() -> Any:
        import boto3

        from mlops_infra.state.aws_live.retry import describe_error

        sts = boto3.Session().client("sts", region_name=region, endpoint_url=endpoint_url)
        try:
            found = sts.assume_role(RoleArn=role_arn, RoleSessionName="mlops-infra-promote")["Credentials"]
        except Exception as error:
            raise UserError(f"cannot assume the role {role_arn}", describe_error(error)) from None
        return boto3.Session(aws_access_key_id=found["AccessKeyId"], aws_secret_access_key=found["SecretAccessKey"],
                             aws_session_token=found["SessionToken"], region_name=region)

    return factory


def env_session(role_arn: str | None, region: str | None, endpoint_url: str | None) -> Any:
    """One environment's boto3 session: the role's (``--role ENV=ARN``: :func:`assumed_session_factory`),
    else the default credential chain's."""
    if role_arn:
        return assumed_session_factory(role_arn, region, endpoint_url)()
    import boto3

    return boto3.Session(region_name=region)


def client(session: Any, service: str, endpoint_url: str | None, region: str | None = None) -> Any:
    """A client of ``session`` with the promotion's retries and timeouts (3 attempts in botocore's
    standard mode, 10 s to connect, 60 s to read)."""
    from botocore.config import Config

    config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10, read_timeout=60)
    return session.client(service, endpoint_url=endpoint_url, config=config, region_name=region)
