"""The AWS drift job's image: built from the shipped drift job and pushed by ``pulumi up`` (review B2).

Contract: an environment with a drift or quality monitor gets one ``docker-build:index:Image``
(Pulumi's Docker Build provider, https://www.pulumi.com/registry/packages/docker-build/) named
``drift-job-image`` under the platform component. It builds :func:`dockerfile` — the Evidently image
the Kubernetes target runs, plus boto3 for CloudWatch, plus the drift job
(``compile/kubernetes/scripts/drift_job.py``, the one program both targets run) copied in with a
Dockerfile here-document (BuildKit's Dockerfile syntax 1.4+), so the build needs no context files —
for ``linux/amd64`` (SageMaker Processing's platform) and pushes it to the platform's ECR repository
as :func:`image_tag`. The tag is the first 12 hex digits of the SHA-256 of the Dockerfile (and of
the context location, below): changing the job or its base image is a new tag, which the repository
(``IMMUTABLE`` tags) keeps beside the old one and the plan shows as an image replacement plus a pipeline update. Every drift pipeline depends on
the image, so Pulumi pushes it before any pipeline that runs it exists.

Build context (an empty directory, :data:`BUILD_CONTEXT`). The Dockerfile copies nothing from its
context, but the provider still hashes the context on every preview and update: its ``Image.Diff``
walks every file under ``context.location`` (names, contents and file modes; only a
``.dockerignore`` excludes any) and, when that hash differs from the stored ``contextHash``, plans
an update, whose ``Update`` is ``Create``: build and push again (pulumi-docker-build
``provider/internal/image.go`` ``Diff``/``Update``, ``provider/internal/context.go``
``hashBuildContext``). With ``"."``, the stack directory, that hash changed with any file there (the
file backend's ``.pulumi/`` state and lock files change on every run, ``Pulumi.<env>.yaml``,
``requirements.txt``, modes on a CI checkout), so every apply after the first rebuilt the image and
pushed the same tag to the ``IMMUTABLE`` repository, which ECR refuses (botocore ``ecr``
``PutImage`` error ``ImageTagAlreadyExistsException``: "The specified image is tagged with a tag
that already exists. The repository is configured for tag immutability."): the apply failed there
and skipped the drift pipelines. The context is therefore :data:`BUILD_CONTEXT`, relative to the stack
directory (a relative path, so the ``context.location`` input is the same on every machine: the
provider's ``Diff`` also compares it), which the program makes before it registers the image
(``program/build_contexts.py``, holding only a ``.dockerignore`` of ``*``): its hash never changes.
The tag hashes the Dockerfile and the context location, so moving off ``"."`` was a new tag too
(a rebuild of the old tag would have been refused).

``pulumi up`` therefore needs Docker with Buildx where it runs, logged in to the platform's ECR
registry (``aws ecr get-login-password | docker login --username AWS --password-stdin
<account>.dkr.ecr.<region>.amazonaws.com``, or the ECR credential helper): the provider pushes with
the local Docker credentials when no ``registries`` are given. This is pure: no Docker is touched at
compile or plan time.
"""

from __future__ import annotations

import hashlib
from functools import cache

from mlops_infra.compile.aws import arns
from mlops_infra.compile.aws.context import AwsContext
from mlops_infra.compile.drift_job import EVIDENTLY_IMAGE
from mlops_infra.compile.kubernetes import scripts

IMAGE = "docker-build:index:Image"
SCRIPT = "drift_job.py"
SCRIPT_PATH = "/opt/mlops/drift_job.py"
BOTO3 = "boto3>=1.34,<2"
PLATFORM = "linux/amd64"
_DELIMITER = "MLOPS_DRIFT_JOB_SOURCE"
BUILD_CONTEXT = ".mlops-infra/empty-build-context"
"""The image's build context, relative to the stack directory (see the module contract)."""
IGNORE_ALL = "*\n"
"""The context's ``.dockerignore``: nothing under the context enters the build or its hash."""


@cache
def dockerfile() -> str:
    """The drift-job image's Dockerfile, the job's source inlined (see the module contract)."""
    source = scripts.source(SCRIPT)
    if any(line.strip() == _DELIMITER for line in source.splitlines()):
        raise ValueError(f"{SCRIPT} contains the here-document delimiter (this is a bug in mlops-infra)")
    return (f"# syntax=docker/dockerfile:1.7\n"
            f"FROM {EVIDENTLY_IMAGE}\n"
            f'RUN pip install --no-cache-dir "{BOTO3}"\n'
            f"COPY <<'{_DELIMITER}' {SCRIPT_PATH}\n{source.rstrip()}\n{_DELIMITER}\n"
            f'ENV DO_NOT_TRACK=1\nENTRYPOINT ["python", "{SCRIPT_PATH}"]\n')


@cache
def image_tag() -> str:
    """``drift-job-<12 hex digits of the SHA-256 of the Dockerfile and the context location>``."""
    return "drift-job-" + hashlib.sha256(f"{dockerfile()}\0context:{BUILD_CONTEXT}".encode()).hexdigest()[:12]



def image_uri(aws: AwsContext) -> str:
    return arns.ecr_image_uri(aws.region, aws.account, aws.repository_name, image_tag())


def add_drift_image(aws: AwsContext) -> str:
    """The image resource (once per environment); returns its URN."""
    if aws.drift_image:
        return aws.drift_image
    aws.drift_image = aws.ctx.builder.add(IMAGE, "drift-job-image", {
        "dockerfile": {"inline": dockerfile()},
        "context": {"location": BUILD_CONTEXT},  # never ".": see the module contract
        "buildOnPreview": False,  # `pulumi preview` needs no Docker; `pulumi up` builds and pushes
        "network": "default",
        "platforms": [PLATFORM],
        "push": True,
        "tags": [image_uri(aws)],
    }, parent=aws.platform, depends_on=[aws.repository], address="platform", role="drift-job-image")
    return aws.drift_image
