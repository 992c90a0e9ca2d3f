"""One model's ``artifacts_uri`` bucket used by AWS environments in different regions (audit envs-4).

A bucket has exactly one region (botocore ``s3/2006-03-01`` ``CreateBucketConfiguration.LocationConstraint``:
"Specifies the Region where the bucket will be created"), and SageMaker reads a model's artifacts only from its
own region: botocore ``sagemaker/2017-07-24`` ``ContainerDefinition.ModelDataUrl``: "The model artifacts must be
in an S3 bucket that is in the same region as the model or endpoint you are creating"
(``ModelPackageContainerDefinition.ModelDataUrl``: "... in the same region as the model package"). Each AWS stack
compiles the ``artifacts_uri`` as a bucket of its own region (the serving role's ``kms:ViaService``
``s3.<region>.amazonaws.com`` grant, ``compile/aws/serving.py``; promote registers copies under it,
``promote/artifacts.py``), so when two AWS environments in different regions name the same bucket, CreateModel
(and a promotion's CreateModelPackage) is refused in at least one of them.

Contract of :func:`check_artifacts_regions` (a base check: targets cannot be overridden, so it runs once): for
each model, its effective ``artifacts_uri`` per AWS environment is the base value, replaced by the
environment's override ``models.<model>.artifacts_uri`` (a null override: none); environments whose effective
URIs are in one bucket and whose ``target.region`` differ are an error ``artifacts-uri-region``, once per model
and bucket, naming the environments by region and the fix (override ``models.<model>.artifacts_uri`` per
environment with a bucket of that region, filled by S3 replication). It is reported at the base
``artifacts_uri`` line when some of those environments take the base value, else at the override of the
environment named last. Kubernetes environments are not compared (their storageUri is read with the serving
Secret's credentials, from any region).

One environment alone (audit xregion-3): whether a bucket named by its ``artifacts_uri`` is in the environment's
region is known only by asking S3 (the spec names a bucket, not its region). :func:`artifacts_buckets` gives an
environment's effective ``artifacts_uri`` buckets and the models that name them (pure), and
:func:`bucket_region_findings` turns S3's answers (:mod:`mlops_infra.state.aws_live.bucket_region`, ``HeadBucket``'s
``x-amz-bucket-region``) into one sentence per bucket in another region (with the fix), per bucket S3 says does not
exist, and one for the buckets that could not be asked: ``plan --refresh`` shows them as warnings, and promote
refuses a copy into a bucket of another region (:func:`other_region_refusal`) before anything is copied, since
the version it would register there is one SageMaker cannot serve (``ModelPackageContainerDefinition.ModelDataUrl``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from mlops_infra.diagnostics import Diagnostic, error
from mlops_infra.name_lists import NAMES_SHOWN, join_names
from mlops_infra.s3_uri import bucket_of
from mlops_infra.spec.context import CheckContext


def check_artifacts_regions(ctx: CheckContext) -> Iterator[Diagnostic]:
    """See the module docstring."""
    aws = {name: env for name, env in ctx.system.environments.items() if env.target.kind == "aws"}
    if len(aws) < 2:
        return
    for i, model in enumerate(ctx.system.models):
        key = f"models.{model.name}.artifacts_uri"
        users: dict[str, list[tuple[str, bool]]] = {}  # bucket -> (environment, takes the base value)
        for name, env in aws.items():
            overridden = key in env.overrides
            bucket = bucket_of(env.overrides[key] if overridden else model.artifacts_uri)
            if bucket:
                users.setdefault(bucket, []).append((name, not overridden))
        for bucket, envs in users.items():
            regions = {aws[name].target.region for name, _ in envs}
            if len(regions) < 2:
                continue
            named = ", ".join(f"{name} ({aws[name].target.region})" for name, _ in envs)
            base = [name for name, takes_base in envs if takes_base]
            path = ("models", i, "artifacts_uri") if base else ("environments", envs[-1][0], "overrides", key)
            fix = base[0] if base else envs[-1][0]
            yield error(
                "artifacts-uri-region",
                f'Model "{model.name}": artifacts bucket {bucket} is used by AWS environments in different regions: '
                f"{named}",
                f"A bucket is in one region, and SageMaker reads model artifacts only from a bucket in the model's "
                f"region (ContainerDefinition.ModelDataUrl), so CreateModel fails in the others. Override {key} "
                f"in {fix} (each environment whose region is not the bucket's) with a bucket of its region, kept "
                "in step with S3 replication, for example:\n"
                f"  environments:\n    {fix}:\n      overrides:\n        {key}: "
                f"s3://<a {aws[fix].target.region} bucket>/{model.name}/",
                path, f"models.{model.name}")


MODEL_DATA_RULE = ('SageMaker reads model artifacts only from a bucket in the model\'s region (botocore '
                   'ContainerDefinition.ModelDataUrl: "The model artifacts must be in an S3 bucket that is in the same '
                   'region as the model or endpoint you are creating"; ModelPackageContainerDefinition.ModelDataUrl: '
                   '"... in the same region as the model package")')


def artifacts_buckets(system: Any) -> dict[str, list[str]]:
    """Bucket -> the models (sorted) whose ``artifacts_uri`` is in it, of ``system`` (an environment's effective
    system: its overrides applied), sorted by bucket; an ``artifacts_uri`` that is not ``s3://`` names none."""
    found: dict[str, list[str]] = {}
    for model in system.models:
        bucket = bucket_of(model.artifacts_uri)
        if bucket:
            found.setdefault(bucket, []).append(model.name)
    return {bucket: sorted(models) for bucket, models in sorted(found.items())}


def bucket_region_findings(answers: Iterable[Any], buckets: dict[str, list[str]], env: str, region: str) -> list[str]:
    """One sentence per bucket of ``buckets`` (:func:`artifacts_buckets`) whose answer (a
    :class:`~mlops_infra.state.aws_live.bucket_region.BucketRegion`: ``bucket``, ``region``, ``missing``,
    ``problem``) says it is in another region than ``region`` (environment ``env``'s) or does not exist, and one
    for those that could not be asked (module docstring)."""
    found, unknown = [], []
    for answer in answers:
        models = buckets.get(answer.bucket, [])
        fields = join_names([f"models.{m}.artifacts_uri" for m in models]) or "artifacts_uri"
        # closing-44c-2: a cut list must still say which fields to change (no output lists them whole)
        every = (f": every model whose artifacts_uri is in s3://{answer.bucket}/, {len(models)} of them"
                 if len(models) > NAMES_SHOWN + 1 else "")
        if answer.problem:
            unknown.append(f"{answer.bucket} ({answer.problem})")
        elif answer.missing:
            found.append(f"artifacts bucket {answer.bucket} ({fields}) does not exist (S3 HeadBucket: 404): "
                         f"{env} cannot serve a version registered from it. Fix: create it in {region}, or point "
                         f"{fields} in environment {env} at the bucket that holds the versions{every}.")
        elif answer.region and answer.region != region:
            found.append(other_region_refusal(answer.bucket, answer.region, env, region, fields, every))
    if unknown:
        found.append(f"artifacts buckets not checked: S3 did not say the region of {join_names(unknown)}; a bucket in "
                     f"another region than {region} cannot serve {env}'s models")
    return found


def other_region_refusal(bucket: str, where: str, env: str, region: str, fields: str, every: str = "") -> str:
    """Why ``bucket`` (in ``where``) cannot hold ``env``'s model artifacts (``env`` is in ``region``), and the fix
    (``every``: how to find all the fields when ``fields`` is a cut list, appended to the fix)."""
    return (f"artifacts bucket {bucket} ({fields}) is in {where}, environment {env} is in {region}: {MODEL_DATA_RULE}, "
            f"so CreateModel of its versions in {env}, and a promotion's CreateModelPackage, are refused. Fix: override "
            f"{fields} in environment {env} with a bucket in {region} (kept in step with S3 replication){every}.")
