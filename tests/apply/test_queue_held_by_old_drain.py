"""closing-36c-1: a hold the drain of mlops-infra before ``mlops-infra-drain`` (b426db0) left is owned by the
Kubernetes Python client's default field manager: its merge patch sent no ``fieldManager``, and the API server
records the user agent's prefix (``managerOrUserAgent``/``prefixFromUserAgent``; the stand-in does the same,
tests/support/kube_api.py ``_handle``), ``OpenAPI-Generator``. The next apply names it as possibly an earlier
mlops-infra apply's hold, with the release command, and leaves it (other tools use that client too); before, it
was called "someone other than mlops-infra apply", sending the operator after an owner who does not exist.
On the Kubernetes API stand-in (named stand-in) with ``managed_fields=True``; ``engine.up`` is a stand-in."""

from __future__ import annotations

from pathlib import Path

import kubernetes.client

from mlops_infra.apply import engine, queue_drain
from tests.apply.test_flavor_users import OLD, work  # noqa: F401  (a fixture)
from tests.apply.test_queue_held_earlier import KUEUE, _apply, _failed_drained_apply, stand_in
from tests.support.kube_api import write_kubeconfig


def test_the_client_default_manager_is_the_user_agent_prefix() -> None:
    assert kubernetes.client.ApiClient().user_agent.split("/", 1)[0] == queue_drain.CLIENT_MANAGER


def test_a_hold_of_the_drain_before_its_field_manager_is_named_as_possibly_ours(work: Path, monkeypatch) -> None:  # noqa: F811
    with stand_in() as api:
        monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(work / "kubeconfig", api.url)))
        monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")
        with monkeypatch.context() as m:
            m.setattr(queue_drain, "DRAIN_MANAGER", None)  # the drain as 1579a49 wrote it: no fieldManager
            _failed_drained_apply(work, api, monkeypatch)
        assert api.managers(KUEUE, "ClusterQueue", OLD) == {"OpenAPI-Generator (Update)": {".spec.stopPolicy"}}
        monkeypatch.setattr(engine, "up", lambda *a, **k: None)

        result = _apply(work)

        assert result.code == 0, result.output
        assert api.get(KUEUE, "ClusterQueue", OLD)["spec"]["stopPolicy"] == "HoldAndDrain"  # not attributable: left
        text = " ".join(result.stderr.split())
        assert "someone other than mlops-infra apply" not in text
        assert (f"warning: Kueue ClusterQueue {OLD} has spec.stopPolicy: HoldAndDrain, set by field manager "
                "OpenAPI-Generator (the Kubernetes Python client's default): it may be a hold an earlier version of "
                "mlops-infra apply --drain-queues left") in text
        assert f"release it: kubectl patch clusterqueue {OLD} --type merge -p '{{\"spec\":{{\"stopPolicy\":\"None\"}}}}'" in text
