"""Where a served model version's artifacts are, so its serving role can read them (finding B5).

On AWS, ``CreateModel`` reads the version's ``ModelDataUrl`` with the endpoint's execution role
(botocore ``CreateModelInput.ExecutionRoleArn``: the role SageMaker assumes "to access model
artifacts and docker image for deployment"), and the compiler grants that role exactly the prefixes
it knows: the artifacts of the training jobs of this system that register the model
(``compile/aws/storage.training_output``) and the model's ``artifacts_uri``. A model that no job here
registers and that names no ``artifacts_uri`` would get a role that cannot read any version of it:
CreateModel then fails with "Could not access model data".

Contract of :func:`check_serving_artifacts` (an environment check): in an AWS environment, every
endpoint whose model is registered by no training job of the system and has no ``artifacts_uri``
is an error at ``endpoints[i].model``, saying how to fix it. Nothing is reported while a training
job of the raw document is left out as invalid (it may be the one registering the model: nothing
left out is reported as missing, :mod:`mlops_infra.spec.context`).

Why an error, not a warning (issue 9, B5: "every endpoint's serving role can read its model's
artifact ... wherever the version came from"): the compiled role is granted exactly those prefixes
and nothing else, so with neither no version of the model is readable by it, and every apply that
creates or replaces the endpoint's SageMaker model fails at ``CreateModel``; a version promoted in
has nowhere readable to be copied to either (``promote/artifacts.py`` copies under the registering
job's prefix or the ``artifacts_uri``). A plan that cannot apply is what validate exists to stop,
and the fix is one line. Only a bucket policy outside this system naming the role could make it
work, and a spec that relies on that must say where the artifacts are anyway. The reference
document and the examples validate unchanged (their models are registered here or name their
``artifacts_uri``). A Kubernetes environment is not checked: its InferenceService downloads the version
from the registry's ``source`` when read, else from ``<artifacts_uri><version>/`` or the models bucket
layout (``compile/kubernetes/artifacts.py``), with the serving Secret's credentials, which no compiled
role scopes, so nothing this check guards can be refused there.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlops_infra.diagnostics import Diagnostic, error
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.environments import Environment


def check_serving_artifacts(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """Endpoints whose artifacts no serving role could read in AWS environment ``env``."""
    if environment.target.kind != "aws":
        return
    left_out = ctx.known_elsewhere
    if left_out.names.get("training_jobs") or "training_jobs" in left_out.unnamed:
        return  # an invalid job left out of the system may register the model: its own errors come first
    registered = {j.registers for j in ctx.system.training_jobs if j.registers}
    for i, endpoint in enumerate(ctx.system.endpoints):
        model = ctx.item("models", endpoint.model.name)
        if model is None or model.name in registered or model.artifacts_uri:
            continue
        yield error("model-artifacts-unknown",
                  f'Endpoint "{endpoint.name}": no job here registers model "{model.name}", and it names no artifacts_uri',
                  f"In environment {env}: the endpoint's serving role is granted read access to the artifacts of "
                  f"the training jobs that register its model, and to the model's artifacts_uri; with neither, "
                  f"SageMaker cannot read any version of {model.name} (CreateModel: \"Could not access model "
                  f"data\"). Fix: set models.{model.name}.artifacts_uri to the s3:// prefix its versions' "
                  f"model.tar.gz files are under (override it in {env} if it differs there).",
                  ("endpoints", i, "model"), f"endpoints.{endpoint.name}")
