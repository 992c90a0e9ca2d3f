"""The terminal renderer: symbols, section order, drift first, closing line, no-ops hidden, colour."""

from __future__ import annotations

import re

import pytest

from mlops_infra.plan.model import Action, AttributeChange, Reason, ResourceChange
from mlops_infra.render.human import NO_CHANGES, render_text
from mlops_infra.render.safety import UnsafePlanError

from .sample_plans import changes_plan, drift_items, empty_plan, urn


def test_closing_line_is_the_counts_sentence() -> None:
    plan = changes_plan()
    text = render_text(plan)
    assert text.endswith("Plan: 1 to add, 1 to change, 1 to replace, 1 to destroy.\n")
    assert text.splitlines()[-1] == plan.counts.sentence()


def test_no_changes_says_so_and_nothing_else_is_listed() -> None:
    text = render_text(empty_plan())
    assert text.splitlines()[-1] == NO_CHANGES
    assert "Resource changes" not in text
    assert "transactions" not in text  # the no-op resource is hidden


def test_action_symbols_and_property_changes() -> None:
    text = render_text(changes_plan())
    lines = text.splitlines()
    assert any(re.match(r"^\s+\+ secret oncall-webhook \(aws:secretsmanager/secret:Secret\)$", ln) for ln in lines)
    assert any(re.match(r"^\s+- alarm fraud-detection-staging-latency ", ln) for ln in lines)
    assert any(re.match(r"^\s+~ endpoint fraud-detection-staging-scorer ", ln) for ln in lines)
    assert any(ln.startswith("  -/+ endpoint-config fraud-detection-staging-scorer-1a2b3c") for ln in lines)
    assert ('~ productionVariants[0].instanceType: "ml.g5.xlarge" -> "ml.g5.2xlarge"  # forces replacement'
            in text)
    assert "+ secretString: (sensitive)" in text
    assert "-> (known after apply)" in text
    assert "fraud-detection-staging-transactions" not in text  # no-op hidden


def test_changes_are_grouped_by_ml_item_with_reasons() -> None:
    text = render_text(changes_plan())
    assert "# endpoints.scorer  (1 to change, 1 to replace)" in text
    assert "# monitors.latency  (1 to destroy)" in text
    assert "must be replaced: endpoint configs are immutable; a new one is created first" in text
    # the component's ML facts are told by the ML changes section, not as a resource
    assert "component scorer" not in text and "mlops:serving:Endpoint" not in text
    # spec order: endpoints before monitors before channels
    assert text.index("# endpoints.scorer") < text.index("# monitors.latency") < text.index("# channels.oncall")


def test_drift_comes_first_then_ml_then_cost_then_changes() -> None:
    text = render_text(changes_plan(drift=drift_items(), refreshed=True))
    order = [text.index(s) for s in ("Drift: 1 resource changed", "ML changes", "Cost", "Resource changes",
                                     "Plan: ")]
    assert order == sorted(order)
    assert '~ tags.owner: "risk-ml" (last applied) -> "someone-else" (live)' in text


def test_drift_section_only_when_refreshed_or_present() -> None:
    assert "Drift" not in render_text(changes_plan())
    assert "Drift: none. Live resources match the last applied state." in render_text(changes_plan(refreshed=True))


def test_header_names_project_stack_target_and_notes() -> None:
    text = render_text(changes_plan(), notes=["Prior state: prior.json (12 resources)"])
    head = text.splitlines()[:4]
    assert head[0] == "mlops-infra plan: fraud-detection / staging"
    assert head[1] == "Target:  aws us-east-1, account 111111111111"
    assert "Prior state: prior.json (12 resources)" in head


def test_cost_before_after_delta_rollout_extra_and_source() -> None:
    text = render_text(changes_plan())
    assert "before  $2,058.60 to $10,293.00" in text
    assert "after   $2,211.90 to $11,059.50" in text
    assert "change  +$153.30 to +$766.50" in text
    assert "rollout extra  at least $42.50 one-off (at min replicas: see the notes)" in text
    assert "Prices: SageMaker on-demand prices, us-east-1 (FMBench pricing.yml, 2025-01-26)" in text


def test_rollout_stages_are_spelled_out() -> None:
    assert "stages: 2% -> 5% -> 10% -> 25% -> 75% -> 100%, 10m bake at each" in render_text(changes_plan())


def test_warnings_are_shown() -> None:
    text = render_text(changes_plan(warnings=("live reads are not supported for Kubernetes targets yet",)))
    assert "Warning: live reads are not supported for Kubernetes targets yet" in text


def test_sensitive_change_never_prints_its_value_even_if_unredacted() -> None:
    leaky = ResourceChange(urn("x", "s"), "aws:ssm/parameter:Parameter", "s", Action.UPDATE, Reason("r", "changed"),
                           (AttributeChange("value", "old-plain-secret", "new-plain-secret", sensitive=True),),
                           address="channels.oncall", role="param")
    text = render_text(empty_plan(changes=(leaky,)))
    assert "plain-secret" not in text
    assert "~ value: (sensitive) -> (sensitive)" in text


def test_secret_shaped_values_are_refused_not_printed() -> None:
    url = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX"
    leaky = ResourceChange(urn("x", "s"), "aws:sns/topicSubscription:TopicSubscription", "s", Action.CREATE,
                           Reason("new", "new"), (AttributeChange("endpoint", None, url),))
    with pytest.raises(UnsafePlanError) as err:
        render_text(empty_plan(changes=(leaky,)))
    assert url not in str(err.value) + err.value.detail
    assert "Slack webhook URL" in err.value.detail


def test_color_only_when_asked() -> None:
    plain = render_text(changes_plan())
    assert "\x1b[" not in plain
    coloured = render_text(changes_plan(), color=True)
    assert "\x1b[" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured).splitlines() == [ln for ln in plain.splitlines()]


def test_deterministic() -> None:
    assert render_text(changes_plan(drift=drift_items())) == render_text(changes_plan(drift=drift_items()))


def test_plain_lines_are_what_rich_text_makes_of_their_parts() -> None:
    """The plain text joins a line's parts as ``rich.text.Text`` would (control codes stripped,
    styles dropped, trailing blanks cut); colour renders the same characters."""
    from rich.text import Text

    from mlops_infra.render.human import _Lines

    parts = ("  ", ("+", "green"), " name\x07\x08\x0b\x0c\r: ", ("ab", None), ("", "dim"), "  ")
    lines = _Lines()
    lines.add(*parts)
    lines.blank()
    lines.add(("\r", "dim"))
    lines.blank()  # after a line with nothing plain in it, no blank line is added
    lines.add("end")
    expected = Text()
    for part in parts:
        expected.append(*(part,) if isinstance(part, str) else part)
    assert lines.render(color=False, width=100) == expected.plain.rstrip() + "\n\n\nend\n"
    assert re.sub(r"\x1b\[[0-9;]*m", "", lines.render(color=True, width=100)) == expected.plain + "\n\n\nend\n"


def test_the_plain_text_strips_the_control_codes_rich_strips() -> None:
    """render_text's plain lines are stripped without importing rich: the same table as rich's
    ``strip_control_codes`` (what ``Text.append`` does), over every code point."""
    from rich.control import strip_control_codes

    from mlops_infra.render.human import STRIPPED_CONTROL_CODES

    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert every.translate(STRIPPED_CONTROL_CODES) == strip_control_codes(every)


def test_plain_lines_skip_the_table_only_where_it_changes_nothing() -> None:
    """_plain returns a printable text without translate: over every code point (alone and inside a
    line), it gives what translate with the table gives, so every code the table strips is seen."""
    from mlops_infra.render.human import STRIPPED_CONTROL_CODES, _plain

    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        char = chr(c)
        line = ("ab ", ("x" + char, "dim"), " z")
        assert _plain(line) == "".join(p if isinstance(p, str) else p[0] for p in line).translate(STRIPPED_CONTROL_CODES)
        assert _plain((char,)) == char.translate(STRIPPED_CONTROL_CODES)
