"""Environments: where the system runs, how it is promoted, and what differs per environment."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from mlops_infra.spec.base import Name, SpecModel, empty_dict, empty_list
from mlops_infra.spec.guardrails import Guardrails

GATES = {
    "model_approved": "the pinned model version is approved in the registry",
    "no_drift": "no drift or data-quality alert is firing in the source environment, and its live resources match "
                "its last applied state",
    "progressive_rollout": ("every endpoint whose model changes rolls out progressively (canary, blue_green or rolling; "
                            "on Kubernetes canary or blue_green: rolling moves all traffic at once there)"),
    "alerts_routed": "every alert notifies at least one channel and every rollback alert exists",
    "tests_passed": "the source environment's deployment verification passed",
    "manual_approval": "a person approves the promotion",
}
"""Known gate names and what each checks."""

GateName = Literal[
    "model_approved", "no_drift", "progressive_rollout", "alerts_routed", "tests_passed", "manual_approval"
]


class AwsTarget(SpecModel):
    """An AWS account and region."""

    kind: Literal["aws"] = Field(description="aws")
    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", description="AWS region, e.g. eu-west-1.")
    account: str = Field(pattern=r"^[0-9]{12}$", description="12-digit AWS account id, quoted.")
    image_pulls_allowed_by: list[Annotated[str, Field(pattern=r"^[0-9]{12}$")]] | None = Field(
        default=None, description="Accounts whose ECR repositories this environment pulls images from and whose "
        "repository policies already allow its roles to pull (the statement validate's image-in-other-account "
        "warning gives): validate no longer warns for them. 12-digit account ids, quoted.")


class KubernetesTarget(SpecModel):
    """A Kubernetes cluster (kubeconfig context) and namespace."""

    kind: Literal["kubernetes"] = Field(description="kubernetes")
    context: str = Field(min_length=1, description="kubeconfig context name.")
    namespace: Name = Field(description="Namespace the system runs in.")

    @field_validator("context")
    @classmethod
    def _context_is_one_line(cls, context: str) -> str:
        """A context name is one line of printable text: no line break nor other control character.

        Kubernetes itself asks only that a context name is not empty (client-go
        ``tools/clientcmd/validation.go`` ``validateContext``: "empty context name ... is not
        allowed"), so this rule is mlops-infra's: the name is printed in one-line places, the plan's
        target line and the pull-request comment's summary table, where a line break ends the table
        row (GFM 0.29 section 4.10) and a following line of three backticks opens a code block that
        swallows the rest of the comment (CommonMark 0.31.2 section 4.5). ``kubectl config
        rename-context`` renames a context that has one."""
        bad = next(((i, c) for i, c in enumerate(context)
                    if unicodedata.category(c) in ("Cc", "Zl", "Zp")), None)
        if bad is not None:
            index, char = bad
            raise ValueError(f"a kubeconfig context name is one line of printable text, and this one holds "
                             f"U+{ord(char):04X} ({unicodedata.name(char, 'a control character')}) at character "
                             f"{index + 1}; rename the context in your kubeconfig (kubectl config rename-context "
                             f"OLD NEW) and use the new name here")
        return context


Target = Annotated[AwsTarget | KubernetesTarget, Field(discriminator="kind")]


class Environment(SpecModel):
    """One environment of the system."""

    target: Target = Field(description="Where it runs: {kind: aws, region, account} or {kind: kubernetes, context, namespace}.")
    promote_from: Name | None = Field(default=None, description="Environment whose pinned versions are promoted here.")
    gates: list[GateName] = Field(default_factory=empty_list, description="Checks that must pass before a promotion lands.")
    guardrails: Guardrails = Field(
        default_factory=Guardrails,
        description="Policy rules here and whether each blocks (docs/guardrails.md): production, enforcement, "
                    "rules, max_gpus, max_hourly_cost_usd. Default: mandatory in production, advisory elsewhere.",
    )
    overrides: dict[str, Any] = Field(
        default_factory=empty_dict,
        description="Values replaced in this environment, by dotted path: section.item-name.field (endpoints.scorer.replicas).",
    )
