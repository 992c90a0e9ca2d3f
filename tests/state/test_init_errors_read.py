"""The state reader keeps each resource's ``initErrors`` (audit finding k8sapply-2), in every layout it reads.

pulumi/pulumi ``sdk/go/common/apitype/core.go`` ``ResourceV3``: ``InitErrors []string
`json:"initErrors,omitempty"```: absent when the resource initialized, else the provider's reasons
(``pkg/resource/deploy/step.go``: ``s.new.InitErrors = initErr.Reasons``).
"""

from __future__ import annotations

import gzip
import json
import pickle

import pytest

from mlops_infra.state.model import StateResource
from mlops_infra.state.pulumi_state import StateError, load_state, parse_state

STACK = "urn:pulumi:dev::proj::pulumi:pulumi:Stack::proj-dev"
DEPLOYMENT = "urn:pulumi:dev::proj::kubernetes:apps/v1:Deployment::web"
JOB = "urn:pulumi:dev::proj::kubernetes:batch/v1:Job::register"
REASONS = ["the Kubernetes API server reported that \"ns/web\" failed to fully initialize or become live: "
           "'web' timed out waiting to be Ready", "Minimum number of live Pods was not attained"]


def checkpoint(init_errors: object = REASONS) -> dict:
    resources = [
        {"urn": STACK, "type": "pulumi:pulumi:Stack", "custom": False},
        {"urn": DEPLOYMENT, "type": "kubernetes:apps/v1:Deployment", "custom": True, "id": "ns/web",
         "inputs": {"metadata": {"name": "web"}}, "outputs": {"metadata": {"name": "web"}, "status": {}},
         "parent": STACK, "initErrors": init_errors},
        {"urn": JOB, "type": "kubernetes:batch/v1:Job", "custom": True, "id": "ns/register",
         "inputs": {"metadata": {"name": "register"}}, "parent": STACK},
    ]
    return {"version": 3, "checkpoint": {"stack": "dev", "latest": {"manifest": {}, "resources": resources}}}


def layouts(doc: dict) -> dict[str, bytes | str]:
    """The same state as the file backend writes it (streamed), compact, gzipped (streamed), as a ``pulumi stack
    export`` in UTF-16 and as a JSON string holding the document (both parsed whole)."""
    indented = json.dumps(doc, indent=4).encode()
    export = json.dumps({"version": 3, "deployment": doc["checkpoint"]["latest"]})
    return {"indented": indented, "compact": json.dumps(doc, separators=(",", ":")).encode(),
            "gzip": gzip.compress(indented, mtime=0), "utf16-export": export.encode("utf-16"),
            "json-string": json.dumps(json.dumps(doc))}


@pytest.mark.parametrize("layout", ["indented", "compact", "gzip", "utf16-export", "json-string"])
def test_init_errors_are_kept_in_every_layout(layout: str) -> None:
    prior = parse_state(layouts(checkpoint())[layout], "state.json")
    assert prior.resources[DEPLOYMENT].init_errors == tuple(REASONS)
    assert prior.resources[JOB].init_errors == ()
    assert prior.resources[STACK].init_errors == ()


def test_a_state_file_read_from_disk_keeps_them(tmp_path) -> None:
    path = tmp_path / "dev.json"
    path.write_bytes(layouts(checkpoint())["indented"])
    resource = load_state(path).resources[DEPLOYMENT]
    assert resource.init_errors == tuple(REASONS)
    assert pickle.loads(pickle.dumps(resource)) == resource  # the slot travels with it (plan workers)


@pytest.mark.parametrize("value", [None, []])
def test_null_or_empty_is_none(value: object) -> None:
    """ResourceV1 wrote ``"initErrors"`` without ``omitempty`` (``null`` when none)."""
    for data in layouts(checkpoint(value)).values():
        assert parse_state(data, "state.json").resources[DEPLOYMENT].init_errors == ()


@pytest.mark.parametrize("value", ["timed out", [1], {"a": "b"}])
def test_a_malformed_init_errors_field_is_refused_without_quoting_it(value: object) -> None:
    for data in layouts(checkpoint(value)).values():
        with pytest.raises(StateError) as caught:
            parse_state(data, "state.json")
        assert '"initErrors"' in str(caught.value) and DEPLOYMENT in str(caught.value)
        assert "timed out" not in str(caught.value)


def test_init_errors_take_part_in_equality_and_repr() -> None:
    plain = StateResource(DEPLOYMENT, "kubernetes:apps/v1:Deployment")
    failed = StateResource(DEPLOYMENT, "kubernetes:apps/v1:Deployment", init_errors=("x",))
    assert plain != failed and "init_errors=('x',)" in repr(failed)
    packed = StateResource.packed(DEPLOYMENT, "kubernetes:apps/v1:Deployment", True, None, None, None, b"{}", b"{}",
                                  None, (), False, False, ("x",))
    assert packed == failed and type(packed) is StateResource
