"""A version copied into the models bucket is served only once an MLflow version names the copy as its source.

audit closing-34c-1: docs/compile-kubernetes.md 3.5 said an ``artifacts_uri`` bucket the
``mlops-object-store`` credentials cannot read could be fixed by "copy the versions into the models
bucket". For a model no training job here registers, :func:`mlops_infra.compile.kubernetes.artifacts.storage_uri`
is the version's MLflow ``source`` when KServe downloads it, else ``<artifacts_uri><version>/``: never
the models bucket because a copy sits there (compile is pure). A registered version's ``source`` is set
once, at CreateModelVersion; UpdateModelVersion takes only name, version and description (MLflow REST
API ``update-modelversion``; mlflow 2.14.1 ``mlflow_update_model_version(name, version, description)``).
So the way out is a NEW version whose source is the copy, pinned; that is what these tests and the docs
pin. They also check the upgrade note: an InferenceService applied before e2b4a3d from the models
bucket moves to ``<artifacts_uri><version>/`` and the plan shows it as a storage URI update.
"""

from __future__ import annotations

from pathlib import Path

from mlops_infra.compile import compile_system
from mlops_infra.plan.model import Action
from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.state.pulumi_state import parse_state
from tests.compile.kubernetes.test_serving_artifacts import (
    QUICKSTART_ARTIFACTS,
    _quickstart,
    _served_uri,
    _view,
)
from tests.support.applied_state import applied_state, dumps, edit_resource

DOCS = Path(__file__).resolve().parents[3] / "docs" / "compile-kubernetes.md"
COPY = "s3://churn-quickstart-dev-models/churn-model/1/"
"""Quickstart dev's models bucket layout for churn-model v1 (the URI served before e2b4a3d)."""
NOT_DOWNLOADED = "mlflow-artifacts:/1/0a1b2c/artifacts/model"


def test_a_copy_in_the_models_bucket_is_served_only_as_a_registered_versions_source():
    for source in (NOT_DOWNLOADED, None):  # the copy exists, v1's source does not name it
        assert _served_uri(compile_system(_quickstart(1), "dev", registry=_view("churn-model", {1: source}))) \
            == f"{QUICKSTART_ARTIFACTS}1/"
    # the documented way out: v2 registered with the copy's folder as source, and pinned
    view = _view("churn-model", {1: NOT_DOWNLOADED, 2: COPY})
    assert _served_uri(compile_system(_quickstart(2), "dev", registry=view)) == COPY


def test_the_docs_name_registering_the_copy_as_the_way_out():
    text = " ".join(DOCS.read_text().split())
    assert "copy the versions into the models bucket" not in text
    assert "**register the copy in MLflow as a new version** whose `source` is the copy's folder" in text
    assert "`MLOPS_MODELS_URI` (serving artifacts" not in text


def test_upgrading_a_hand_copied_models_bucket_version_shows_a_storage_uri_update():
    """The prior InferenceService (applied before e2b4a3d) downloads the models bucket; with v1's
    source not downloadable the next apply serves ``<artifacts_uri>1/``: the plan says so, as an
    update of the storage URI only (same model version), with the revision-restart warning."""
    view = _view("churn-model", {1: NOT_DOWNLOADED})
    graph = compile_system(_quickstart(1), "dev", registry=view)

    def served_from_the_models_bucket(record):
        for key in ("inputs", "outputs"):
            record[key]["spec"]["predictor"]["model"]["storageUri"] = COPY

    old = edit_resource(applied_state(graph), lambda r: r["type"].endswith(":InferenceService"),
                        served_from_the_models_bucket)
    plan = make_plan(graph, parse_state(dumps(old).encode(), "applied"), options=PlanOptions(estimate_cost=False))
    (change,) = [c for c in plan.changes if c.action is not Action.NOOP]
    assert (change.address, change.role, change.action) == ("endpoints.churn-api", "inference-service", Action.UPDATE)
    assert [(a.path, a.before, a.after, a.forces_replacement) for a in change.changes] == [
        ("spec.predictor.model.storageUri", COPY, f"{QUICKSTART_ARTIFACTS}1/", False)]
    assert any("endpoints.churn-api" in w and "without a new model version" in w for w in plan.warnings)
