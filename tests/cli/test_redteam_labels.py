"""Red-team review 2026-12-03, M4: labels become AWS tags and Kubernetes labels, checked at the label.

Through the console script. The review's reproduction (60 labels, an ``aws:`` key, a 300-character
value) passed validate and put 64 tags, a reserved key and an over-long value on every AWS
resource; on Kubernetes two labels that clean to the same key silently lost one value. The rules
are the targets' (spec/labels.py cites them); the boundaries that AWS accepts are accepted and
reach every resource unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra.endpoint_tags import DRIVER_MAX_TAGS
from mlops_infra.spec.labels import AWS_MAX_TAGS, KUBERNETES_OWN_KEYS, OWN_KEYS, OWN_PREFIX
from tests.support.cli import run_cli, run_cli_subprocess
from tests.support.text_edits import edit, line_of

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = (ROOT / "examples" / "fraud-detection" / "mlsystem.yaml").read_text()
ANCHOR = "    team: risk\n"


def _with_labels(tmp_path: Path, lines: str) -> tuple[Path, str]:
    text = edit(REFERENCE, ANCHOR, ANCHOR + lines)
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(text)
    return spec, text


def _resources(spec: Path, env: str) -> list[dict]:
    result = run_cli("graph", str(spec), "--env", env, "--format", "json")
    assert result.code == 0, result.output[-2000:]
    return json.loads(result.stdout)["resources"]


def test_m4_the_reviews_reproduction_is_refused_at_each_label(tmp_path: Path) -> None:
    many = "".join(f"    k{i}: v\n" for i in range(60))
    spec, text = _with_labels(tmp_path, f'    "aws:owner": x\n    long: {"v" * 300}\n{many}')
    result = run_cli_subprocess("validate", str(spec))
    assert result.code == 1 and "Traceback" not in result.output
    err = result.stderr
    assert (f'{spec}:{line_of(text, "aws:owner")}:5: error: Label key "aws:owner" is not a valid AWS tag key'
            in err)
    assert 'starts with "aws:", a prefix AWS reserves for its own tags' in err
    assert f'{spec}:{line_of(text, "long: v")}:11: error: The value of label "long" is not a valid AWS tag value' in err
    assert "is 300 characters; a tag value has at most 256" in err
    assert f"{spec}:{line_of(text, '  labels:')}:3: error: 64 labels are more tags than AWS allows" in err
    assert "AWS allows 50 tags per resource, so at most 46 labels fit. Remove 18." in err
    assert run_cli("graph", str(spec), "--env", "prod", "--format", "json").code == 1


@pytest.mark.parametrize(("label", "column", "summary", "problem"), [
    ('"": x', 5, 'Label key "" is not a valid AWS tag key', "is empty; a tag key has at least 1 character"),
    (f'{"k" * 129}: x', 5, "Label key", "is 129 characters; a tag key has at most 128"),
    ('"AWS:Team": x', 5, 'Label key "AWS:Team"', 'starts with "AWS:", a prefix AWS reserves'),
    ('owner: "aws:risk"', 12, 'The value of label "owner"', 'starts with "aws:", a prefix AWS reserves'),
    ('note: "a\\nb"', 11, 'The value of label "note"', "holds '\\n'; a tag value takes letters, digits, spaces"),
    ('query: "\\"} or vector(1) > 0 #"', 12, 'The value of label "query"', "holds"),
    ('"$(id)": x', 5, 'Label key "$(id)"', "holds '$' '(' ')'; a tag key takes letters"),
])
def test_m4_a_label_aws_cannot_tag_with_is_an_error_at_the_key_or_value(
        tmp_path: Path, label: str, column: int, summary: str, problem: str) -> None:
    spec, text = _with_labels(tmp_path, f"    {label}\n")
    result = run_cli("validate", str(spec))
    assert result.code == 1, result.output
    line = line_of(text, label.split(":")[0] if label.startswith('"') else label)
    errors = [ln for ln in result.stderr.splitlines() if ": error: " in ln]
    assert any(ln.startswith(f"{spec}:{line}:{column}: error: {summary}") for ln in errors), result.stderr
    assert problem in result.stderr and "(AWS tag naming rules)" in result.stderr
    assert "Change the" in result.stderr


def test_m4_the_largest_labels_aws_takes_reach_every_resource_unchanged(tmp_path: Path) -> None:
    """prod has a canary endpoint: the rollout controller's room (DRIVER_MAX_TAGS) is left free on it."""
    room = AWS_MAX_TAGS - len(OWN_KEYS) - DRIVER_MAX_TAGS
    labels = {f"k{i}": "v" for i in range(room - 3 - 2)}  # the example has 2 labels
    labels |= {"k" * 128: "w" * 256, "Café Équipe": "data science / ml:risk=+@_.", "empty": ""}
    lines = "".join(f"    {json.dumps(k)}: {json.dumps(v)}\n" for k, v in labels.items())
    spec, _ = _with_labels(tmp_path, lines)
    assert run_cli("validate", str(spec), "--env", "prod").code == 0
    tagged = [r for r in _resources(spec, "prod") if isinstance(r["inputs"].get("tags"), dict)]
    # S3 takes at most 10 tags on an object (S3 User Guide, "Managing object tags"): the drift contract file
    # (6339c45, audit limits-1) carries mlops-infra's own tags only and opts out of the provider's default tags
    # (compile/aws/monitoring.py add_contract; docs/compile-aws.md, Monitors); every other resource takes the labels
    objects = [r for r in tagged if r["type"] == "aws:s3/bucketObjectv2:BucketObjectv2"]
    assert objects
    for r in objects:
        # only its item's tag: a tag equal to a default one is dropped from the upload (typesets44-2, b4f678c9)
        assert r["inputs"]["tags"] == {"mlops-infra/item": r["address"]}, r["urn"]
        assert r["inputs"]["overrideProvider"]["defaultTags"]["tags"] == {}, r["urn"]
    tagged = [r for r in tagged if r not in objects]
    assert tagged
    for r in tagged:
        tags = r["inputs"]["tags"]
        assert len(tags) <= AWS_MAX_TAGS, (r["urn"], len(tags))
        assert {k: tags[k] for k in labels} == labels
        assert len(tags) == AWS_MAX_TAGS - DRIVER_MAX_TAGS
        assert set(tags) - set(labels) - {"team", "cost-center"} <= set(OWN_KEYS)
    one_more, _ = _with_labels(tmp_path, lines + "    extra: v\n")
    assert run_cli("validate", str(one_more), "--env", "prod").code == 1


def test_m4_labels_that_clean_to_one_kubernetes_key_are_an_error_on_kubernetes_only(tmp_path: Path) -> None:
    spec, text = _with_labels(tmp_path, '    "a b": one\n    a-b: two\n')
    result = run_cli("validate", str(spec))
    assert result.code == 1
    assert (f'{spec}:{line_of(text, "a-b: two")}:5: error: Labels "a b" and "a-b" become the same Kubernetes label'
            in result.stderr)
    assert 'In environment dev (Kubernetes) both keys become "a-b"' in result.stderr
    assert "Rename one of them." in result.stderr
    assert run_cli("validate", str(spec), "--env", "prod").code == 0  # two distinct AWS tags


@pytest.mark.parametrize(("key", "kubernetes_only"), [
    ("managed-by", False), ("mlops-infra/system", False), ("mlops-infra/owner", False),
    ("app.kubernetes.io/part-of", True), ("App.Kubernetes.IO/name", True), ("kueue.x-k8s.io/queue-name", True),
])
def test_m4_a_label_mlops_infra_sets_itself_is_refused(tmp_path: Path, key: str, kubernetes_only: bool) -> None:
    spec, text = _with_labels(tmp_path, f"    {key}: mine\n")
    result = run_cli("validate", str(spec))
    assert result.code == 1
    assert f'{spec}:{line_of(text, key)}:5: error: Label "{key}" is one mlops-infra sets itself' in result.stderr
    assert run_cli("validate", str(spec), "--env", "prod").code == (0 if kubernetes_only else 1)


@pytest.mark.parametrize("key", ["kubernetes.io/arch", "k8s.io/owner", "node.kubernetes.io/pool", "Topology.Kubernetes.IO/zone",
                                 "app.kubernetes.io/team", "storage.k8s.io/class"])
def test_a_label_under_a_prefix_kubernetes_reserves_is_refused_on_kubernetes(tmp_path: Path, key: str) -> None:
    """Kubernetes docs, Labels and Selectors: "The kubernetes.io/ and k8s.io/ prefixes are reserved for
    Kubernetes core components" (and, Well-Known Labels, "all labels ... in the kubernetes.io and k8s.io
    namespaces", their subdomains too)."""
    spec, text = _with_labels(tmp_path, f"    {key}: mine\n")
    result = run_cli("validate", str(spec), "--env", "dev")
    assert result.code == 1 and "Traceback" not in result.output
    prefix = key.lower().rpartition("/")[0]
    assert (f'{spec}:{line_of(text, key)}:5: error: Label "{key}" has a prefix Kubernetes reserves ({prefix}/)'
            in result.stderr)
    assert "reserved for Kubernetes core components" in result.stderr and "Rename it" in result.stderr
    assert run_cli("validate", str(spec), "--env", "prod").code == 0  # an AWS tag may have it


@pytest.mark.parametrize("key", ["app.kubernetes.io/version", "app.kubernetes.io/component", "x-k8s.io/owner",
                                 "kueue.x-k8s.io/priority", "mykubernetes.io/team", "example.com/kubernetes.io"])
def test_labels_near_the_reserved_prefixes_are_accepted(tmp_path: Path, key: str) -> None:
    spec, _ = _with_labels(tmp_path, f"    {key}: mine\n")
    result = run_cli("validate", str(spec), "--env", "dev")
    assert result.code == 0, result.stderr


def test_m4_the_reserved_keys_are_every_key_the_compilers_set(tmp_path: Path) -> None:
    """spec/labels.py's lists are complete: any other key the compilers put on a resource would
    overwrite a user's label without a word."""
    spec, _ = _with_labels(tmp_path, "")
    user = {"team", "cost-center"}

    def reserved(key: str) -> bool:
        return key in user or key in OWN_KEYS or key.startswith(OWN_PREFIX) or key in KUBERNETES_OWN_KEYS

    aws = {k for r in _resources(spec, "prod") if isinstance(r["inputs"].get("tags"), dict) for k in r["inputs"]["tags"]}
    kube = {k for r in _resources(spec, "dev") if r["type"].startswith("kubernetes:")
            for k in r["inputs"].get("metadata", {}).get("labels", {})}
    assert aws and kube
    assert sorted(k for k in aws | kube if not reserved(k)) == []
