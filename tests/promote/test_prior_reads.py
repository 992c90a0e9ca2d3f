"""``promote`` reads DST's prior state once: DST's registry read and DST's plan share it (a moto
server holds prod's registry, read through a role of prod's account)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import fixtures
from tests.support.cli import run_cli
from tests.support.promotion import PROD_GROUP, PROD_ROLE, assumed_session, promoted_to_staging

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
pytestmark = [pytest.mark.moto, pytest.mark.timeout(300)]


def test_dsts_prior_state_is_read_once(tmp_path: Path, moto_url: str, monkeypatch: pytest.MonkeyPatch):
    from mlops_infra.cli.commands import plan

    prod = assumed_session(moto_url, PROD_ROLE, "eu-west-1")
    prod.client("sagemaker", endpoint_url=moto_url).create_model_package_group(ModelPackageGroupName=PROD_GROUP)
    for name, value in (("AWS_ENDPOINT_URL", moto_url), ("AWS_ACCESS_KEY_ID", "testing"),
                        ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    file, registries = promoted_to_staging(tmp_path)
    staging_only = registries[:2]  # staging's saved read; prod's registry is read from the moto server
    reads: list[str] = []
    locate = plan.locate_prior

    def counting(project, stack, env, state, stack_dir=None):
        reads.append(env)
        return locate(project, stack, env, state, stack_dir)

    monkeypatch.setattr(plan, "locate_prior", counting)
    result = run_cli("promote", str(file), "--to", "prod", *staging_only, "--role", f"prod={PROD_ROLE}",
                     "--skip-gate", "no_drift", "--reason", "test")
    assert "Plan of prod after the edit:" in result.stdout, result.output
    assert "fraud-model v3 in staging = v1 in prod" in result.stdout
    assert reads == ["prod"]


def test_srcs_registry_read_and_no_drift_share_the_src_state_file(tmp_path: Path, moto_url: str,
                                                                  monkeypatch: pytest.MonkeyPatch):
    """SRC's registry read starts from the state file ``--src-state`` names, the one the no_drift gate
    reads, and reads it once (before, the registry read located SRC's state as ``plan`` would, so the
    two could disagree about what SRC serves, and a state found elsewhere was read twice)."""
    from mlops_infra.cli.commands import plan
    from mlops_infra.compile import compile_system
    from mlops_infra.spec import load_system
    from tests.support.applied_state import applied_state, dumps
    from tests.support.promotion import DIGEST_V14, STAGING_GROUP, STAGING_ROLE, register_package

    staging = assumed_session(moto_url, STAGING_ROLE, "us-east-1").client("sagemaker", endpoint_url=moto_url)
    staging.create_model_package_group(ModelPackageGroupName=STAGING_GROUP)
    for _ in range(3):  # staging's v3 holds dev's v14 (its digest recorded)
        register_package(staging, STAGING_GROUP, DIGEST_V14, "s3://staging-models/fraud/model.tar.gz")
    for name, value in (("AWS_ENDPOINT_URL", moto_url), ("AWS_ACCESS_KEY_ID", "testing"),
                        ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    file, registries = promoted_to_staging(tmp_path)
    prod_only = registries[2:]  # prod's saved read; staging's registry is read from the moto server
    state = tmp_path / "exported" / "staging.json"
    state.parent.mkdir()
    state.write_text(dumps(applied_state(compile_system(load_system(file, "staging").system, "staging"))))
    reads: list[tuple[str, Path | None]] = []
    locate = plan.locate_prior

    def counting(project, stack, env, state, stack_dir=None):
        reads.append((env, state))
        return locate(project, stack, env, state, stack_dir)

    monkeypatch.setattr(plan, "locate_prior", counting)
    result = run_cli("promote", str(file), "--to", "prod", *prod_only, "--role", f"staging={STAGING_ROLE}",
                     "--src-state", str(state), "--skip-gate", "model_approved", "--reason", "test")
    assert "fraud-model v3 in staging = v1 in prod" in result.stdout, result.output
    assert "no_drift: " in result.stdout and "SKIPPED no_drift" not in result.stdout  # evaluated from that state
    assert reads.count(("staging", state)) == 1 and ("staging", None) not in reads, reads
