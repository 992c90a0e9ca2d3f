"""The outside queue's owner is told to drop the old flavor first and name the new one only after the apply
(closing-35e-2).

Kueue v0.19.0 ``pkg/cache/scheduler/clusterqueue.go``: ``updateFlavorMetadata`` puts every flavor a ClusterQueue
names that is not in the flavor cache in ``missingFlavors``, and ``updateQueueStatus`` then makes the queue
inactive (reason ``FlavorNotFound``, "references missing ResourceFlavor(s)"): it admits none of its workloads.
The flavor to name "instead" is the one this very apply creates (``+ resource-flavor`` in the plan), so the old
text ("name <new> instead of the deleted flavor" first) made the other team's queue inactive.
"""

from __future__ import annotations

from pathlib import Path

from tests.apply.test_flavor_users import OLD, apply, cluster_queue, stand_in, work  # noqa: F401  (a fixture)


def test_the_refusal_never_asks_to_name_the_flavor_this_apply_creates_before_it(work: Path,  # noqa: F811
                                                                                  monkeypatch) -> None:
    with stand_in(cluster_queue("other-team-a10g", OLD)) as api:
        result, ups = apply(work, api, monkeypatch)

    assert result.code == 1 and ups == []
    text = " ".join(result.stderr.split())
    new = text.split("once the apply has created it, name ")[1].split(" ")[0]
    assert new.startswith("fraud-detection-dev-shared-a10g-")
    assert f"+ resource-flavor {new}" in result.stdout  # this apply creates it: it does not exist yet
    assert "instead of the deleted flavor" not in text
    assert text.index("remove the deleted flavor (the queue keeps its other flavors and stays active); then apply "
                      "again") < text.index(f"name {new} there to lend again (not before")
    assert "FlavorNotFound" in text
