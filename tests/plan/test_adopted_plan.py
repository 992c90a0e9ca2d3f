"""``plan --refresh`` shows a SageMaker model and config the plan creates that already exist as adopted (imported),
not created (audit rolloutaws-7, :mod:`mlops_infra.plan.adopted`): the prod stack applied at version 14 after a
finished rollout from 13, the spec set back to 13. The live read (``DescribeModel``/``DescribeEndpointConfig`` and
the endpoint's kept entries, :mod:`mlops_infra.state.aws_live.existing_objects`) runs on a moto server; the mark
is the change's ``importId`` (terminal, PR comment, JSON), the action stays the replace it is.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from mlops_infra.cli.commands.plan import adoption_preflight
from mlops_infra.endpoint_tags import KEPT_TAG_PREFIX
from mlops_infra.plan.model import Action, Plan
from mlops_infra.render.human import render_text
from mlops_infra.render.markdown import render_markdown
from tests.support.revert_case import CONFIG, ENDPOINT, MODEL, revert_case, scorer_names

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def moto():
    from tests.support.moto_server import client, running_moto_server

    with running_moto_server() as url:
        yield url, client("sagemaker", url, "eu-west-1")


@pytest.fixture
def aws_env(moto, monkeypatch) -> None:
    """What ``plan --refresh`` reads with: the moto server (``AWS_ENDPOINT_URL``) and dummy credentials."""
    from tests.support.moto_server import DUMMY_CREDENTIALS

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto[0])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DUMMY_CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DUMMY_CREDENTIALS["aws_secret_access_key"])


@pytest.fixture
def revert(tmp_path: Path, request: pytest.FixtureRequest):
    """(the v13 graph, the v14 graph, the plan of v13 against the state applied at v14), a system name per test."""
    return revert_case(tmp_path, request.node.name, "adp")


_names = scorer_names


def _kept_in_sagemaker(sm, v13, v14) -> None:
    """13's model and config kept after 14's finished rollout, recorded on the endpoint as the driver does."""
    old, new = _names(v13), _names(v14)
    for names in (old, new):
        sm.create_model(ModelName=names[MODEL], ExecutionRoleArn="arn:aws:iam::222222222222:role/serving",
                        PrimaryContainer={"Image": "222222222222.dkr.ecr.eu-west-1.amazonaws.com/fraud:1"})
        sm.create_endpoint_config(EndpointConfigName=names[CONFIG], ProductionVariants=[{
            "VariantName": "primary", "ModelName": names[MODEL], "InitialInstanceCount": 1,
            "InstanceType": "ml.g5.xlarge"}])
    arn = sm.create_endpoint(EndpointName=new[ENDPOINT], EndpointConfigName=new[CONFIG])["EndpointArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": f"{KEPT_TAG_PREFIX}config:{old[CONFIG]}", "Value": "14"},
                                       {"Key": f"{KEPT_TAG_PREFIX}model:{old[MODEL]}", "Value": "14"}])


@pytest.mark.moto
def test_a_refreshed_plan_shows_the_kept_model_and_config_adopted(revert, moto, aws_env) -> None:
    v13, v14, plan = revert
    _kept_in_sagemaker(moto[1], v13, v14)

    marked = adoption_preflight(plan, v13, 20.0)

    names = _names(v13)
    adopted = {c.type: c for c in marked.changes if c.import_id}
    assert {t: c.import_id for t, c in adopted.items()} == {MODEL: names[MODEL], CONFIG: names[CONFIG]}
    assert all(c.action is Action.REPLACE and c.reason.code == "adopted" for c in adopted.values())
    assert marked.counts == plan.counts  # the URNs still get other objects; the old ones are only forgotten
    assert adopted[MODEL].reason.message.startswith(
        "version 13's model already exists in SageMaker (kept by the last rollout): adopted, not created (Pulumi "
        f"import of {names[MODEL]}")
    [line] = [m for m in marked.ml if m.details.get("adopted")]
    assert (line.address, line.summary) == ("endpoints.scorer", "version 13's model and endpoint config already "
                                            "exist in SageMaker (kept by the last rollout): adopted, not created")
    assert marked.warnings == plan.warnings

    text = render_text(marked)
    assert f"# {adopted[MODEL].reason.message}" in text and line.summary in text
    assert adopted[CONFIG].reason.message in render_markdown(marked)
    data = json.loads(json.dumps(marked.to_json()))
    by_urn = {c["urn"]: c for c in data["resourceChanges"]}
    assert by_urn[adopted[MODEL].urn]["importId"] == names[MODEL]
    assert by_urn[adopted[MODEL].urn]["action"] == "replace"
    assert sum("importId" in c for c in data["resourceChanges"]) == 2
    jsonschema.validate(data, json.loads((REPO / "schemas" / "plan-v1.schema.json").read_text()))
    assert Plan.from_json(data).changes == marked.changes


@pytest.mark.moto
def test_nothing_of_that_name_leaves_the_plan_as_it_was(revert, aws_env) -> None:
    v13, _, plan = revert

    assert adoption_preflight(plan, v13, 20.0) is plan


def test_a_read_that_cannot_be_made_is_a_warning(revert, monkeypatch) -> None:
    v13, _, plan = revert
    monkeypatch.setenv("AWS_ENDPOINT_URL", "not a url")

    marked = adoption_preflight(plan, v13, 20.0)

    assert not any(c.import_id for c in marked.changes)
    assert marked.warnings[len(plan.warnings):] == (
        "could not check whether the SageMaker models and endpoint configs this plan creates already exist "
        "(ValueError); apply checks again and adopts those that do",)
