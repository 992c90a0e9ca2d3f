"""The MLflow registry read looks a served version up in the registered model it is a version of (left43a, the
Kubernetes side of stop 42's "Registry views" noticed-and-left).

MLflow numbers each registered model's versions from 1 ("Each new model registered to the same model name
increments the version number": MLflow "MLflow Model Registry", "Concepts"), so ``old-churn`` v4 is not
``churn-model`` v4. The quickstart's ``churn-api`` pins ``churn-model`` v1 and, per the prior state's
InferenceService annotation (``RegistryView.serving_models``), served ``old-churn`` v4 before the switch: the
version an apply may hold and whose artifacts KServe downloads until the switch rolls out. Before, both the versions
the read locates (``pinned_or_served``: ``GetModelVersionDownloadUri`` for an undownloadable source) and the
undownloadable-source warnings (``source_warnings``) took v4 for a version of ``churn-model``.
"""

from __future__ import annotations

from pathlib import Path

from mlops_infra.model_versions import ModelRegistry, RegistryView, VersionRecord
from mlops_infra.state.mlflow_registry import pinned_or_served, source_warnings
from tests.scenarios.harness import load_file

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart" / "mlsystem.yaml"
UNDOWNLOADABLE = "models:/m-0123"
DOWNLOADABLE = "s3://another-pipeline-bucket/exports/churn/"


def _registry(model: str, records: dict[int, str]) -> ModelRegistry:
    return ModelRegistry(model, f"MLflow registered model {model}", "registry", True,
                         {v: VersionRecord(v, "Approved", "Completed", artifact_uri=uri) for v, uri in records.items()})


def _switched(old: dict[int, str], new: dict[int, str]) -> RegistryView:
    return RegistryView({"old-churn": _registry("old-churn", old), "churn-model": _registry("churn-model", new)},
                        {"churn-api": 4}, serving_models={"churn-api": "old-churn"})


def test_the_served_version_is_located_in_the_old_models_registry():
    system = load_file(QUICKSTART, "dev")
    assert pinned_or_served(system, _switched({}, {})) == {"churn-model": {1}, "old-churn": {4}}
    assert pinned_or_served(system, RegistryView({}, {"churn-api": 4})) == {"churn-model": {1, 4}}  # no model named


def test_the_source_warning_names_the_served_models_version():
    system = load_file(QUICKSTART, "dev")
    (warning,) = source_warnings(system, _switched({4: UNDOWNLOADABLE}, {1: DOWNLOADABLE}))
    assert f"endpoint churn-api: old-churn v4's MLflow source {UNDOWNLOADABLE!r} is not a URI" in warning, warning
    # the new model's own v4 is nobody's: no warning for it
    assert source_warnings(system, _switched({4: DOWNLOADABLE}, {1: DOWNLOADABLE, 4: UNDOWNLOADABLE})) == ()
