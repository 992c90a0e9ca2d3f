"""``promote --format markdown`` is a pull-request body: at most 65,536 characters however large the
promotion (GitHub refuses a longer body or comment), whole lines and closed code fences, and the
plan of DST still in it.

Before, a promotion of a few hundred endpoints wrote a body of hundreds of kilobytes, and the
promotion workflow cut it with ``head -c 60000``: the plan was lost, a code fence was left open and
a multi-byte character could be split.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlops_infra.render.markdown import GITHUB_COMMENT_LIMIT
from tests.support.benchmarks import benchmark_module
from tests.support.cli import run_cli
from tests.support.markdown import fences_balanced

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def large_promotion(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A 300-endpoint system (the benchmarks' generator) and saved registry reads of staging and prod."""
    folder = tmp_path_factory.mktemp("large")
    text = benchmark_module("bench_validate").generate(300)
    file = folder / "mlsystem.yaml"
    file.write_text(text)
    return file, benchmark_module("bench_promote").registry_reads(text, folder)


def test_a_large_promotion_fits_one_pull_request_body(large_promotion):
    file, registries = large_promotion
    args = ("promote", str(file), "--to", "prod", *registries, "--skip-gate", "no_drift", "--reason", "test: offline")
    text = run_cli(*args, "--format", "text")
    body = run_cli(*args, "--format", "markdown")
    assert text.code == 0 and body.code == 0, body.output[-3000:]
    assert len(text.stdout) > 2 * GITHUB_COMMENT_LIMIT  # the promotion itself is far larger than a body
    assert len(body.stdout) <= GITHUB_COMMENT_LIMIT
    assert fences_balanced(body.stdout)
    assert body.stdout.startswith("## Promotion `staging` → `prod`")
    assert "### Gates of `prod`" in body.stdout and "Preview only: nothing was written" in body.stdout
    # DST's plan is there, with its own marker and summary; the promotion is larger than half the
    # body, so the plan was given half (its own renderer then fits itself and says so)
    plan = body.stdout[body.stdout.index("### Plan of `prod` after the edit"):]
    assert "<!-- mlops-infra-plan: bench-platform/prod -->\n## mlops-infra plan: " in plan
    assert f"under {GITHUB_COMMENT_LIMIT // 2:,} characters" in plan and "| **Target** |" in plan
    # what was left out is said, with the command that shows it all
    assert re.search(r"\.\.\. and \d+ more endpoints, left out to fit GitHub's limit", body.stdout)
    assert "--format text`" in body.stdout
    assert re.search(r"\.\.\. \d+ more lines of the edit left out", body.stdout)


TRIGGERS = ('    triggers:\n      schedule: "0 3 * * 1"         # cron, UTC\n'
            '      on_alerts: [fraud-drift]      # retrain when this alert fires\n')
SNAPSHOTS = ("  - name: feature-snapshots\n    kind: object_store\n    encryption: kms\n    retention: 90d\n",
             "    outputs: [feature-snapshots]\n")
SLACK_ONCALL = ("    kind: slack                     # slack | email | webhook | pagerduty\n"
                "    webhook_url: {secret: slack-oncall-webhook}   # a reference to a secret, never the value\n")
EMAIL_ONCALL = "    kind: email\n    address: oncall@example.com\n"


def test_a_promotion_that_fits_is_not_cut(tmp_path):
    """The reference without its training job's triggers and without the feature-snapshots store it
    writes: the reference's own staging comment grew past the 65,536-character budget with the
    Lambdas' failure alarms, queues and invoke configs (compile/aws/lambda_failures.py), then again
    in stop 32 (the kept platform artifacts bucket, the drift monitor's silence alarm), and is cut
    gracefully, which the cut tests above pin. Stop 36 grew it again (26ad445: each KMS bucket's policy denies
    the other encryption headers), so ``oncall`` is an email channel here too (no Slack forwarder Lambda)."""
    from tests.support.promotion import copy_reference, reference_registries

    file, registries = copy_reference(tmp_path), reference_registries(tmp_path)
    text = file.read_text()
    assert TRIGGERS in text and all(part in text for part in SNAPSHOTS) and SLACK_ONCALL in text
    for part in (TRIGGERS, *SNAPSHOTS):
        text = text.replace(part, "")
    file.write_text(text.replace(SLACK_ONCALL, EMAIL_ONCALL))
    body = run_cli("promote", str(file), "--to", "staging", "--format", "markdown", *registries)
    assert body.code == 0, body.output
    assert "left out" not in body.stdout and "shortened" not in body.stdout
    assert "```diff\n" in body.stdout and fences_balanced(body.stdout)
    plan = run_cli("plan", str(file), "--env", "staging", "--format", "markdown")
    # the plan part is the plan command's own comment body (its notes say where the prior came from)
    assert plan.stdout.splitlines()[0] in body.stdout
