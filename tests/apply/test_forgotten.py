"""After ``pulumi up``, apply deletes the model and config Pulumi only forgot when a canary endpoint
was removed, so adding the endpoint back can create them again (finding removal-3).

Rules: pulumi/pulumi ``pkg/resource/deploy/step.go`` ``DeleteStep.Apply`` ("Deleting a "drop on
delete" is a no-op"); SageMaker refuses a model or config name that exists ("Cannot create already
existing ...", a ValidationException: tests/support/moto_server.py patch 16 makes moto do the same).
The engine is played by the SageMaker calls its provider makes for the plan's steps.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from mlops_infra.apply.forgotten import after_up, forgotten_objects
from mlops_infra.plan.planner import make_plan
from mlops_infra.state.pulumi_state import load_state
from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps
from tests.support.text_edits import edit

REFERENCE = Path(__file__).parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"
ROLE = "arn:aws:iam::222222222222:role/serving"
IMAGE = "222222222222.dkr.ecr.eu-west-1.amazonaws.com/fraud:12"


def _spec_with_second_canary(directory: Path, endpoint: str) -> Path:
    spec = directory / "mlsystem.yaml"
    spec.write_text(edit(REFERENCE.read_text(), "\nmonitors:\n", f"""
  - name: {endpoint}
    model: {{name: fraud-model, version: 12}}
    accelerator: {{type: A10G, count: 1}}
    replicas: {{min: 1, max: 2}}
    rollout:
      strategy: canary
      steps: [10, 100]
      bake: 10m

monitors:
"""))
    return spec


@pytest.fixture
def removal(tmp_path: Path, request: pytest.FixtureRequest):
    """(plan removing a canary endpoint, the state it was made against, the endpoint's SageMaker
    names: endpoint, config, model). Unique names per test: moto's backends outlive a server."""
    endpoint = f"sc{zlib.crc32(request.node.name.encode()) % 10**6}"
    state_file = tmp_path / "prior.json"
    state_file.write_text(dumps(applied_state(compile_file(_spec_with_second_canary(tmp_path, endpoint), "prod"))))
    prior = load_state(state_file)
    plan = make_plan(compile_file(REFERENCE, "prod"), prior)
    names = {}
    for suffix in ("endpoint", "endpoint-config", "model"):
        urn = next(u for u in prior.resources if u.endswith(f"::{endpoint}-{suffix}"))
        names[suffix] = prior.resources[urn].output("name")
    return plan, prior, names


def _create(sm, names) -> None:
    """What ``pulumi up`` of the endpoint's model, config and endpoint calls (CreateModel,
    CreateEndpointConfig, CreateEndpoint)."""
    sm.create_model(ModelName=names["model"], ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    sm.create_endpoint_config(EndpointConfigName=names["endpoint-config"], ProductionVariants=[{
        "VariantName": "primary", "ModelName": names["model"], "InitialInstanceCount": 1,
        "InstanceType": "ml.g5.xlarge"}])


@pytest.fixture(scope="module")
def sagemaker():
    from tests.support.moto_server import client, existing_names_refused, running_moto_server

    with running_moto_server() as url, existing_names_refused():
        yield client("sagemaker", url, "eu-west-1")


def test_the_plan_lists_the_removed_endpoints_config_and_model(removal) -> None:
    plan, prior, names = removal

    found = forgotten_objects(plan, prior)

    assert [(o.kind, o.name, o.endpoints) for o in found] == [
        ("config", names["endpoint-config"], (names["endpoint"],)), ("model", names["model"], (names["endpoint"],))]


@pytest.mark.moto
def test_remove_apply_add_back_apply_succeeds(removal, sagemaker) -> None:
    plan, prior, names = removal
    _create(sagemaker, names)
    sagemaker.create_endpoint(EndpointName=names["endpoint"], EndpointConfigName=names["endpoint-config"])

    sagemaker.delete_endpoint(EndpointName=names["endpoint"])  # pulumi up of the removal: the rest is retained
    said: list[str] = []
    assert after_up(plan, prior, "eu-west-1", said.append, sagemaker=sagemaker) is None

    assert any(names["model"] in line and "Deleted the model" in line for line in said), said
    assert any(names["endpoint-config"] in line and "Deleted the endpoint config" in line for line in said), said
    _create(sagemaker, names)  # pulumi up of the endpoint added back: the same names, now free


@pytest.mark.moto
def test_without_the_cleanup_adding_back_fails_as_on_sagemaker(removal, sagemaker) -> None:
    """The collision the cleanup prevents (moto_server patch 16 refuses it as SageMaker does)."""
    _, _, names = removal
    _create(sagemaker, names)

    with pytest.raises(ClientError, match="Cannot create already existing model"):
        _create(sagemaker, names)
    with pytest.raises(ClientError, match="Cannot create already existing endpoint configuration"):
        sagemaker.create_endpoint_config(EndpointConfigName=names["endpoint-config"], ProductionVariants=[{
            "VariantName": "primary", "ModelName": names["model"], "InitialInstanceCount": 1,
            "InstanceType": "ml.g5.xlarge"}])


@pytest.mark.moto
def test_what_an_endpoint_still_uses_is_kept(removal, sagemaker) -> None:
    """The driver's in-use check: an endpoint of the item that still runs the config keeps it and its model."""
    plan, prior, names = removal
    _create(sagemaker, names)
    sagemaker.create_endpoint(EndpointName=names["endpoint"], EndpointConfigName=names["endpoint-config"])
    said: list[str] = []

    assert after_up(plan, prior, "eu-west-1", said.append, sagemaker=sagemaker) is None

    assert [line.split(":")[0] for line in said] == [f"Kept the endpoint config {names['endpoint-config']}",
                                                     f"Kept the model {names['model']}"]
    sagemaker.describe_model(ModelName=names["model"])
    sagemaker.describe_endpoint_config(EndpointConfigName=names["endpoint-config"])


def test_a_failed_delete_is_an_error_naming_what_to_delete_by_hand(removal) -> None:
    plan, prior, names = removal

    class Refusing:
        def describe_endpoint(self, EndpointName):
            raise ClientError({"Error": {"Code": "ValidationException",
                                         "Message": f'Could not find endpoint "{EndpointName}".'}}, "DescribeEndpoint")

        def delete_endpoint_config(self, EndpointConfigName):
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}},
                              "DeleteEndpointConfig")

        def delete_model(self, ModelName):
            return {}

    error = after_up(plan, prior, "eu-west-1", lambda line: None, sagemaker=Refusing())

    assert error is not None and "the apply succeeded" in error.summary
    assert f"aws sagemaker delete-endpoint-config --endpoint-config-name {names['endpoint-config']}" in error.detail
    assert "AccessDeniedException" in error.detail and names["model"] not in error.detail


def test_the_planner_and_apply_agree_on_what_apply_deletes() -> None:
    from mlops_infra.apply.forgotten import KINDS
    from mlops_infra.plan.planner import _FORGOTTEN_DELETED_BY_APPLY

    assert set(KINDS) == _FORGOTTEN_DELETED_BY_APPLY


@pytest.mark.moto
def test_mlops_infra_apply_deletes_them_after_pulumi_up(removal, monkeypatch) -> None:
    """The command's call site: after the (faked) ``pulumi up``, before the post-apply check, with the
    plan it shows and the state it read; the lines say what was deleted."""
    import shutil

    from mlops_infra.apply import engine
    from mlops_infra.cli.commands import apply as apply_cmd
    from tests.support.cli import run_cli
    from tests.support.moto_server import client, existing_names_refused, running_moto_server

    _, prior, names = removal
    state_file = Path(prior.source)
    with running_moto_server() as url, existing_names_refused():
        sm = client("sagemaker", url, "eu-west-1")
        _create(sm, names)
        sm.create_endpoint(EndpointName=names["endpoint"], EndpointConfigName=names["endpoint-config"])
        ups: list[dict] = []

        def up(*args, **kwargs):  # what the engine does for this plan's SageMaker steps
            ups.append(kwargs)
            sm.delete_endpoint(EndpointName=names["endpoint"])

        checks: list[str] = []
        for name, value in {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing",
                            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-west-1"}.items():
            monkeypatch.setenv(name, value)
        from tests.support.moto_accounts import caller_is

        caller_is(monkeypatch, "222222222222")  # prod's; seeded with moto's test keys (apply's registry read asks)
        monkeypatch.setattr(shutil, "which", lambda name: "/usr/local/bin/pulumi")
        monkeypatch.setattr(engine, "up", up)
        monkeypatch.setattr(apply_cmd, "_verify", lambda out, graph: checks.append("verify"))
        result = run_cli("apply", str(REFERENCE), "--env", "prod", "--state", str(state_file), "--yes")

        assert result.code == 0, result.output
        assert len(ups) == 1 and checks == ["verify"]
        assert f"Deleted the model {names['model']}" in result.stdout
        assert f"Deleted the endpoint config {names['endpoint-config']}" in result.stdout
        _create(sm, names)  # adding the endpoint back creates the same names again
