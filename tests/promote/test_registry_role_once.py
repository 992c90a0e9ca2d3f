"""Promote's registry read of an AWS environment with ``--role ENV=ARN`` assumes the role once: the account check
(``check_account``) and the read (``read_registry``) use one session (``promote/registries._read_aws``). Each
``assumed_session_factory()`` call is an STS ``AssumeRole``; before, the read assumed the role twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.model_versions import RegistryView
from mlops_infra.promote import registries
from mlops_infra.spec import load_system

FRAUD = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"
ROLE = "arn:aws:iam::222222222222:role/promoter"


def test_the_account_check_and_the_registry_read_share_one_assumed_role(monkeypatch: pytest.MonkeyPatch) -> None:
    assumed: list[str] = []
    sessions: list[object] = []

    def factory_of(role: str, region: str, endpoint_url: str | None):
        def factory() -> object:
            assumed.append(role)  # one sts:AssumeRole
            return object()
        return factory

    def check(target, env, factory, *args) -> None:
        sessions.append(factory())

    def read(system, env, prior, *, session_factory, **kwargs) -> RegistryView:
        sessions.append(session_factory())
        return RegistryView({}, {})

    monkeypatch.setattr(registries, "assumed_session_factory", factory_of)
    monkeypatch.setattr(registries, "check_account", check)
    monkeypatch.setattr("mlops_infra.state.aws_live.model_registry.read_registry", read)
    system = load_system(FRAUD).system
    registries._read_aws(system, "prod", None, ROLE)
    assert assumed == [ROLE]
    assert len(sessions) == 2 and sessions[0] is sessions[1]
