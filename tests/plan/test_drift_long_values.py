"""A long value's drift summary shows where it changed (audit refresh-5): ``_fmt`` cuts every value to 57
characters plus "...", so a PrometheusRule ``expr`` whose threshold was edited at its end read
"X... -> X..." in the summary the ML changes section and the Markdown comment list."""

from __future__ import annotations

from mlops_infra.plan.drift import _Change, _phrase

EXPR = "max without (revision_name) (mlops:monitor_value{mlops_system=\"fraud\",monitor=\"churn-quality\"})"


def test_two_long_values_that_differ_past_the_cut_show_the_difference() -> None:
    before, after = f"{EXPR} > 0.05", f"{EXPR} > 1000 * 0.05"
    text = _phrase(_Change("spec.groups[0].rules[0].expr", "spec expr", before, after), "spec")
    shown_before, shown_after = text.removeprefix("spec expr ").split(" -> ")
    assert shown_before != shown_after
    assert "> 0.05" in shown_before and "> 1000 * 0.05" in shown_after
    assert len(shown_before) <= 60 and len(shown_after) <= 60


def test_short_values_and_values_that_differ_early_read_as_before() -> None:
    assert _phrase(_Change("threshold", "threshold", 250000, 2500000), "threshold") == "threshold 250000 -> 2500000"
    early = _phrase(_Change("x", "x", "a" + "b" * 80, "c" + "b" * 80), "x")
    assert early == f"x {'a' + 'b' * 56}... -> {'c' + 'b' * 56}..."
