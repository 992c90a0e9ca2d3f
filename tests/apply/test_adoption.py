"""Rolling back by setting the previous version in the spec applies (audit rolloutaws-7): apply adopts the model
and config the rollout kept, instead of creating what SageMaker refuses to create again.

The audit's sequence: the prod stack applied at version 14 after a finished rollout from 13 (13's model and config
kept in SageMaker, recorded as kept on the endpoint), the spec set back to 13 and planned. Rules: SageMaker's
``CreateModel``/``CreateEndpointConfig`` refuse an existing name ("Cannot create already existing model",
tests/support/moto_server.py patch 16 plays it, as ``apply/forgotten.py`` quotes it); Pulumi's ``import`` option
reads the object by its id instead of creating it (``ImportStep.Apply``: ``prov.Read``), and terraform-provider-aws
ids a model and an endpoint config by their name (``d.SetId(name)``). No Pulumi CLI runs here: the engine's calls
for the plan's steps are played (a create: the provider's Create call; an import: its Read).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from mlops_infra.apply.adoption import check
from mlops_infra.endpoint_tags import KEPT_TAG_PREFIX
from mlops_infra.plan.model import Action
from mlops_infra.program.adopt import ADOPT_ENV
from tests.support.revert_case import CONFIG, MODEL, revert_case, scorer_names

pytestmark = pytest.mark.moto
ROLE = "arn:aws:iam::222222222222:role/serving"
IMAGE = "222222222222.dkr.ecr.eu-west-1.amazonaws.com/fraud:12"


@pytest.fixture(scope="module")
def sagemaker():
    from tests.support.moto_server import client, existing_names_refused, running_moto_server

    with running_moto_server() as url, existing_names_refused():
        yield client("sagemaker", url, "eu-west-1")


@pytest.fixture
def revert(tmp_path: Path, request: pytest.FixtureRequest):
    """(the v13 graph, the v14 graph, the plan of v13 against the state applied at v14), a system name per test."""
    return revert_case(tmp_path, request.node.name, "rev")


_names = scorer_names


def _create_model(sm, name: str) -> None:
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})


def _create_config(sm, name: str, model: str) -> None:
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "primary", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.g5.xlarge"}])


def _after_a_finished_rollout(sm, v13, v14) -> str:
    """SageMaker after 14's rollout finished: the endpoint on 14's config, 13's model and config kept (tagged with
    the version that left them, as the driver's ``_keep`` does); returns the endpoint's ARN."""
    old, new = _names(v13), _names(v14)
    for names in (old, new):
        _create_model(sm, names[MODEL])
        _create_config(sm, names[CONFIG], names[MODEL])
    endpoint = new["aws:sagemaker/endpoint:Endpoint"]
    arn = sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=new[CONFIG])["EndpointArn"]
    sm.add_tags(ResourceArn=arn, Tags=[
        {"Key": f"{KEPT_TAG_PREFIX}config:{old[CONFIG]}", "Value": "14"},
        {"Key": f"{KEPT_TAG_PREFIX}model:{old[MODEL]}", "Value": "14"},
        {"Key": f"{KEPT_TAG_PREFIX}config:{endpoint[:40]}-rollout-v14-0000abcd", "Value": "14"}])
    return arn


def _play_up(sm, plan, graph, ids: dict[str, str]) -> None:
    """The provider calls ``pulumi up`` makes for the plan's models and configs: an import reads the object
    (``DescribeModel``/``DescribeEndpointConfig``), anything else is the create."""
    by_urn = graph.by_urn()
    for change in sorted(plan.changes, key=lambda c: c.type != MODEL):  # the config refers to the model
        if change.type not in (MODEL, CONFIG) or change.action not in (Action.CREATE, Action.REPLACE):
            continue
        name = by_urn[change.urn].inputs["name"]
        if change.urn in ids:
            assert ids[change.urn] == name
            (sm.describe_model(ModelName=name) if change.type == MODEL
             else sm.describe_endpoint_config(EndpointConfigName=name))
        elif change.type == MODEL:
            _create_model(sm, name)
        else:
            _create_config(sm, name, _names(graph)[MODEL])


def test_the_plan_creates_the_kept_names_again(revert) -> None:
    """The audit's plan: 13's model and config are replaced under the names of the kept objects."""
    v13, _, plan = revert
    names = _names(v13)
    replaced = {c.type: c.action for c in plan.changes if c.type in (MODEL, CONFIG)}
    assert replaced == {MODEL: Action.REPLACE, CONFIG: Action.REPLACE}
    assert "-v13-" in names[MODEL]


def test_without_adoption_up_fails_at_create_model(revert, sagemaker) -> None:
    """What the audit ran: the provider's CreateModel of the kept name."""
    v13, v14, plan = revert
    _after_a_finished_rollout(sagemaker, v13, v14)
    with pytest.raises(ClientError, match="Cannot create already existing model"):
        _play_up(sagemaker, plan, v13, {})


def test_apply_adopts_the_kept_model_and_config_and_up_succeeds(revert, sagemaker) -> None:
    v13, v14, plan = revert
    arn = _after_a_finished_rollout(sagemaker, v13, v14)
    names = _names(v13)
    said: list[str] = []

    adoption = check(plan, v13, "eu-west-1", said.append, sagemaker=sagemaker)

    urns = {c.type: c.urn for c in plan.changes if c.type in (MODEL, CONFIG)}
    assert adoption.ids == {urns[MODEL]: names[MODEL], urns[CONFIG]: names[CONFIG]}
    assert json.loads(adoption.env[ADOPT_ENV]) == adoption.ids
    assert f"endpoints.scorer: version 13's model {names[MODEL]} already exists in SageMaker (kept by the last " \
           "rollout, from now on the stack's): adopted (Pulumi import), not created" in said
    assert any(names[CONFIG] in line and "endpoint config" in line for line in said), said
    kept = {t["Key"] for t in sagemaker.list_tags(ResourceArn=arn)["Tags"] if t["Key"].startswith(KEPT_TAG_PREFIX)}
    assert kept == {f"{KEPT_TAG_PREFIX}config:{_names(v14)['aws:sagemaker/endpoint:Endpoint'][:40]}"
                    "-rollout-v14-0000abcd"}, kept  # only what the state adopts is no longer the driver's
    _play_up(sagemaker, plan, v13, adoption.ids)  # the import reads them: nothing is created again


def test_a_new_version_is_created_as_before(revert, sagemaker) -> None:
    """Nothing of that name exists (a version never rolled out here): not adopted, no tag touched."""
    v13, _, plan = revert
    said: list[str] = []

    adoption = check(plan, v13, "eu-west-1", said.append, sagemaker=sagemaker)

    assert adoption.ids == {} and adoption.env == {} and said == []
    _play_up(sagemaker, plan, v13, adoption.ids)


class _Refusing:
    """A SageMaker client whose reads are refused (AccessDenied), as a role without sagemaker:DescribeModel."""

    def _refused(self, **_: object) -> None:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "DescribeModel")

    describe_model = describe_endpoint_config = _refused


def test_a_read_refused_is_said_and_nothing_is_adopted(revert) -> None:
    v13, _, plan = revert
    said: list[str] = []

    adoption = check(plan, v13, "eu-west-1", said.append, sagemaker=_Refusing())

    assert adoption.ids == {} and len(said) == 2
    assert all("could not check whether" in line and "AccessDeniedException" in line
               and "Pulumi creates it as planned" in line for line in said), said
