"""Latency alerts on Knative's real buckets, proved by promtool (audit monitoring-k8s #1).

The queue-proxy's latency histogram has fixed buckets (spec/latency_buckets.py,
``KNATIVE_LATENCY_BUCKETS_MS``) and ``histogram_quantile`` interpolates inside a bucket. These tests
run the compiled rules of the llm-platform example's dev environment in ``promtool test rules``
over traffic recorded on those buckets: a threshold at a bound (5s, 2s) compares exactly, the 4s
the example had (inside 2s..5s) pages on healthy traffic and misses slow traffic, and a rule whose
threshold is moved off its bound fails the generated exactness tests.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes import monitoring
from mlops_infra.compile.kubernetes.rule_tests import (
    RULE_FILE,
    alert_test_bundle,
    kube_target,
    rule_test_files,
    to_yaml,
    values_text,
)
from mlops_infra.spec import load_system
from mlops_infra.spec.latency_buckets import KNATIVE_LATENCY_BUCKETS_MS
from tests.support.prometheus import require

REPO = Path(__file__).resolve().parents[3]
LLM = REPO / "examples" / "llm-platform" / "mlsystem.yaml"
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"
ALERT = "chat-latency-page"
REQUESTS = 1000
"""Requests per 15 s sample."""


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([shutil.which("promtool"), *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          check=False)


def _rules(directory: Path, threshold_seconds: float | None = None) -> None:
    """The llm-platform dev rule file, with chat-latency-page's threshold set to ``threshold_seconds``."""
    system = load_system(LLM, "dev").system
    document = yaml.safe_load(alert_test_bundle(system, "dev", compile_system(system, "dev"))[RULE_FILE])
    for group in document["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == ALERT and threshold_seconds is not None:
                expr, count = re.subn(r"> 5$", f"> {threshold_seconds:g}", rule["expr"])
                assert count == 1, rule["expr"]
                rule["expr"] = expr
    (directory / RULE_FILE).write_text(to_yaml(document))


def _traffic(latencies_ms: dict[float, float]) -> list[dict[str, str]]:
    """The chat predictor's queue-proxy histogram, 10 minutes of ``{latency ms: share}`` of 1,000
    requests per 15 s, on Knative's buckets (a request of ``m`` ms counts in ``le`` > ``m``)."""
    kube = kube_target(load_system(LLM, "dev").system, "dev")
    labels = (f'namespace_name="{kube.namespace}", revision_name="chat-predictor-00001", '
              'service_name="chat-predictor"')
    series = []
    for bound in (*KNATIVE_LATENCY_BUCKETS_MS, "+Inf"):
        per_sample = sum(share * REQUESTS for ms, share in latencies_ms.items() if bound == "+Inf" or ms < bound)
        series.append({"series": f'revision_app_request_latencies_bucket{{{labels}, le="{bound}"}}',
                       "values": values_text([n * per_sample for n in range(41)])})
    return series


def _case(name: str, latencies_ms: dict[float, float], p99: float, fires: bool) -> dict:
    check = {"expr": f'count(ALERTS{{alertname="{ALERT}", alertstate="firing"}})', "eval_time": "10m",
             "exp_samples": [{"labels": "{}", "value": 1}] if fires else []}
    value = {"expr": f'round({monitoring.RECORD}{{mlops_monitor="chat-latency"}}, 0.001)', "eval_time": "10m",
             "exp_samples": [{"labels": ('{mlops_endpoint="chat", mlops_environment="dev", '
                                         'mlops_metric="latency_p99", mlops_monitor="chat-latency", '
                                         'mlops_system="llm-platform", namespace="llm-dev", '
                                         'revision_name="chat-predictor-00001"}'),
                              "value": p99}]}
    return {"name": name, "interval": "15s", "input_series": _traffic(latencies_ms),
            "promql_expr_test": [check, value]}


def _failures(directory: Path, tests: list[dict]) -> str:
    """promtool's failure output of ``tests`` over the rule file in ``directory`` ('' when all pass)."""
    (directory / "tests.yml").write_text(to_yaml({"rule_files": [RULE_FILE], "evaluation_interval": "15s",
                                                  "tests": tests}))
    result = _run("test", "rules", "tests.yml", cwd=directory)
    return "" if result.returncode == 0 else result.stdout + result.stderr


EVERY_REQUEST_AT_2_5S = {2500: 1.0}
"""True p99 2.5 s: no request is slower than 5 s, every one is slower than 2 s."""
A_FEW_AT_4_5S = {1500: 0.975, 4500: 0.025}
"""True p99 4.5 s: 2.5 % of the requests are slower than 2 s and than 4 s, none than 5 s."""


def _alerts_only(tests: list[dict]) -> list[dict]:
    """``tests`` with their alert checks only (the recorded p99 is checked once, with the bound)."""
    return [{**t, "promql_expr_test": t["promql_expr_test"][:1]} for t in tests]


def test_at_a_bound_the_p99_alert_is_exact_both_ways(tmp_path: Path) -> None:
    require("promtool")
    _rules(tmp_path)  # the example's threshold, 5s
    assert _failures(tmp_path, [
        _case("every request at 2.5s, none over 5s: no page", EVERY_REQUEST_AT_2_5S, 4.97, fires=False),
        _case("2.5% at 4.5s, none over 5s: no page", A_FEW_AT_4_5S, 3.8, fires=False),
    ]) == ""
    _rules(tmp_path, 2)
    assert _failures(tmp_path, _alerts_only([
        _case("every request at 2.5s, all over 2s: pages", EVERY_REQUEST_AT_2_5S, 4.97, fires=True),
        _case("2.5% at 4.5s, over 2s: pages", A_FEW_AT_4_5S, 3.8, fires=True),
    ])) == ""


def test_between_two_bounds_the_p99_alert_is_wrong_both_ways(tmp_path: Path) -> None:
    """What ``latency-threshold-off-bucket`` refuses: the example's former 4s (the audit's t.yaml
    and fn.yaml) pages when no request took 4s and misses 2.5 % of them at 4.5s."""
    require("promtool")
    _rules(tmp_path, 4)
    false_page = _failures(tmp_path, _alerts_only([
        _case("no request over 4s: should not page", EVERY_REQUEST_AT_2_5S, 4.97, fires=False)]))
    assert "exp: nil\n        got: {} 1E+00" in false_page
    missed = _failures(tmp_path, _alerts_only([
        _case("2.5% over 4s: should page", A_FEW_AT_4_5S, 3.8, fires=True)]))
    assert "exp: {} 1E+00\n        got: nil" in missed


def test_the_generated_latency_tests_feed_knatives_buckets() -> None:
    system = load_system(FRAUD, "dev").system
    tests = [t for f in rule_test_files(system, "dev").values() for t in f["tests"]]
    latency = [t for t in tests if t["name"].startswith("scorer-latency:")]
    assert latency
    expected = [str(b) for b in KNATIVE_LATENCY_BUCKETS_MS] + ["+Inf"]
    for test in latency:
        les = [re.search(r'le="([^"]+)"', s["series"]).group(1) for s in test["input_series"]]
        revisions = len({re.search(r'revision_name="([^"]+)"', s["series"]).group(1) for s in test["input_series"]})
        assert les == expected * revisions, test["name"]
    names = {t["name"] for t in tests}
    assert "scorer-latency: 0.9% of the requests slower than the threshold does not fire" in names
    assert "scorer-latency: 1.1% of the requests slower than the threshold fires" in names
    assert not any("slower than the threshold" in n for n in names if not n.startswith("scorer-latency:"))


@pytest.mark.parametrize(("moved", "failing"), [
    ("0.26", "scorer-latency: 1.1% of the requests slower than the threshold fires"),
    ("0.24", "scorer-latency: 0.9% of the requests slower than the threshold does not fire"),
])
def test_a_threshold_moved_off_its_bound_fails_the_exactness_tests(tmp_path: Path, moved: str, failing: str) -> None:
    """fraud-detection's scorer-latency is 250ms, a bound: its generated tests put the healthy
    requests in the bucket up to 250ms and the slow ones in the bucket after it. A rule comparing
    with 260ms misses 1.1% of slow requests (p99 read 254.5ms); one comparing with 240ms fires on
    0.9% (p99 read about 250ms)."""
    require("promtool")
    system = load_system(FRAUD, "dev").system
    files = alert_test_bundle(system, "dev", compile_system(system, "dev"))
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert _run("test", "rules", "tests-serving.yml", cwd=tmp_path).returncode == 0
    rules = files[RULE_FILE]
    assert rules.count("> 0.25\n") == 1
    (tmp_path / RULE_FILE).write_text(rules.replace("> 0.25\n", f"> {moved}\n"))
    result = _run("test", "rules", "tests-serving.yml", cwd=tmp_path)
    failed = set(re.findall(r"name: (.*),\n", result.stdout + result.stderr))
    assert result.returncode != 0
    assert failing in failed
