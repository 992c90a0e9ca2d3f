"""The PR-comment renderer: marker, summary and cost first, details per item, the size limit."""

from __future__ import annotations

import re

from mlops_infra.render.common import group_changes
from mlops_infra.render.markdown import GITHUB_COMMENT_LIMIT, _details, marker, render_markdown
from tests.support.markdown import fences_balanced

from .sample_plans import changes_plan, drift_items, empty_plan, huge_plan


def test_marker_first_then_title_with_counts() -> None:
    text = render_markdown(changes_plan())
    lines = text.splitlines()
    assert lines[0] == "<!-- mlops-infra-plan: fraud-detection/staging -->" == marker(changes_plan())
    assert lines[1] == "## mlops-infra plan: `fraud-detection` / `staging`"
    assert "**Plan: 1 to add, 1 to change, 1 to replace, 1 to destroy.**" in text


def test_summary_and_cost_come_before_ml_drift_and_details() -> None:
    text = render_markdown(changes_plan(drift=drift_items(), refreshed=True))
    order = [text.index(s) for s in ("| **Changes** |", "| **Monthly cost** |", "### Cost", "### ML changes",
                                     "### Drift", "### Resource changes")]
    assert order == sorted(order)
    assert "| **Monthly cost** | $2,058.60 to $10,293.00 &rarr; $2,211.90 to $11,059.50 (**+$153.30 to +$766.50**) |" in text
    assert "| `endpoints.scorer` | 2-10 replicas x ml.g5.2xlarge | $2,058.60 | $2,211.90 | +$153.30 |" in text


def test_details_per_item_with_diff_blocks() -> None:
    text = render_markdown(changes_plan())
    assert "<details><summary><code>endpoints.scorer</code>: 1 to change, 1 to replace</summary>" in text
    assert "```diff\n" in text
    assert '!     productionVariants[0].instanceType: "ml.g5.xlarge" -> "ml.g5.2xlarge"  # forces replacement' in text
    assert "+     secretString: (sensitive)" in text
    assert "-   alarm fraud-detection-staging-latency" in text
    assert fences_balanced(text)


def test_no_changes() -> None:
    text = render_markdown(empty_plan())
    assert "**No changes. Your ML system matches the desired state.**" in text
    assert "<details>" not in text


def test_drift_not_checked_without_refresh() -> None:
    assert "not checked (plan with `--refresh`" in render_markdown(changes_plan())


def test_huge_plan_stays_under_the_limit_with_a_note() -> None:
    plan = huge_plan()
    text = render_markdown(plan, command="mlops-infra plan mlsystem.yaml --env staging --format text")
    assert len(text) <= GITHUB_COMMENT_LIMIT
    assert len(text) > GITHUB_COMMENT_LIMIT * 0.9  # it uses the room it has
    assert fences_balanced(text)
    assert text.count("<details>") == text.count("</details>")
    kept = text.count("<details><summary>")
    note = re.search(r"The resource details of (\d+) of 400 ML items were left out", text)
    assert note and int(note.group(1)) == 400 - kept
    assert "`mlops-infra plan mlsystem.yaml --env staging --format text`" in text
    # the summary survives
    assert "**Plan: 0 to add, 2400 to change, 0 to replace, 0 to destroy.**" in text
    # kept details stay in address order
    kept_addresses = re.findall(r"<summary><code>(endpoints\.item\d+)</code>", text)
    assert kept_addresses == sorted(kept_addresses)


def test_largest_details_are_cut_first() -> None:
    plan = huge_plan(items=40)
    sizes = {group.address: len(block) for group, block in _details(group_changes(plan.changes))}
    text = render_markdown(plan, max_chars=30000)
    kept = set(re.findall(r"<summary><code>(endpoints\.item\d+)</code>", text))
    dropped = set(sizes) - kept
    assert kept and dropped
    assert max(sizes[a] for a in kept) <= min(sizes[a] for a in dropped)
    assert len(text) <= 30000 and fences_balanced(text)


def test_tiny_limit_shortens_lists_and_never_breaks_a_block() -> None:
    for limit in (20000, 5000, 2500, 1200):
        text = render_markdown(huge_plan(items=100), max_chars=limit)
        assert len(text) <= limit, limit
        assert fences_balanced(text)
        assert text.startswith("<!-- mlops-infra-plan: fraud-detection/staging -->\n")


def test_markdown_special_characters_are_escaped() -> None:
    plan = changes_plan(warnings=("a <script> | pipe",))
    text = render_markdown(plan)
    assert "<script>" not in text
    assert "&lt;script> \\| pipe" in text


def test_deterministic() -> None:
    assert render_markdown(huge_plan(items=50)) == render_markdown(huge_plan(items=50))


def test_short_fence_is_the_searched_fence() -> None:
    """fenced's shortcut (three backticks when the joined lines hold no run of three) gives the
    block the search per line gives (the shortcuts off)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from mlops_infra.render.markdown import fenced
    from tests.render.test_common import render_slow

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.text(st.sampled_from("`a\n "), max_size=10), max_size=6))
    def check(lines) -> None:
        fast = fenced("diff", lines)
        with render_slow():
            assert fenced("diff", lines) == fast

    check()
