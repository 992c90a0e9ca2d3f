"""The reference system with one thing removed, and the plan of that removal (audit "removal").

``REFERENCE_TEXT`` is the reference document; :func:`without_feature_snapshots`,
:func:`without_training_job` and :func:`without_capture` are the audit's ``fraud-nofs.yaml``,
``fraud-nojob.yaml`` and ``fraud-nocapture.yaml`` (``/tmp/audit-removal/``) as edits of it.
:func:`removal_plan` plans the edited document against the state applying the reference would leave
(:func:`tests.support.applied_state.applied_state`, the scenarios' builder).
"""

from __future__ import annotations

from mlops_infra.compile import compile_system
from mlops_infra.graph import DesiredGraph
from mlops_infra.plan.model import Plan
from mlops_infra.plan.planner import make_plan
from mlops_infra.spec import parse_system
from mlops_infra.state.model import PriorState
from mlops_infra.state.pulumi_state import parse_state
from tests.support.applied_state import applied_state, dumps
from tests.support.shared_files import REFERENCE
from tests.support.text_edits import edit

REFERENCE_TEXT = REFERENCE.read_text(encoding="utf-8")

_FEATURE_SNAPSHOTS = """  - name: feature-snapshots
    kind: object_store
    encryption: kms
    retention: 90d
"""
_TRAINING_JOBS = REFERENCE_TEXT[REFERENCE_TEXT.index("training_jobs:\n"):REFERENCE_TEXT.index("# The model registry")]


def without_feature_snapshots(text: str = REFERENCE_TEXT) -> str:
    """The reference without its protected ``feature-snapshots`` data source (nor the job's output to it)."""
    text = edit(text, _FEATURE_SNAPSHOTS, "")
    return edit(text, "    outputs: [feature-snapshots]\n", "")


def without_training_job(text: str = REFERENCE_TEXT) -> str:
    """The reference without its only training job ("we stopped retraining, keep serving v12"); the
    model then names where versions registered elsewhere are (validate asks for it)."""
    text = edit(text, _TRAINING_JOBS, "")
    text = edit(text, "    approval: manual                # manual | automatic\n",
                "    approval: manual\n    artifacts_uri: s3://fraud-models-222222222222/fraud-model/\n")
    # a bucket is in one region: staging (us-east-1) reads its own (validate's artifacts-uri-region, audit envs-4)
    return edit(text, "      endpoints.scorer.model.version: 13\n", "      endpoints.scorer.model.version: 13\n"
                "      models.fraud-model.artifacts_uri: s3://fraud-models-us-east-1-111111111111/fraud-model/\n")


_DRIFT_MONITOR = """  - name: drift
    endpoint: scorer
    metric: feature_drift           # feature_drift | prediction_drift | data_quality | accuracy | latency_p99 | error_rate
    baseline: transactions
    threshold: 0.2
    schedule: 1h
"""
_DRIFT_ALERT = """  - name: fraud-drift
    monitor: drift
    for: 2h
    severity: warning               # info | warning | critical
    notify: [ml-team]
"""


def without_capture(text: str = REFERENCE_TEXT) -> str:
    """The reference without request capture, its drift monitor and that monitor's alert (and the
    training trigger on it, when the job is there)."""
    if "      on_alerts: [fraud-drift]      # retrain when this alert fires\n" in text:
        text = edit(text, "      on_alerts: [fraud-drift]      # retrain when this alert fires\n", "")
    text = edit(text, "    capture: {sample_percent: 20}   # request/response capture, needed by drift monitors\n", "")
    return edit(edit(text, _DRIFT_MONITOR, ""), _DRIFT_ALERT, "")


def graph_of(text: str, env: str) -> DesiredGraph:
    loaded = parse_system(text, "mlsystem.yaml", env)
    assert loaded.system is not None, [(d.summary, d.detail) for d in loaded.diagnostics]
    return compile_system(loaded.system, env)


def applied(text: str, env: str) -> PriorState:
    """The state ``pulumi up`` of ``text`` in ``env`` leaves."""
    return parse_state(dumps(applied_state(graph_of(text, env))), "applied")


def removal_plan(desired: str, env: str = "prod", before: str = REFERENCE_TEXT) -> Plan:
    return make_plan(graph_of(desired, env), applied(before, env))
