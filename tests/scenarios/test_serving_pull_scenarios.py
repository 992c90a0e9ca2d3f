"""The two plans of "stop retraining, keep serving v12" for the serving role's image pull (audit
removal-2, the image side): offline, the plan cannot know v12's image and warns that the pull goes;
with --refresh, the registry names the image and the pull stays. The goldens themselves are checked
byte for byte by test_scenarios.py; these pin what they must show."""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPOSITORY = "arn:aws:ecr:us-east-1:123456789012:repository/fraud-train"


def _plan(name: str) -> dict:
    return json.loads((HERE / name / "plan.json").read_text(encoding="utf-8"))


def _pull_after(plan: dict) -> list[str]:
    """The repositories of the serving policy's ModelImagesPull statement after the change, read from the
    change's per-path values (the policy's statements shift: the model's artifacts_uri adds three)."""
    changes = next(c for c in plan["resourceChanges"] if c["name"] == "scorer-serving-policy")["changes"]
    after = {c["path"]: c["after"] for c in changes}
    index = next((p.split(".")[1] for p, v in after.items() if p.endswith(".Sid") and v == "ModelImagesPull"), None)
    return [v for p, v in after.items() if index and p.startswith(f"policy.{index}.Resource") and v is not None]


def test_offline_the_plan_warns_that_the_serving_role_loses_the_jobs_image_pull() -> None:
    plan = _plan("training-job-removed-keeps-the-artifacts-bucket")
    [warning] = [w for w in plan["warnings"] if w.startswith("endpoints.scorer: its serving role")]
    assert f"loses the ECR pull of {REPOSITORY}," in warning and "v12 of fraud-model" in warning
    assert _pull_after(plan) == []


def test_refreshed_the_serving_role_keeps_the_served_images_pull_and_nothing_is_warned() -> None:
    folder = "training-job-removed-keeps-the-serving-image-pull"
    registry = json.loads((HERE / folder / "registry.json").read_text(encoding="utf-8"))
    [v12] = [v for v in registry["models"]["fraud-model"]["versions"] if v["version"] == 12]
    assert v12["image"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2"
    plan = _plan(folder)
    assert not [w for w in plan["warnings"] if "serving role" in w]
    assert _pull_after(plan) == [REPOSITORY]
    deleted = {c["address"] for c in plan["resourceChanges"] if c["action"] == "delete"}
    # and ml-team's TopicPolicy: no job's failed runs are told to it any more (compile/aws/training_failures.py)
    assert deleted == {"training_jobs.retrain", "channels.ml-team"}
    assert [c["name"] for c in plan["resourceChanges"] if c["action"] == "delete" and c["address"] == "channels.ml-team"] \
        == ["ml-team-topic-policy"]
