"""What the examples' runtime (``examples/runtime/mlops_entry``) reads of a job's data sources, on both targets.

- Outputs (audit datasources-2): ``Contract.outputs`` maps each output data source to its
  ``s3://<bucket>/``, from ``MLOPS_OUTPUT_<SOURCE>``: on Kubernetes the PyTorchJob template's env, on
  SageMaker the Train step's ``Environment`` (before the fix nothing named the outputs there, and a
  script reading the variable failed with a KeyError). The environments are taken from the compiled
  graphs, and the runtime writes to the URI it read, on a moto server.
- Inputs: one channel per data source under ``/opt/ml/input/data/<source>`` on SageMaker,
  ``MLOPS_INPUT_<SOURCE>`` on Kubernetes, both keyed by the data source's name.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.spec import load_system
from tests.support import fixtures
from tests.support.moto_server import client

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "fraud-detection" / "mlsystem.yaml"
sys.path.insert(0, str(ROOT / "examples" / "runtime"))
from mlops_entry.contract import Contract  # noqa: E402
from mlops_entry.objects import upload_folder  # noqa: E402

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


@pytest.fixture()
def s3_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3 takes credentials from the process environment (the container's), not the contract's dict."""
    for name, value in S3_ENV.items():
        monkeypatch.setenv(name, value)


def _graph(env: str):
    loaded = load_system(EXAMPLE, env)
    assert loaded.system is not None
    return compile_system(loaded.system, env)


def sagemaker_step() -> dict:
    (step,) = [s for r in _graph("staging").resources if r.type == "aws:sagemaker/pipeline:Pipeline"
               for s in r.inputs["pipelineDefinition"]["$json"]["Steps"] if s["Name"] == "Train"]
    return step["Arguments"]


def kubernetes_env() -> dict[str, str]:
    (config,) = [r for r in _graph("dev").resources if r.type == "kubernetes:core/v1:ConfigMap"
                 and r.inputs["metadata"]["name"] == "train-retrain"]
    template = json.loads(config.inputs["data"]["pytorchjob.json"])
    container = template["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]
    from tests.support.training_operator import JOB_NAME_LABEL, kubelet_env

    return kubelet_env(container, {JOB_NAME_LABEL: "retrain-0123456789"})  # as the pod of a run sees it


def sagemaker_contract(tmp_path: Path, step: dict) -> Contract:
    """The contract a SageMaker container of ``step`` reads: /opt/ml laid out as SageMaker does, and the
    step's ``Environment`` (the ``TriggeredBy`` parameter resolved, as SageMaker does at run time)."""
    root = tmp_path / "opt-ml"
    (root / "input" / "config").mkdir(parents=True)
    (root / "input" / "config" / "hyperparameters.json").write_text(json.dumps(step["HyperParameters"]))
    for channel in step["InputDataConfig"]:
        (root / "input" / "data" / channel["ChannelName"]).mkdir(parents=True)
    environ = {k: v if isinstance(v, str) else "schedule" for k, v in step["Environment"].items()}
    return Contract.from_environment({**environ, "MLOPS_SAGEMAKER_ROOT": str(root)})


def test_the_runtime_reads_the_outputs_and_inputs_on_sagemaker(tmp_path: Path) -> None:
    contract = sagemaker_contract(tmp_path, sagemaker_step())
    assert contract.target == "sagemaker"
    assert contract.outputs == {"feature-snapshots": "s3://fraud-detection-staging-feature-snapshots-111111111111/"}
    assert contract.inputs == {"transactions": str(tmp_path / "opt-ml" / "input" / "data" / "transactions")}


def test_the_runtime_reads_the_outputs_and_inputs_on_kubernetes(tmp_path: Path) -> None:
    env = kubernetes_env()
    contract = Contract.from_environment({**env, "MLOPS_WORK_DIR": str(tmp_path)})
    assert contract.target == "kubernetes"
    assert contract.outputs == {"feature-snapshots": env["MLOPS_OUTPUT_FEATURE_SNAPSHOTS"]}
    assert contract.inputs == {"transactions": env["MLOPS_INPUT_TRANSACTIONS"]}
    assert set(contract.outputs) == set(sagemaker_contract(tmp_path, sagemaker_step()).outputs)


@pytest.mark.moto
def test_a_job_writes_its_output_where_the_contract_says_on_both_targets(tmp_path: Path, moto_url: str, s3_credentials: None) -> None:
    s3 = client("s3", moto_url)
    for target, contract in (("sagemaker", sagemaker_contract(tmp_path / "sm", sagemaker_step())),
                             ("kubernetes", Contract.from_environment({**kubernetes_env(),
                                                                       "MLOPS_WORK_DIR": str(tmp_path / "k8s")}))):
        uri = contract.outputs["feature-snapshots"]
        bucket = uri.removeprefix("s3://").rstrip("/")
        s3.create_bucket(Bucket=bucket)
        folder = tmp_path / target / "snapshot"
        folder.mkdir(parents=True)
        (folder / "features.csv").write_text("merchant_id,score\nm-1,0.5\n")
        upload_folder(folder, uri + "dt=2026-12-06/", {**S3_ENV, "AWS_ENDPOINT_URL": moto_url})
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
        assert keys == ["dt=2026-12-06/features.csv"], target
