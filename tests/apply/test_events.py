"""Engine events -> progress lines, on the real event logs in shared/fixtures/pulumi/."""

from __future__ import annotations

import json

from mlops_infra.apply.events import EventRenderer
from tests.support.shared_files import SHARED

FIXTURES = SHARED / "fixtures" / "pulumi"


def render(name: str) -> list[str]:
    lines: list[str] = []
    renderer = EventRenderer(lines.append)
    for line in (FIXTURES / name).read_text().splitlines():
        renderer(json.loads(line))
    return lines


def test_an_up_that_creates_an_eks_cluster():
    assert render("pulumi_display_not-truncated_up-3.events.jsonl") == [
        "  + aws:iam/role:Role eks-role: creating...",
        "  + aws:ec2/securityGroup:SecurityGroup eks-sg: creating...",
        "  + aws:iam/role:Role eks-role: created (2s)",
        "  + aws:iam/rolePolicyAttachment:RolePolicyAttachment eks-rpa-service-policy: creating...",
        "  + aws:iam/rolePolicyAttachment:RolePolicyAttachment eks-rpa-cluster-policy: creating...",
        "  + aws:iam/rolePolicyAttachment:RolePolicyAttachment eks-rpa-service-policy: created (1s)",
        "  + aws:iam/rolePolicyAttachment:RolePolicyAttachment eks-rpa-cluster-policy: created (1s)",
        "  + aws:ec2/securityGroup:SecurityGroup eks-sg: created (4s)",
        "  + aws:eks/cluster:Cluster eks-cluster: creating...",
        "  + aws:eks/cluster:Cluster eks-cluster: created (495s)",
        "Pulumi finished in 502s: 6 created.",
    ]


def test_an_update_among_unchanged_resources_skips_the_same_steps():
    lines = render("pulumi_display_not-truncated_template-body.events.jsonl")
    assert lines[-1] == "Pulumi finished in 2s: 1 updated, 57 unchanged."
    assert all(line.startswith("  ~ aws:cloudformation/stack:Stack cluster-nodes") for line in lines[:-1])


def test_failures_and_diagnostics_are_shown_and_secrets_withheld():
    lines: list[str] = []
    renderer = EventRenderer(lines.append)
    urn = "urn:pulumi:prod::fraud::aws:sagemaker/endpoint:Endpoint::scorer-endpoint"
    renderer({"timestamp": 10, "diagnosticEvent": {"severity": "error", "urn": urn,
                                                   "message": "creating endpoint: ValidationException\nline two"}})
    renderer({"timestamp": 11, "diagnosticEvent": {"severity": "info", "message": "ignored"}})
    renderer({"timestamp": 12, "resOpFailedEvent": {"status": 2, "metadata": {
        "op": "update", "urn": urn, "type": "aws:sagemaker/endpoint:Endpoint"}}})
    renderer({"timestamp": 13, "diagnosticEvent": {
        "severity": "warning", "message": "config\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}})
    assert lines[:3] == ["  error scorer-endpoint: creating endpoint: ValidationException", "    line two",
                         "  ! aws:sagemaker/endpoint:Endpoint scorer-endpoint: update failed (status 2)"]
    assert "wJalrXUtnFEMI" not in "\n".join(lines) and lines[3] == "  warning: config"
