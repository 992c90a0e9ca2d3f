"""closing-36c-3: a not-ready resource that also has a planned change is counted in ``summary.notReady``
and listed in the text and Markdown "Not ready" section/row, as docs/plan-json.md and the schema say
("whether or not a change is planned for them"), also in a saved plan read back."""

from __future__ import annotations

import json

from mlops_infra.plan.model import Action, Plan, Reason, ResourceChange
from mlops_infra.plan.readiness import marked
from mlops_infra.render.human import render_text
from mlops_infra.render.json import render_json
from mlops_infra.render.markdown import render_markdown
from tests.plan.test_readiness import AVAILABLE, TIMED_OUT, deployment, judged, plan_of


def _updated_not_ready() -> Plan:
    res = deployment(AVAILABLE, TIMED_OUT)
    changed = ResourceChange(res.urn, res.type, "scorer", Action.UPDATE,
                             Reason("property-changed", "spec.template can be updated in place"))
    (updated,) = marked((changed,), judged(res))
    assert updated.action is Action.UPDATE and updated.reason.code == "property-changed"
    return plan_of(updated)


def test_an_updated_not_ready_resource_is_counted_and_listed_in_every_format() -> None:
    plan = _updated_not_ready()
    assert plan.not_ready == 1
    data = json.loads(render_json(plan))
    assert data["summary"]["notReady"] == 1
    assert data["summary"]["change"] == 1
    text = render_text(plan)
    section = text[text.index("Not ready: "):]
    assert "1 resource read live is not ready" in section
    assert "scorer (kubernetes:apps/v1:Deployment)  [~ planned below]" in section
    markdown = render_markdown(plan)
    assert "### Not ready" in markdown
    assert "| **Not ready** | **1 resource** read live (see Not ready) |" in markdown
    nr = markdown[markdown.index("### Not ready"):]
    assert "**scorer**" in nr and "planned below" in nr and "ProgressDeadlineExceeded" in nr


def test_a_saved_plan_read_back_still_counts_it() -> None:
    plan = _updated_not_ready()
    again = Plan.from_json(json.loads(render_json(plan)))
    assert again.not_ready == 1
