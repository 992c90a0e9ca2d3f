"""The reference's training job and serving handler, run for real on CPU with the contract the compilers write.

The container environment is taken from the compiled graph itself (the SageMaker Train step's
hyperparameters, channels and environment; the Kubernetes PyTorchJob template's env), so a change
of the contract in compile/ breaks these tests rather than the user's first run.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="torch is in the test extra")

from mlops_infra.compile import compile_system  # noqa: E402
from mlops_infra.ml.checkpoints import read_checkpoint  # noqa: E402
from mlops_infra.spec import load_system  # noqa: E402
from tests.support.mlflow_server import MlflowRest  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "fraud-detection"
PYTHONPATH = os.pathsep.join([str(ROOT / "examples" / "runtime"), str(EXAMPLE), str(ROOT / "examples" / "llm-platform")])
sys.path[:0] = [str(ROOT / "examples" / "runtime"), str(EXAMPLE)]
from fraud.model import FraudModel  # noqa: E402

PARAMETERS = sum(p.numel() for p in FraudModel().parameters())


def transactions(folder: Path, rows: int = 64) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "part-0.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, ["amount", "merchant_id", "country", "is_fraud"])
        writer.writeheader()
        for i in range(rows):
            writer.writerow({"amount": 10.0 * (i % 13), "merchant_id": f"m-{i % 7}", "country": ["DE", "US", "FR"][i % 3],
                             "is_fraud": "true" if i % 11 == 0 else "false"})


def train_step(env: str = "staging") -> dict:
    system = load_system(EXAMPLE / "mlsystem.yaml", env).system
    graph = compile_system(system, env)
    steps = [s for r in graph.resources if r.type == "aws:sagemaker/pipeline:Pipeline"
             for s in r.inputs["pipelineDefinition"]["$json"]["Steps"]]
    return next(s for s in steps if s["Name"] == "Train")["Arguments"]


def container_env(step: dict) -> dict[str, str]:
    """The Train step's Environment as the container sees it: pipeline parameters
    (``{"Get": "Parameters.TriggeredBy"}``) are resolved by SageMaker at run time."""
    return {k: v if isinstance(v, str) else "schedule" for k, v in step["Environment"].items()}


def run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    full = {**{k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "AWS_"))}, **env,
            "PYTHONPATH": PYTHONPATH, "OMP_NUM_THREADS": "1"}
    command = [sys.executable if command[0] == "python" else command[0], *command[1:]]  # the container's python
    result = subprocess.run(command, env=full, cwd=cwd, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def sagemaker_root(tmp_path: Path, step: dict, extra: dict[str, str]) -> Path:
    """/opt/ml as SageMaker lays it out for this Train step (hyperparameters are strings)."""
    root = tmp_path / "opt-ml"
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps({**step["HyperParameters"], **extra}))
    for channel in step["InputDataConfig"]:
        transactions(root / "input" / "data" / channel["ChannelName"])
    return root


def test_the_training_job_runs_one_step_on_the_sagemaker_contract_and_resumes(tmp_path: Path) -> None:
    step = train_step()
    assert step["AlgorithmSpecification"]["ContainerEntrypoint"] == ["python", "-m", "fraud.train"]
    assert [c["ChannelName"] for c in step["InputDataConfig"]] == ["transactions"]
    root = sagemaker_root(tmp_path, step, {"max_steps": "1"})
    env = {**container_env(step), "MLOPS_SAGEMAKER_ROOT": str(root)}
    run(step["AlgorithmSpecification"]["ContainerEntrypoint"], env, tmp_path)
    model = read_checkpoint(root / "model" / "model.safetensors")  # SageMaker uploads /opt/ml/model
    assert (model.parameters, model.weight_bytes) == (PARAMETERS, PARAMETERS * 4)
    assert json.loads((root / "model" / "config.json").read_text())["steps"] == 1
    assert (root / "checkpoints" / "last.pt").is_file()  # CheckpointConfig's local path on spot
    run(step["AlgorithmSpecification"]["ContainerEntrypoint"], {**env}, tmp_path)  # an interrupted run resumes
    (root / "input" / "config" / "hyperparameters.json").write_text(
        json.dumps({**step["HyperParameters"], "max_steps": "2"}))
    run(step["AlgorithmSpecification"]["ContainerEntrypoint"], env, tmp_path)
    assert json.loads((root / "model" / "config.json").read_text())["steps"] == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("sharding", ["none", "fsdp"])
def test_two_processes_train_together_with_ddp_or_fsdp(tmp_path: Path, sharding: str) -> None:
    step = train_step()
    root = sagemaker_root(tmp_path, step, {"max_steps": "2", "batch_size": "8"})
    port = _free_port()
    procs = []
    for rank in (0, 1):  # what the training operator sets on Kubernetes; SageMaker's resourceconfig gives the same
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")}, **container_env(step),
               "MLOPS_SAGEMAKER_ROOT": str(root), "PYTHONPATH": PYTHONPATH, "OMP_NUM_THREADS": "1",
               "MLOPS_SHARDING": sharding}
        (root / "input" / "config" / "resourceconfig.json").write_text(json.dumps(
            {"current_host": "algo-1", "hosts": ["algo-1", "algo-2"]}))
        env.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        procs.append(subprocess.Popen([sys.executable, "-c", _RANKED.format(rank=rank)], env=env, cwd=tmp_path,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for proc in procs:
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-3000:]
    model = read_checkpoint(root / "model" / "model.safetensors")
    assert model.parameters == PARAMETERS


_RANKED = """
import os
from mlops_entry import contract
original = contract.Contract.from_environment
def ranked(environ=None):
    c = original(environ)
    c.rank, c.world_size, c.master = {rank}, 2, ("127.0.0.1", int(os.environ["MASTER_PORT"]))
    return c
contract.Contract.from_environment = staticmethod(ranked)
import mlops_entry
mlops_entry.Contract = contract.Contract
from fraud import train
train.Contract = contract.Contract
train.main()
"""


def test_the_serving_handler_answers_sagemaker_invocations(tmp_path: Path) -> None:
    from fraud import serve
    from fraud.train import write_model
    from mlops_entry.serving import make_server

    write_model(tmp_path / "model", FraudModel().state_dict(), 0, 0.0)
    server = make_server(serve, tmp_path / "model", host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with urllib.request.urlopen(f"{base}/ping", timeout=10) as ping:
            assert ping.status == 200
        body = json.dumps({"instances": [{"amount": 12.5, "merchant_id": "m-1", "country": "DE"},
                                         {"amount": 9000, "merchant_id": "m-9", "country": "US"}]}).encode()
        request = urllib.request.Request(f"{base}/invocations", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            predictions = json.loads(response.read())["predictions"]
        assert len(predictions) == 2 and all(0.0 <= p <= 1.0 for p in predictions)
        bad = urllib.request.Request(f"{base}/invocations", data=b"{}", headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(bad, timeout=10)
        assert caught.value.code == 400
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.moto
def test_the_training_job_runs_on_the_kubernetes_contract_and_registers(tmp_path: Path, mlflow_url: str,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """One step of training on the PyTorchJob's env, registering into a real MLflow tracking server: the
    version's source is the uploaded folder and its digest tag the digest of those objects, which is what
    ``promote``'s reader takes as the artifact's identity. The env is the template's plus what the training
    operator adds to the Master pod from it (``WORLD_SIZE``, ``RANK``, ``PET_*``: tests/support/training_operator.py,
    envvar.go ``setPodEnv``), the master on 127.0.0.1: told a world larger than its one process, the command
    would wait in ``init_process_group`` until the subprocess timeout (audit k8strain-1)."""
    from mlops_infra.compile.kubernetes.training import run_env
    from mlops_infra.promote.registries import MLFLOW_DIGEST_TAG, read_mlflow
    from tests.support.moto_server import client, reset, running_moto_server
    from tests.support.training_operator import JOB_NAME_LABEL, kubelet_env, pod_env

    system = load_system(EXAMPLE / "mlsystem.yaml", "dev").system
    graph = compile_system(system, "dev")
    config = next(r for r in graph.resources if r.type == "kubernetes:core/v1:ConfigMap"
                  and r.inputs["metadata"]["name"] == "train-retrain")
    template = json.loads(config.inputs["data"]["pytorchjob.json"])
    container = template["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]
    with socket.socket() as free:  # a free port for the master's TCPStore
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    run_name = "retrain-0123456789"  # the launcher's name for the run; the operator labels its pods with it
    env = {**kubelet_env(container, {JOB_NAME_LABEL: run_name}), **pod_env(template, "master", 0, ("127.0.0.1", port))}
    volumes = {v["name"]: v for v in template["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["volumes"]}
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == env["MLOPS_CHECKPOINT_DIR"]]
    assert "emptyDir" in volumes[mount["name"]]  # survives a container restart in place (audit k8strain-4)
    env["MLOPS_CHECKPOINT_DIR"] = str(tmp_path / "checkpoint-volume")  # that volume, here
    assert env["MLOPS_INPUT_TRANSACTIONS"].startswith("s3://") and env["MLOPS_MODEL_URI_PREFIX"].endswith("/fraud-model/")
    assert callable(run_env)
    rest = MlflowRest(mlflow_url)
    rest.create_model("fraud-model")  # what the register-fraud-model Job does before any run
    with running_moto_server() as url:
        reset(url)  # moto's backends are shared by every server of this process: an earlier test's buckets go
        s3 = client("s3", url)
        for uri in (env["MLOPS_INPUT_TRANSACTIONS"], env["MLOPS_MODEL_URI_PREFIX"]):
            bucket = uri.removeprefix("s3://").split("/")[0]
            if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
                s3.create_bucket(Bucket=bucket)
        transactions(tmp_path / "data")
        in_bucket = env["MLOPS_INPUT_TRANSACTIONS"].removeprefix("s3://").rstrip("/")
        s3.upload_file(str(tmp_path / "data" / "part-0.csv"), in_bucket, "2026/12/part-0.csv")
        hyper = {**json.loads(env["MLOPS_HYPERPARAMETERS"]), "max_steps": 1}
        run(container["command"], {**env, "MLOPS_HYPERPARAMETERS": json.dumps(hyper),
                                   "MLFLOW_TRACKING_URI": mlflow_url,
                                   "AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing",
                                   "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
                                   "MLOPS_WORK_DIR": str(tmp_path / "work")}, tmp_path)
        models_bucket, prefix = env["MLOPS_MODEL_URI_PREFIX"].removeprefix("s3://").split("/", 1)
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=models_bucket, Prefix=prefix)["Contents"])
        assert keys == [f"{prefix}1/config.json", f"{prefix}1/model.safetensors"]
        # the run's checkpoint outlives the pod: a pod of the same run recreated on another node (empty volume)
        # resumes from it (audit k8strain-4)
        assert env["MLOPS_CHECKPOINT_URI"] == f"s3://{models_bucket}/_checkpoints/retrain/{run_name}/"
        s3.head_object(Bucket=models_bucket, Key=f"_checkpoints/retrain/{run_name}/last.pt")
        from mlops_entry import checkpoints

        store = {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_REGION": "us-east-1"}  # what the pod's object-store envFrom gives boto3
        for name, value in store.items():
            monkeypatch.setenv(name, value)
        resumed = checkpoints.load(tmp_path / "new-pod-volume", {**env, **store})
        assert resumed is not None and resumed["step"] >= 1
        digest = hashlib.sha256()  # the manifest of what was uploaded, computed here from the objects
        for key in keys:
            data = s3.get_object(Bucket=models_bucket, Key=key)["Body"].read()
            digest.update(f"{hashlib.sha256(data).hexdigest()}  {key.removeprefix(prefix + '1/')}\n".encode())
    (version,) = rest.versions("fraud-model")
    assert (version["version"], version["source"]) == ("1", env["MLOPS_MODEL_URI_PREFIX"] + "1/")
    expected = "sha256:" + digest.hexdigest()
    assert {t["key"]: t["value"] for t in version["tags"]} == {MLFLOW_DIGEST_TAG: expected}
    (record,) = read_mlflow(system, mlflow_url).models["fraud-model"].versions.values()
    assert (record.version, record.digest, record.artifact_uri) == (1, expected, version["source"])
