"""A rollback through a Knative route that cannot be programmed is not told as done (closing-41a-4).

k8sroll-4 rolls a step back when its share is not served after ``not_ready_timeout`` (cause
``traffic_not_in_effect``). The route that could not program the step cannot program the rollback either:
knative/serving ``pkg/reconciler/route/route.go`` ``configureTraffic`` (l.468-480) marks the bad target
(``badTarget.MarkBadTrafficTarget``) and returns ("Traffic targets aren't ready, no need to configure Route"), so
the Ingress keeps the last split it was given, and KServe's 0 % names the same targets (kserve v0.15.0
``ksvc_reconciler.go`` ``createKnativeService`` l.128-160). Before, the notice said "version 13 serves all traffic"
and every later pass answered ``none`` ("was rolled back") while the stand-in's route (tests/support/kserve.py
``block_route``: "the old split keeps serving") still gave version 14 its step-1 share. Now the notice says the
rollback is not in effect and the route keeps its last split, and later passes report it (``wait``, the route's
reason quoted) until the route serves the rollback.
"""

from __future__ import annotations

import shutil
import subprocess

import yaml

from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes import alerting as kubernetes_alerting
from mlops_infra.compile.kubernetes import rule_tests
from mlops_infra.compile.kubernetes.rule_tests import kube_target
from mlops_infra.kube import KubeClient
from mlops_infra.rollout import scheduled
from mlops_infra.rollout.runner import reconcile_once
from mlops_infra.rollout.scheduled import notice_facts
from mlops_infra.spec import parse_system
from tests.compile.aws.cases import REFERENCE
from tests.rollout.sim import ScriptedGates, spec
from tests.rollout.test_kserve_not_ready import NAME, NS, driver, serve, status
from tests.rollout.test_kserve_rolled_out import passes_until
from tests.rollout.test_kserve_same_version_apply import routed
from tests.support.prometheus import require

MISSING = 'Revision "scorer-predictor-00001" referenced in traffic not found.'
BLOCKED_FACTS = {"version": "14", "serving_version": "13", "share": "5%", "cause": "traffic_not_in_effect",
                 "detail": "the step's share not in effect after 30m00s (not_ready_timeout 30m00s) (RevisionMissing)"}


def test_a_rollback_the_blocked_route_cannot_program_is_not_told_as_done_and_later_passes_say_so(api, clock, kserve):
    kserve.traffic = True
    serve(KubeClient.from_url(api.url), 14, stable=13)
    passes_until(api, clock, lambda r: status(api).get("in-effect") not in (None, "pending"))  # step 1 bakes
    (v13,), (v14,) = kserve.of_version(NAME, "13", NS), kserve.of_version(NAME, "14", NS)
    kserve.block_route("RevisionMissing", MISSING)
    passes_until(api, clock, lambda r: r.decision.action == "set_traffic")  # step 2: 5%, never programmed
    rolled = passes_until(api, clock, lambda r: r.decision.action == "rollback", limit=40)
    assert routed(api) == [(v14, 2), (v13, 98)]  # the route kept step 1's split: version 14 keeps 2 %

    facts = notice_facts(spec(), rolled.decision.status)
    assert facts == BLOCKED_FACTS
    system = parse_system(REFERENCE.read_text(encoding="utf-8"), str(REFERENCE), "dev").system
    said = kubernetes_alerting.rollback_annotations(kube_target(system, "dev"), system.item("endpoints", NAME), facts)
    description = said["description"]  # what the on-call reads (the rollback alert's annotation)
    assert "serves all traffic" not in description and "version 13 serves" not in description
    assert ("rolled back at 5% of traffic, but the rollback is not in effect: Knative's route cannot be programmed "
            "and keeps the last split it applied (version 14 keeps its share of it)") in description
    assert scheduled.notice_text(system.metadata.name, "dev", NAME, facts) == (said["summary"], description)

    for _ in range(3):  # the route stays blocked: every later pass says so, none says "rolled back" and stops
        clock.sleep(60)
        later = reconcile_once(spec(), driver(api), ScriptedGates(), clock.now)
        assert later.decision.action == "wait", later.decision.message
        assert "but the rollback is not in effect" in later.decision.message
        assert "RevisionMissing: Revision \"scorer-predictor-00001\"" in later.decision.message
        assert routed(api) == [(v14, 2), (v13, 98)]

    kserve.route_blocked = None  # fixed on the cluster: the route programs the rollback
    kserve.catch_up()
    fixed = passes_until(api, clock, lambda r: r.decision.action == "none", limit=5)
    assert "was rolled back" in fixed.decision.message and dict(routed(api)).get(v13) == 100


def test_other_causes_keep_their_description():
    system = parse_system(REFERENCE.read_text(encoding="utf-8"), str(REFERENCE), "dev").system
    facts = dict(rule_tests.ROLLBACK_FACTS)
    said = kubernetes_alerting.rollback_annotations(kube_target(system, "dev"), system.item("endpoints", NAME), facts)
    assert said["description"] == ("Version 14 of endpoint scorer was rolled back at 10% of traffic; version 13 serves "
                                   "all traffic. Cause: alert_fired: scorer-latency 310ms > 250ms.")
    assert scheduled.notice_text("s", "e", NAME, facts)[1] == said["description"]


def test_prometheus_expands_the_blocked_route_description(tmp_path, monkeypatch):
    """The alert's Go template (``eq $labels.cause``) as Prometheus runs it: ``promtool test rules`` of the
    rollback notice tests with this cause's facts."""
    require("promtool")
    monkeypatch.setattr(rule_tests, "ROLLBACK_FACTS", BLOCKED_FACTS)
    system = parse_system(REFERENCE.read_text(encoding="utf-8"), str(REFERENCE), "dev").system
    files = rule_tests.alert_test_bundle(system, "dev", compile_system(system, "dev"))
    for name in (rule_tests.RULE_FILE, rule_tests.ROLLBACK_FILE):
        (tmp_path / name).write_text(files[name])
    expected = yaml.safe_load(files[rule_tests.ROLLBACK_FILE])["tests"][0]["alert_rule_test"][1]
    (alert,) = expected["exp_alerts"]
    assert "but the rollback is not in effect" in alert["exp_annotations"]["description"]
    tested = subprocess.run([shutil.which("promtool"), "test", "rules", rule_tests.ROLLBACK_FILE], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)
    assert tested.returncode == 0, tested.stdout + tested.stderr
