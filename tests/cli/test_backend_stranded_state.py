"""The stack directory holds the stack's state but the backend is elsewhere (audit closing-37b-5).

Before 659785e a job with only ``PULUMI_ACCESS_TOKEN`` (no ``pulumi login``, no backend URL) kept its stack in the
stack directory (``PULUMI_BACKEND_URL=file://<stack dir>``, :func:`mlops_infra.apply.engine.backend_url`), so its
applied state is ``<stack dir>/.pulumi/stacks/<project>/<stack>.json``; now the token chooses Pulumi Cloud, as
``pulumi`` logs in (pulumi/pulumi ``pkg/cmd/pulumi/backend/login_manager.go``), where the stack does not exist. Pulumi
never looks in the stack directory (that layout is mlops-infra's own), so only mlops-infra can say so: ``plan`` warns
naming both places and how to choose, ``apply`` refuses before ``pulumi`` runs (``pulumi up`` on the empty cloud stack
would create every resource again). The repository copy and the recording ``pulumi`` stand-in are
``tests/cli/test_apply_stack_identity.py``'s; the cloud is the loopback stand-in with no stacks.
"""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_apply_stack_identity import FRAUD, fraud_dev_state, pulumi, repo, write_backend_state  # noqa: F401
from tests.state.test_backends import TOKEN
from tests.support.cli import run_cli
from tests.support.pulumi_cloud import running_pulumi_cloud


def test_plan_with_a_token_warns_that_the_stack_directory_holds_the_state(repo: Path, monkeypatch) -> None:  # noqa: F811
    """The audit's reproduction. Fails before: "Prior state: none found ... first apply" and no word of the file."""
    stack_file = write_backend_state(repo / "stacks/dev", fraud_dev_state())
    with running_pulumi_cloud({}, token=TOKEN, user="jdoe") as cloud:
        monkeypatch.setenv("PULUMI_ACCESS_TOKEN", TOKEN)
        monkeypatch.setenv("PULUMI_API", cloud.url)
        result = run_cli("plan", FRAUD, "--env", "dev")
    assert result.code == 0, result.output
    text = " ".join(result.output.split())
    shown = stack_file.relative_to(repo)
    assert f"the stack directory holds a state of fraud-detection/dev ({shown}" in text
    assert f"but the backend now is {cloud.url} (PULUMI_ACCESS_TOKEN with no `pulumi login`" in text
    keep = f"PULUMI_BACKEND_URL=file://{(repo / 'stacks/dev').resolve()}"
    assert f"keep the stack directory by setting {keep} for plan and apply" in text
    assert f"`{keep} pulumi stack export --stack dev --file state.json`" in text
    assert "`pulumi stack import --stack dev --file state.json`" in text
    assert TOKEN not in result.output


def test_apply_with_a_token_refuses_before_pulumi_runs(repo: Path, pulumi, monkeypatch) -> None:  # noqa: F811
    """Fails before: apply goes on to `pulumi up` on the empty cloud stack."""
    stack_file = write_backend_state(repo / "stacks/dev", fraud_dev_state())
    with running_pulumi_cloud({}, token=TOKEN, user="jdoe") as cloud:
        monkeypatch.setenv("PULUMI_ACCESS_TOKEN", TOKEN)
        monkeypatch.setenv("PULUMI_API", cloud.url)
        result = run_cli("apply", FRAUD, "--env", "dev", "--yes")
    assert result.code == 1, result.output
    assert "Traceback" not in result.output and TOKEN not in result.output
    text = " ".join(result.stderr.split())
    assert "the stack's state is in two places; nothing was applied" in text
    assert str(stack_file.relative_to(repo)) in text and cloud.url in text
    assert pulumi.calls() == []  # no stack select, no config, no up


def test_without_a_token_the_stack_directory_is_the_backend_and_nothing_is_said(repo: Path, monkeypatch) -> None:  # noqa: F811
    write_backend_state(repo / "stacks/dev", fraud_dev_state())
    result = run_cli("plan", FRAUD, "--env", "dev")
    assert result.code == 0, result.output
    assert "Prior state: stacks/dev/.pulumi/stacks/fraud-detection/dev.json" in " ".join(result.output.split())
    assert "holds a state of" not in result.output


def test_a_backend_url_naming_the_stack_directory_is_the_same_place(repo: Path, monkeypatch) -> None:  # noqa: F811
    write_backend_state(repo / "stacks/dev", fraud_dev_state())
    monkeypatch.setenv("PULUMI_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{(repo / 'stacks/dev').resolve()}")
    result = run_cli("plan", FRAUD, "--env", "dev")
    assert result.code == 0, result.output
    assert "holds a state of" not in result.output
