"""Which container runs a training job and which serves a model, per environment, and can it be pulled there.

Resolution (pure but for reading the SageMaker image tables, :mod:`mlops_infra.ml.images`):
- a training job runs ``image``, or the SageMaker framework *training* image of ``framework`` +
  ``framework_version`` in the environment's region (cpu/gpu by the cluster's instance);
- a model is served (on AWS, the container of the model package its training job registers) by
  :func:`serving_image`, first found: the model's ``serving_image``; the framework *inference*
  image of the model's ``framework`` + ``framework_version``; the inference image of the
  registering job's framework and version (a training image cannot serve); the registering job's
  own ``image`` (the container must then implement SageMaker's ``serve`` entry point, as before).

Checks on AWS environments (:func:`check_containers`), each citing the rule it relies on:
- botocore ``ContainerDefinition.Image``: "The model artifacts in an Amazon S3 bucket and the
  Docker image for inference container in Amazon EC2 Container Registry must be in the same region
  as the model or endpoint you are creating." CreateTrainingJob refuses another region's image
  too ("Invalid DNS suffix ... in training image. Please provide the valid <region>.<dns-suffix>",
  aws-samples/mlops-amazon-sagemaker#9). An ECR image of another region is a warning in that
  environment (the document may be promoted there with an override of the image), with the fix.
- An ECR image of another *partition* than the environment's (``aws``, ``aws-cn``, ``aws-us-gov``:
  :func:`mlops_infra.partitions.partition`) is an error ``image-in-other-partition`` (audit xregion-1):
  the compiled pull grant would name the repository's ARN, ``arn:aws:ecr:...``, in a policy of an
  ``aws-cn``/``aws-us-gov`` role, which IAM refuses ("MalformedPolicyDocument: Partition "aws" is not
  valid for resource", terraform-aws-modules/terraform-aws-iam#39 (aws-cn, PutRolePolicy),
  kubernetes/kops#6763 (cn-northwest-1)), and no other fix reaches across: "Accounts and credentials
  for other Amazon Regions will not work for services operating in the China (Beijing) and China
  (Ningxia) Regions" (https://docs.amazonaws.cn/en_us/aws/latest/userguide/general-info.html), so
  neither a repository policy naming the other partition's account nor ECR replication between them
  gives the environment the image. The only fix is pushing it to ECR in the environment's partition
  (and region); :mod:`mlops_infra.spec.image_accounts` offers no cross-account statement for it.
- botocore ``ModelPackageContainerDefinition.Image``: "The Amazon Elastic Container Registry
  (Amazon ECR) path where inference code is stored": a serving image outside ECR is an error.
- botocore ``TrainingImageConfig.TrainingRepositoryAccessMode``: a private registry needs ``Vpc``
  mode and a VpcConfig, which mlops-infra does not compile: a training image outside ECR is an error
  (CreateTrainingJob: "TrainingImageConfig with TrainingRepositoryAccessMode set to VPC must be
  provided when using a training image from a private Docker registry", aws/aws-sdk#117; Docker Hub:
  "Invalid training image. Please provide a valid Amazon Elastic Container Registry path",
  aws/sagemaker-python-sdk#437). ECR Public (``public.ecr.aws``) is not private ECR and is refused
  too (aws/sagemaker-python-sdk#2605: "we don't support public.ecr images").
- a framework version with no image in the region is an error, with the versions that exist.
On Kubernetes environments a training job needs an ``image`` (framework images are SageMaker's).

:func:`check_image_pins` (every environment): an ``image`` or ``serving_image`` without a tag or
digest, or tagged ``latest``, is a warning at the field: it means whatever ``latest`` is when pulled
("If you don't specify a tag, Kubernetes assumes you mean the tag latest"; "You should avoid using
the :latest tag when deploying containers in production as it is harder to track which version of
the image is running and more difficult to roll back properly", Kubernetes docs, Concepts >
Containers > Images, and Configuration Best Practices), and Kubernetes pulls it again at every pod
start ("if you omit the imagePullPolicy field, and the tag for the container image is :latest,
imagePullPolicy is automatically set to Always"), so the same document can deploy different code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlops_infra import catalog
from mlops_infra.diagnostics import Diagnostic, did_you_mean, error, warning
from mlops_infra.partitions import partition
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.environments import Environment
from mlops_infra.spec.fit import DEFAULT_INSTANCE
from mlops_infra.spec.image_refs import image_pin

if TYPE_CHECKING:
    from mlops_infra.ml import images

ECR_IMAGE = re.compile(r"^(?P<account>[0-9]{12})\.dkr\.ecr(-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/")


@dataclass(frozen=True)
class Image:
    """A container image and where it came from.

    Fields:
        uri: the image, or None when it cannot be resolved (``problem`` says why).
        origin: ``image``, ``serving_image``, ``framework`` (resolved by :mod:`mlops_infra.ml.images`) or
            ``training image`` (a training job's image reused to serve).
        path: the spec path of the field that chose it, for diagnostics.
        problem: why there is no image; ``choices``: versions that exist (did you mean).
    """

    uri: str | None
    origin: str
    path: tuple
    problem: str | None = None
    choices: tuple[str, ...] = ()


def ecr_region(uri: str) -> str | None:
    """The region of an ECR image URI, or None for another registry."""
    match = ECR_IMAGE.match(uri)
    return match.group("region") if match else None


def _framework(framework: str, version: str, region: str, scope: images.Scope, instance: str, path: tuple) -> Image:
    from mlops_infra.ml import images  # the image tables: only a spec that names a framework reads them

    try:
        return Image(images.resolve(framework, version, region, scope, instance), "framework", path)
    except images.ImageError as exc:
        return Image(None, "framework", path, str(exc), exc.choices)


def training_image(job: Any, index: int, region: str | None, instance: str | None) -> Image:
    """The image a run of ``job`` uses in ``region`` (None: Kubernetes, no framework resolution)."""
    if job.image is not None:
        return Image(job.image, "image", ("training_jobs", index, "image"))
    path = ("training_jobs", index, "framework_version")
    if region is None:
        return Image(None, "framework", path, "framework images are SageMaker's: a Kubernetes environment needs image")
    return _framework(job.framework, job.framework_version, region, "training", instance or "ml.m5.xlarge", path)


def serving_image(system: Any, names: dict[str, int], model_name: str, region: str, instance: str,
                  registering: dict[str, int] | None = None) -> Image | None:
    """The image serving ``model_name`` on AWS (see the module docstring), or None when nothing here
    registers or names one (a model registered out of band brings its own). ``registering`` (model
    name -> index of the first training job registering it, :func:`first_registering`) saves a scan
    of the training jobs per model."""
    index = names.get(model_name)
    model = system.models[index] if index is not None else None
    if model is None:
        return None
    if model.serving_image:
        return Image(model.serving_image, "serving_image", ("models", index, "serving_image"))
    if model.framework_version:
        return _framework(model.framework, model.framework_version, region, "inference", instance,
                          ("models", index, "framework_version"))
    j = (first_registering(system) if registering is None else registering).get(model_name)
    if j is None:
        return None
    job = system.training_jobs[j]
    if job.image is None:
        return _framework(job.framework, job.framework_version, region, "inference", instance,
                          ("training_jobs", j, "framework_version"))
    return Image(job.image, "training image", ("training_jobs", j, "image"))


def first_registering(system: Any) -> dict[str, int]:
    """Model name -> index of the first training job that registers it (:attr:`MLSystem.registering`,
    computed once per system)."""
    return system.registering


def serving_instances(system: Any) -> dict[str, str]:
    """model name -> the instance whose processor picks its serving image: a GPU endpoint's if any
    endpoint serving it has a GPU, else the first by name; one pass over the endpoints (callers ask
    for every model, so a per-model scan would be quadratic in a 1,000-endpoint system), the catalog
    asked once per distinct shape."""
    by_model: dict[str, list[str]] = {}
    shapes: dict[Any, str] = {}  # (GPU type, count) or instance type -> instance
    for endpoint in system.endpoints:
        accelerator = endpoint.accelerator
        shape = (accelerator.type, accelerator.count) if accelerator is not None else endpoint.instance_type
        instance = shapes.get(shape)
        if instance is None:
            if accelerator is not None:
                instance = catalog.instance_for(accelerator.type, accelerator.count) or "ml.g5.xlarge"
            else:
                instance = catalog.sagemaker_name(endpoint.instance_type or DEFAULT_INSTANCE)
            shapes[shape] = instance
        by_model.setdefault(endpoint.model.name, []).append(instance)
    has_gpus = {instance: bool(catalog.gpus_of(instance)[1]) for instance in set(shapes.values())}
    chosen = {}
    for model, instances in by_model.items():
        gpu = next((i for i in instances if has_gpus[i]), None)
        chosen[model] = gpu if gpu is not None else min(instances)
    return chosen


def cluster_instance(system: Any, job: Any) -> str | None:
    cluster = system.item("clusters", job.cluster)
    if cluster is None:
        return None
    if cluster.accelerator is not None:
        return catalog.instance_for(cluster.accelerator.type, cluster.accelerator.count, "training")
    return catalog.sagemaker_name(cluster.instance_type) if cluster.instance_type else None


def check_containers(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """Images of training jobs and served models exist and can be pulled in ``env`` (module docstring)."""
    region = getattr(environment.target, "region", None) if environment.target.kind == "aws" else None
    system = ctx.system
    for i, job in enumerate(system.training_jobs):
        if job.image is None and region is None:
            yield error("framework-image-needs-aws", f'Training job "{job.name}" has no image for Kubernetes',
                        f"framework and framework_version name SageMaker's images, which resolve per AWS region; "
                        f"environment {env} is Kubernetes. Give an image there: override "
                        f"training_jobs.{job.name}.image in {env}.", ("training_jobs", i, "framework"),
                        f"training_jobs.{job.name}")
        elif region is not None:
            image = training_image(job, i, region, cluster_instance(system, job))
            yield from _image_problems(image, f"training_jobs.{job.name}", env, environment.target, "training")
    if region is None:
        return
    instances = serving_instances(system)
    registering = first_registering(system)
    for model in system.models:
        if model.name not in instances and model.name not in registering:
            continue
        image = serving_image(system, ctx.names["models"], model.name, region,
                              instances.get(model.name, DEFAULT_INSTANCE), registering)
        if image is not None:
            yield from _image_problems(image, f"models.{model.name}", env, environment.target, "inference")


def check_image_pins(ctx: CheckContext) -> Iterator[Diagnostic]:
    """A warning at each image that names no fixed image (see the module docstring)."""
    system = ctx.system
    fields = [("training_jobs", i, job.name, "image", job.image) for i, job in enumerate(system.training_jobs)]
    fields += [("models", i, model.name, "serving_image", model.serving_image) for i, model in enumerate(system.models)]
    for section, i, name, field, image in fields:
        if image is None or image_pin(image):
            continue
        what = "is tagged latest" if "@" not in image and image.rsplit("/", 1)[-1].endswith(":latest") \
            else "has no tag or digest, so it means :latest"
        yield warning(
            "image-not-pinned", f"{section}.{name}: the {field} {what}",
            "A deploy runs whatever latest is when the image is pulled (Kubernetes pulls it again at every pod "
            "start), so two deploys of this document can run different code and a rollback does not bring the "
            "old code back. Fix: pin a version tag (for example "
            f"{_example(image)}:<version>) or a digest (@sha256:<64 hex digits>, which `aws ecr describe-images` or "
            "`docker buildx imagetools inspect` print).", (section, i, field), f"{section}.{name}")


def _example(image: str) -> str:
    """``image`` without its tag (never a credential: a reference with one is not valid)."""
    head, _, last = image.rpartition("/")
    return f"{head}/{last.partition(':')[0]}" if head else last.partition(":")[0]


def other_partition(uri: str | None, region: str) -> str | None:
    """The partition of ``uri``'s ECR registry when it is not ``region``'s, else None (not ECR, or the same
    partition): such an image cannot be pulled in ``region`` (module docstring, audit xregion-1)."""
    where = ecr_region(uri or "")
    if where is None or partition(where) == partition(region):
        return None
    return partition(where)


def _image_problems(image: Image, address: str, env: str, target: Any, use: str) -> Iterator[Diagnostic]:
    field, region = address, target.region
    if image.uri is None:
        hint = did_you_mean(_asked(image), image.choices) if image.choices else ""
        article = "an" if use == "inference" else "a"
        newest = ", ".join(image.choices[:8]) + (f" and {len(image.choices) - 8} older" if len(image.choices) > 8 else "")
        exists = f" Versions with {article} {use} image in {region}, newest first: {newest}." if image.choices else ""
        yield error("framework-version-unavailable", f"{address}: {image.problem}",
                    f"In environment {env} ({region}).{exists}{hint} Or name an image instead.", image.path, address)
        return
    role = "serving" if use == "inference" else "training"
    where = ecr_region(image.uri)
    if where is None:
        rule = ("SageMaker serves model packages only from Amazon ECR (botocore ModelPackageContainerDefinition.Image)"
                if use == "inference" else
                "SageMaker pulls training images from Amazon ECR; a private registry needs "
                "TrainingImageConfig.TrainingRepositoryAccessMode=Vpc and a VpcConfig, which mlops-infra does not compile")
        reused = " (the training image, reused to serve: give the model a serving_image)" if image.origin == "training image" else ""
        yield error("image-not-in-ecr", f"{field}: the {role} image {image.uri} is not in Amazon ECR{reused}",
                    f"{rule}. Push it to ECR in {region} and use that URI (environment {env}).", image.path, address)
        return
    if (other := other_partition(image.uri, region)) is not None:
        yield _partition_error(image, address, env, target, role, where, other)
        return
    if where != region:
        if image.origin == "training image":
            fix = f"give the model a serving_image in {region} (override {address}.serving_image in environment {env})"
        else:
            name = "serving_image" if image.origin == "serving_image" else "image"
            fix = f"replicate the repository to {region} (ECR replication) and override {address}.{name} in environment {env}"
        rule = ('botocore ContainerDefinition.Image: the inference image "must be in the same region as the model or '
                'endpoint you are creating"' if use == "inference" else
                "CreateTrainingJob refuses a training image of another region")
        yield warning("image-in-other-region",
                      f"{field}: the {role} image is in {where}, environment {env} is in {region}",
                      f"SageMaker does not pull ECR images across regions ({rule}). Fix: {fix}; or name framework and "
                      "framework_version, which resolve per region.", image.path, address)


def _partition_error(image: Image, address: str, env: str, target: Any, role: str, where: str,
                     other: str) -> Diagnostic:
    """``image-in-other-partition`` (module docstring): the image's ECR region and partition, the environment's,
    why nothing but a push reaches across, and the field to override."""
    region, here = target.region, partition(target.region)
    account = getattr(target, "account", None) or "the environment's account"
    if image.origin == "training image":
        override = f"give the model a serving_image there (override {address}.serving_image in environment {env})"
    else:
        name = "serving_image" if image.origin == "serving_image" else "image"
        override = f"override {address}.{name} in environment {env} with that URI"
    return error(
        "image-in-other-partition",
        f"{address}: the {role} image is in {where} (partition {other}), environment {env} is in {region} "
        f"(partition {here})",
        f"Nothing crosses AWS partitions: the execution role's pull grant would name an arn:{other}: repository, "
        f"which IAM refuses in an arn:{here}: account (MalformedPolicyDocument), and neither a repository policy "
        f"naming the other partition's account nor ECR replication reaches across (\"Accounts and credentials for "
        f"other Amazon Regions will not work\" in the China Regions, and the reverse: "
        f"https://docs.amazonaws.cn/en_us/aws/latest/userguide/general-info.html). Fix: push the image to ECR in "
        f"{region} of account {account} and {override}.", image.path, address)


def _asked(image: Image) -> str:
    match = re.search(r" ([0-9][0-9A-Za-z.\-]*) has no", image.problem or "")
    return match.group(1) if match else ""
