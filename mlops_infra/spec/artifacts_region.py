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
"""

from __future__ import annotations

from collections.abc import Iterator

from mlops_infra.diagnostics import Diagnostic, error
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
