"""An override with null removes the field (audit envs-3): a channel can change kind in one environment."""

from __future__ import annotations

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.spec import parse_system
from tests.support.text_edits import edit, line_of

DEV_LAST = "      training_jobs.retrain.nodes: 1     # one node fits the dev cluster; a larger run could never be admitted\n"
STAGING_LAST = "      endpoints.scorer.model.version: 13\n"
REMOVE = "      channels.oncall.webhook_url: null\n"
KIND = "      channels.oncall.kind: email\n"
ADDRESS = "      channels.oncall.address: dev-null@example.com\n"


@pytest.mark.parametrize("order", [(REMOVE, KIND, ADDRESS), (KIND, REMOVE, ADDRESS)], ids=["remove-first", "kind-first"])
def test_dev_routes_oncall_to_email_instead_of_the_production_slack_webhook(reference_text: str, order) -> None:
    """The audit's t13.yaml (and t11.yaml's order): both were refused ("Unknown field webhook_url")."""
    text = edit(reference_text, DEV_LAST, DEV_LAST + "".join(order))
    result = parse_system(text, env="dev")
    assert result.ok, [str(d) for d in result.diagnostics if d.is_error]
    graph = compile_system(result.system, "dev")
    [oncall] = [r.inputs["spec"]["receivers"] for r in graph.resources
                if r.type.endswith(":AlertmanagerConfig") and r.name == "channel-oncall"]
    assert oncall == [{"name": "oncall", "emailConfigs": [{"to": "dev-null@example.com", "sendResolved": True}]}]
    assert parse_system(text, env="staging").system.item("channels", "oncall").kind == "slack"  # dev only


def test_on_aws_the_channel_becomes_an_email_subscription_without_a_slack_forwarder(reference_text: str) -> None:
    text = edit(reference_text, STAGING_LAST, STAGING_LAST + KIND + REMOVE
                + "      channels.oncall.address: oncall-staging@example.com\n")
    result = parse_system(text, env="staging")
    assert result.ok, [str(d) for d in result.diagnostics if d.is_error]
    resources = compile_system(result.system, "staging").resources
    [subscription] = [r for r in resources if r.name == "oncall-subscription"]
    assert (subscription.inputs["protocol"], subscription.inputs["endpoint"]) == ("email", "oncall-staging@example.com")
    assert not [r.name for r in resources if "forwarder" in r.name and r.name.startswith("oncall")]


def test_a_required_field_cannot_be_removed(reference_text: str) -> None:
    text = edit(reference_text, DEV_LAST, DEV_LAST + REMOVE)
    [d] = [d for d in parse_system(text, env="dev").diagnostics if d.is_error]
    assert d.code == "missing-field"
    assert d.location.line == line_of(text, REMOVE)
    assert d.summary == 'Override "channels.oncall.webhook_url: null" removes the required field "webhook_url"'
    assert d.detail.startswith("In environment dev: In an override, null removes the field")


def test_null_reaches_another_kinds_field_only_to_remove_it(reference_text: str) -> None:
    """A field no kind of channel has is still unknown; a value for another kind's field is still
    refused while the channel is of its own kind (only removal looks at every kind)."""
    text = edit(reference_text, DEV_LAST, DEV_LAST + "      channels.oncall.adress: null\n")
    [d] = [d for d in parse_system(text, env="dev").diagnostics if d.is_error]
    assert (d.code, d.summary) == ("unknown-override-path", 'Override path "channels.oncall.adress": unknown field '
                                                             '"adress"')
    text = edit(reference_text, DEV_LAST, DEV_LAST + ADDRESS)
    assert [d.code for d in parse_system(text, env="dev").diagnostics if d.is_error] == ["unknown-override-path"]


def test_removing_an_optional_field_means_what_null_meant(reference_text: str) -> None:
    """Every field that accepts null defaults to None (no field's null means anything else), so a
    document that validated before means the same: endpoints.scorer.accelerator: null with an
    instance_type, as the audit checked."""
    text = edit(reference_text, STAGING_LAST, STAGING_LAST + "      endpoints.scorer.accelerator: null\n"
                "      endpoints.scorer.instance_type: ml.c5.xlarge\n")
    scorer = parse_system(text, env="staging").system.endpoints[0]
    assert (scorer.accelerator, scorer.instance_type) == (None, "ml.c5.xlarge")


def test_no_field_gives_null_a_meaning_of_its_own() -> None:
    """Null removes a field, which is the same document as before only because every field that
    accepts null defaults to None: a field whose null meant something else ("no limit") would change
    meaning. This keeps it so."""
    import types
    import typing

    from pydantic import BaseModel

    from mlops_infra.spec.system import MLSystem

    def models(annotation) -> list:
        found = [annotation] if isinstance(annotation, type) and issubclass(annotation, BaseModel) else []
        return found + [m for arg in typing.get_args(annotation) for m in models(arg)]

    seen: set = set()
    todo, odd = [MLSystem], []
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            union = typing.get_origin(field.annotation) in (typing.Union, types.UnionType)
            if union and type(None) in typing.get_args(field.annotation) and field.default is not None:
                odd.append(f"{model.__name__}.{name}")
            todo += models(field.annotation)
    assert len(seen) > 20 and odd == []
