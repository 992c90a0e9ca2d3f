"""A failed Pulumi command's error holds Pulumi's error lines, never its ``--diff`` output (audit closing-34g-3).

``pulumi.automation.errors.CommandError`` keeps ``str(CommandResult)``: ``"\\n code: ...\\n stdout: ...\\n stderr:
..."`` (``pulumi/automation/_cmd.py`` ``CommandResult.__str__``), and the stdout of ``up --diff`` is the diff
display, which prints the old value of a deleted or updated property (pulumi/pulumi
``pkg/backend/display/object_diff.go`` ``printObjectPropertyDiff`` -> ``printDelete``/``printPropertyValueDiff``):
a Lambda's environment variable typed in the console, a container's env value. The plan shows them as
``(sensitive)``; ``engine._pulumi`` put the whole stdout in the error. Pulumi's diagnostics go to stderr in that
display (``pkg/backend/display/diff.go`` ``ShowDiffEvents``: a ``DiagEvent`` is written to stderr), and the
progress display (``refresh``) lists them under ``Diagnostics:`` on stdout. No Pulumi CLI is installed here: the
stdout below is written by hand in the diff display's format (as the audit's repro did); what mlops-infra does
with it is the real code, through the real CLI boundary (``print_user_error``) and the real Automation API
``Stack`` (its ``up`` replaced by one that fails so) over the recording ``pulumi`` stand-in.
"""

from __future__ import annotations

import io

import pytest
from pulumi.automation._cmd import CommandResult
from pulumi.automation.errors import CommandError, create_command_error
from rich.console import Console

from mlops_infra.apply import engine
from mlops_infra.cli.main import print_user_error
from mlops_infra.errors import UserError
from tests.cli.test_apply_interrupt import FRAUD, repo  # noqa: F401  (a fixture)
from tests.support import pulumi_stand_in
from tests.support.cli import run_cli

HF = "hf_QwErTyUiOpAsDfGhJkLzXcVbNm12345678"
KEY = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
DB = "s3cr3t-Pa55w0rd-typed-in-the-console"
SECRETS = (HF, KEY, DB)

DIFF_STDOUT = f'''Updating (dev):
  pulumi:pulumi:Stack: (same)
    [urn=urn:pulumi:dev::fraud-detection::pulumi:pulumi:Stack::fraud-detection-dev]
    ~ aws:lambda/function:Function: (update)
        [id=fraud-dev-alert-forwarder]
        [urn=urn:pulumi:dev::fraud-detection::aws:lambda/function:Function::fraud-dev-alert-forwarder]
      ~ environment: {{
          ~ variables: {{
              - HF_HUB        : "{HF}"
              ~ ENCRYPTION_KEY: "{KEY}" => "0000"
                CHANNEL_KIND  : "slack"
            }}
        }}
    ~ kubernetes:apps/v1:Deployment: (update)
        [urn=urn:pulumi:dev::fraud-detection::kubernetes:apps/v1:Deployment::scorer]
      ~ spec: {{
          ~ template: {{
              ~ spec: {{
                  ~ containers: [
                      ~ [0]: {{
                              - env: [
                              -     [0]: {{
                                      - name : "DB_PASSWORD"
                                      - value: "{DB}"
                                    }}
                                ]
                            }}
                    ]
                }}
            }}
        }}
Resources:
    2 to update
    38 unchanged

Duration: 4s
'''
LAMBDA_ERROR = ("error: updating Lambda Function (fraud-dev-alert-forwarder) configuration: operation error Lambda: "
                "UpdateFunctionConfiguration, https response error StatusCode: 409, ResourceConflictException: The "
                "operation cannot be performed at this time.")
DIFF_STDERR = f"{LAMBDA_ERROR}\nerror: update failed"


def _failing(stdout: str = DIFF_STDOUT, stderr: str = DIFF_STDERR, code: int = 255) -> CommandError:
    return create_command_error(CommandResult(stdout=stdout, stderr=stderr, code=code))


def _raise(error: CommandError):
    def run():
        raise error
    return run


def _printed(err: UserError) -> str:
    buffer = io.StringIO()
    print_user_error(err, Console(file=buffer, width=400, color_system=None))
    return buffer.getvalue()


def test_the_error_of_a_failed_up_keeps_pulumis_errors_and_no_value_of_its_diff() -> None:
    """The audit's repro, with a container env value too. Fails on main bd806b2: every value is in the detail."""
    with pytest.raises(UserError) as info:
        engine._pulumi(_raise(_failing()))
    printed = _printed(info.value)
    for secret in SECRETS:
        assert secret not in printed, printed
        assert secret not in info.value.summary + info.value.detail
    assert "HF_HUB" not in printed and "DB_PASSWORD" not in printed  # no line of the diff at all
    lines = printed.splitlines()
    assert lines[0] == ("error: Pulumi failed: updating Lambda Function (fraud-dev-alert-forwarder) configuration: "
                        "operation error Lambda: UpdateFunctionConfiguration, https response error StatusCode: 409, "
                        "ResourceConflictException: The operation cannot be performed at this time.")
    assert lines[1] == "  error: update failed"
    assert "Pulumi's progress output (35 lines) is left out and not kept" in printed
    assert "`pulumi preview --diff` in the stack directory" in printed


def test_the_hint_names_the_stack_and_its_directory(tmp_path) -> None:
    options = engine.StackOptions(tmp_path / "stacks" / "dev", "dev")
    with pytest.raises(UserError) as info:
        engine._pulumi(_raise(_failing()), options)
    assert f"`pulumi preview --diff --stack dev` in {tmp_path / 'stacks' / 'dev'}" in info.value.detail


def test_error_lines_on_stdout_are_kept_and_only_they() -> None:
    """The progress display (``pulumi refresh``, run without ``--diff``) writes its diagnostics on stdout, under
    ``Diagnostics:``; a value elsewhere on stdout stays out."""
    stdout = (f"Refreshing (dev):\n    ~ aws:lambda:Function forwarder refreshing [diff: ~environment] {HF}\n"
              "Diagnostics:\n  aws:lambda:Function (forwarder):\n"
              "    error: reading Lambda Function (forwarder): AccessDeniedException: not authorized\n")
    with pytest.raises(UserError) as info:
        engine._pulumi(_raise(_failing(stdout, "", 255)))
    assert info.value.summary == ("Pulumi failed: reading Lambda Function (forwarder): AccessDeniedException: not "
                                  "authorized")
    assert HF not in info.value.summary + info.value.detail
    assert "(5 lines) is left out" in info.value.detail


def test_stderr_is_redacted_and_bounded() -> None:
    """A URL's credentials and a secret-shaped value in Pulumi's stderr are redacted as ``_pulumi_says`` redacts;
    a long stderr is cut to ``FAILURE_LINES`` lines and says how many it left out."""
    stderr = ("error: unable to open bucket s3://state?region=eu-west-1&access_key_id=AKIAIOSFODNN7EXAMPLE"
              "&secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY: denied\n"
              "warning: token ghp_0123456789abcdefghijABCDEFGHIJ0123456789 in the program\n"
              + "\n".join(f"warning: line {n}" for n in range(engine.FAILURE_LINES + 5)))
    with pytest.raises(UserError) as info:
        engine._pulumi(_raise(_failing("", stderr, 1)))
    text = info.value.summary + info.value.detail
    assert "AKIAIOSFODNN7EXAMPLE" not in text and "wJalrXUtnFEMI" not in text
    assert "ghp_0123456789abcdefghij" not in text
    assert "(6 more lines of Pulumi's errors left out)" in info.value.detail
    assert "left out and not kept" not in info.value.detail  # nothing on stdout: nothing to say of it


def test_a_command_error_without_output_still_says_its_exit_code() -> None:
    with pytest.raises(UserError) as info:
        engine._pulumi(_raise(_failing("", "", 7)))
    assert info.value.summary == "Pulumi failed: exit code 7, no error message"


@pytest.mark.parametrize("debug", ["0", "1"])
def test_apply_prints_no_value_of_the_diff_when_up_fails(repo, tmp_path, monkeypatch, debug) -> None:  # noqa: F811
    """``mlops-infra apply`` through the CLI boundary, the real ``engine.up`` and Automation API ``Stack`` (the
    stand-in answers ``stack select`` and ``config set-all``), whose ``up`` fails with the diff above; with
    ``MLOPS_INFRA_DEBUG=1`` the traceback holds no CommandError either (``raise ... from None``). Fails on main
    bd806b2 (both values printed)."""
    import pulumi.automation as auto

    pulumi_stand_in.install(tmp_path / "bin", monkeypatch, up="ok")
    monkeypatch.setenv("MLOPS_INFRA_DEBUG", debug)
    calls = []

    def up(self, **kwargs):
        calls.append(kwargs)
        raise _failing()

    monkeypatch.setattr(auto.Stack, "up", up)
    result = run_cli("apply", FRAUD, "--env", "dev", "--yes")
    assert calls and calls[0]["diff"] is True
    assert result.code == 1, result.output
    for secret in SECRETS:
        assert secret not in result.output
    assert "error: Pulumi failed: updating Lambda Function (fraud-dev-alert-forwarder)" in result.stderr
    assert "  error: update failed" in result.stderr
    assert "Pulumi's progress output (35 lines) is left out and not kept" in result.stderr
    assert "`pulumi preview --diff --stack dev` in stacks/dev" in result.stderr
    assert ("Traceback" in result.stderr) == (debug == "1")
