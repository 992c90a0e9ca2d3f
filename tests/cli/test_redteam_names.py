"""Red-team review 2026-12-03, M3: every physical name the compilers make fits its target's rules.

Through the console script: ``graph --format json`` of systems whose every name is 63 characters,
or holds ``--``, and the review's reproductions (``xn--``/``sthree-`` system names, endpoints named
``1scorer``, 50-character monitor names). Names are checked against the targets' own rules: the
botocore shapes' ``pattern``/``max`` (read from the installed botocore), S3's bucket naming rules,
KServe's ``IsvcNameFmt`` and Kubernetes' DNS-1123 and CronJob limits.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import botocore.session
import pytest
import yaml

from mlops_infra.spec.names import kserve_name_max
from mlops_infra.spec.references import REFERENCES
from tests.support.cli import run_cli
from tests.support.text_edits import edit

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = (ROOT / "examples" / "fraud-detection" / "mlsystem.yaml").read_text()

AWS_NAMES: dict[str, list[tuple[str, str, str, str]]] = {
    "aws:sagemaker/endpoint:Endpoint": [("name", "sagemaker", "CreateEndpointInput", "EndpointName")],
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": [
        ("name", "sagemaker", "CreateEndpointConfigInput", "EndpointConfigName")],
    "aws:sagemaker/model:Model": [("name", "sagemaker", "CreateModelInput", "ModelName")],
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": [
        ("modelPackageGroupName", "sagemaker", "CreateModelPackageGroupInput", "ModelPackageGroupName")],
    "aws:sagemaker/pipeline:Pipeline": [("pipelineName", "sagemaker", "CreatePipelineRequest", "PipelineName")],
    "aws:ecr/repository:Repository": [("name", "ecr", "CreateRepositoryRequest", "repositoryName")],
    "aws:iam/role:Role": [("name", "iam", "CreateRoleRequest", "RoleName")],
    "aws:lambda/function:Function": [("name", "lambda", "CreateFunctionRequest", "FunctionName")],
    "aws:cloudwatch/metricAlarm:MetricAlarm": [("name", "cloudwatch", "PutMetricAlarmInput", "AlarmName")],
    "aws:cloudwatch/eventRule:EventRule": [("name", "events", "PutRuleRequest", "Name")],
    "aws:scheduler/schedule:Schedule": [("name", "scheduler", "CreateScheduleInput", "Name")],
    "aws:sns/topic:Topic": [("name", "sns", "CreateTopicInput", "Name")],
    "aws:kms/alias:Alias": [("name", "kms", "CreateAliasRequest", "AliasName")],
    "aws:cloudwatch/logGroup:LogGroup": [("name", "logs", "CreateLogGroupRequest", "logGroupName")],
    "aws:appautoscaling/policy:Policy": [("name", "application-autoscaling", "PutScalingPolicyRequest", "PolicyName")],
}
"""Resource type -> (input, botocore service, request shape, member) of each physical name."""

S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
KSERVE_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def _shape(service: str, request: str, member: str):
    model = botocore.session.get_session().get_service_model(service)
    return model.shape_for(request).members[member]


def _java_to_python(pattern: str) -> str | None:
    return None if "\\p{" in pattern else pattern


def _aws_problems(resources: list[dict]) -> list[str]:
    found = []
    for r in resources:
        for field, service, request, member in AWS_NAMES.get(r["type"], []):
            value = r["inputs"].get(field)
            if not isinstance(value, str):
                continue
            meta = _shape(service, request, member).metadata
            if len(value) > meta.get("max", 10**9) or len(value) < meta.get("min", 0):
                found.append(f"{r['type']}.{field} {value!r}: length {len(value)} outside {meta}")
            pattern = _java_to_python(meta.get("pattern", ""))
            if pattern and not re.fullmatch(pattern, value):
                found.append(f"{r['type']}.{field} {value!r} does not match {pattern}")
        if r["type"] == "aws:s3/bucket:Bucket":
            found += _bucket_problems(r["inputs"]["bucket"])
    return found


def _bucket_problems(name: str) -> list[str]:
    """S3 bucket naming rules (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html)."""
    problems = [] if S3_BUCKET.match(name) and ".." not in name else [f"bucket {name!r} breaks the general rules"]
    problems += [f"bucket {name!r} starts with {p}" for p in ("xn--", "sthree-", "amzn-s3-demo-") if name.startswith(p)]
    problems += [f"bucket {name!r} ends with {s}" for s in ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
                 if name.endswith(s)]
    return problems


def _kubernetes_problems(resources: list[dict]) -> list[str]:
    found = []
    for r in resources:
        if not r["type"].startswith("kubernetes:"):
            continue
        name = r["inputs"].get("metadata", {}).get("name")
        if name is None:
            continue
        kind = r["type"].rsplit(":", 1)[1]
        if not DNS1123_LABEL.match(name) or len(name) > 63:
            found.append(f"{kind} {name!r} is not a DNS-1123 label")
        if kind == "CronJob" and len(name) > 52:
            found.append(f"CronJob {name!r} is {len(name)} characters, over 52")
        if kind == "InferenceService" and not KSERVE_NAME.match(name):
            found.append(f"InferenceService {name!r} does not match IsvcNameFmt")
        for match in re.finditer(r'"bucket": "([^"]*)"', json.dumps(r["inputs"])):
            found += _bucket_problems(match.group(1))
    return found


def _renamed(data: dict, rename) -> dict:
    """``data`` with every item, reference and override key renamed by ``rename(section, name)``."""
    data = copy.deepcopy(data)
    for section, items in data.items():
        if isinstance(items, list):
            for item in items:
                item["name"] = rename(section, item["name"])
    for section, fields, target in REFERENCES:
        for item in data.get(section, []):
            holder, key = item, fields[-1]
            for part in fields[:-1]:
                holder = holder.get(part, {})
            value = holder.get(key)
            if isinstance(value, list):
                holder[key] = [rename(target, v) for v in value]
            elif isinstance(value, str):
                holder[key] = rename(target, value)
    for env in data["environments"].values():
        env["overrides"] = {".".join([k.split(".")[0], rename(k.split(".")[0], k.split(".")[1]), *k.split(".")[2:]]): v
                            for k, v in env.get("overrides", {}).items()}
    return data


def _long(section: str, name: str) -> str:
    """63 characters; for endpoints the longest KServe and Knative take for the reference's canary rollout
    (spec/names.py ``kserve_name_max``: 48, room for the ``prev-`` route tag host; 53 before audit limits-2)."""
    size = kserve_name_max("canary") if section == "endpoints" else 63
    return (f"{name}-" + "x" * 63)[: size - 1] + "z"


def _graph(tmp_path: Path, data: dict, env: str) -> list[dict]:
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    result = run_cli("graph", str(spec), "--env", env, "--format", "json")
    assert result.code == 0, result.output[-3000:]
    return json.loads(result.stdout)["resources"]


@pytest.mark.parametrize("system", ["a" * 63, "fraud--detection", "x" + "-y" * 31])
def test_m3_every_physical_name_fits_with_63_character_names_everywhere(tmp_path: Path, system: str) -> None:
    data = _renamed(yaml.safe_load(REFERENCE), _long)
    data["metadata"]["name"] = system
    data["environments"] = {("e" + "n" * 62 if n == "prod" else n): e for n, e in data["environments"].items()}
    data["environments"]["staging"]["promote_from"] = "dev"
    data["environments"]["e" + "n" * 62]["promote_from"] = "staging"
    problems = _aws_problems(_graph(tmp_path, data, "e" + "n" * 62))
    problems += _kubernetes_problems(_graph(tmp_path, data, "dev"))
    assert problems == []


def test_m3_a_50_character_monitor_name_gives_a_cronjob_kubernetes_accepts(tmp_path: Path) -> None:
    data = yaml.safe_load(REFERENCE)
    data = _renamed(data, lambda section, name: "m" * 50 if (section, name) == ("monitors", "drift") else name)
    cronjobs = [r["inputs"]["metadata"]["name"] for r in _graph(tmp_path, data, "dev")
                if r["type"] == "kubernetes:batch/v1:CronJob"]
    assert all(len(n) <= 52 for n in cronjobs), cronjobs
    assert any(n.startswith("monitor-mmmm") for n in cronjobs)


@pytest.mark.parametrize("prefix", ["xn--", "sthree-", "amzn-s3-demo-"])
def test_m3_a_system_name_with_a_reserved_s3_prefix_is_an_error_at_the_name(tmp_path: Path, prefix: str) -> None:
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(edit(REFERENCE, "  name: fraud-detection", f"  name: {prefix}fraud"))
    result = run_cli("validate", str(spec))
    assert result.code == 1
    assert (f'{spec}:7:9: error: System name "{prefix}fraud" starts its bucket names with "{prefix}", which S3 '
            "reserves") in result.stderr


@pytest.mark.parametrize(("name", "prefix"), [("sthree", "sthree-"), ("amzn-s3-demo", "amzn-s3-demo-")])
def test_a_system_name_that_is_a_reserved_prefix_without_its_dash_is_an_error_too(tmp_path: Path, name: str,
                                                                                  prefix: str) -> None:
    """Audit limits-4: every bucket name is ``<system>-<env>-...``, so ``sthree`` makes ``sthree-prod-...``,
    which S3 refuses (bucket naming rules); before, only a name starting with the whole prefix was refused."""
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(edit(REFERENCE, "  name: fraud-detection", f"  name: {name}"))
    result = run_cli("validate", str(spec))
    assert result.code == 1
    assert f'{spec}:7:9: error: System name "{name}" starts its bucket names with "{prefix}", which S3 reserves' \
        in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("name", ["sthreex", "xn", "amzn-s3"])
def test_names_that_only_look_like_a_reserved_prefix_still_validate(tmp_path: Path, name: str) -> None:
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(edit(REFERENCE, "  name: fraud-detection", f"  name: {name}"))
    result = run_cli("validate", str(spec))
    assert result.code == 0, result.output
    assert "reserves" not in result.stderr


def test_m3_an_endpoint_name_starting_with_a_digit_is_refused_on_kubernetes_only(tmp_path: Path) -> None:
    data = _renamed(yaml.safe_load(REFERENCE), lambda s, n: "1scorer" if (s, n) == ("endpoints", "scorer") else n)
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    result = run_cli("validate", str(spec))
    assert result.code == 1
    assert 'Endpoint name "1scorer" cannot name a KServe InferenceService' in result.stderr
    assert "In environment dev (Kubernetes)" in result.stderr
    assert run_cli("validate", str(spec), "--env", "prod").code == 0


@pytest.mark.parametrize("name", ["mlops-capture", "mlops-mlflow", "mlops-pushgateway", "mlops-retrain-trigger"])
def test_an_endpoint_named_like_a_shared_service_is_refused_on_kubernetes_only(tmp_path: Path, name: str) -> None:
    """Finding collisions-5: KServe's ingress reconciler replaces the spec of the Service named after
    the InferenceService with an ExternalName to the gateway; the shared objects' ``mlops-`` prefix
    must stay theirs (spec/names.py)."""
    data = _renamed(yaml.safe_load(REFERENCE), lambda s, n: name if (s, n) == ("endpoints", "scorer") else n)
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    result = run_cli("validate", str(spec))
    assert result.code == 1
    assert f'Endpoint name "{name}" cannot name a KServe InferenceService' in result.stderr
    assert 'starts with "mlops-"' in result.stderr and "In environment dev (Kubernetes)" in result.stderr
    assert run_cli("validate", str(spec), "--env", "prod").code == 0


def test_m3_a_data_source_ending_in_a_reserved_s3_suffix_is_refused_on_kubernetes(tmp_path: Path) -> None:
    data = _renamed(yaml.safe_load(REFERENCE),
                    lambda s, n: "logs--x-s3" if (s, n) == ("data_sources", "feature-snapshots") else n)
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    result = run_cli("validate", str(spec))
    assert result.code == 1 and 'Data source name "logs--x-s3" ends with "--x-s3"' in result.stderr


def test_m3_ecr_repository_names_never_hold_a_double_hyphen(tmp_path: Path) -> None:
    data = yaml.safe_load(REFERENCE)
    data["metadata"]["name"] = "fraud--detection"
    repos = [r["inputs"]["name"] for r in _graph(tmp_path, data, "prod") if r["type"] == "aws:ecr/repository:Repository"]
    assert repos and all("--" not in r for r in repos), repos
    assert repos[0].startswith("fraud-detection-prod-drift-job-")
