"""A cluster's own Kueue ResourceFlavor named like a cohort's shared one is refused (spec/shared_targets.py).

The shared flavor of the clusters that borrow in a cohort is ``<system>-<env>-<cohort>-<7 hex digits>``
(``compile/kubernetes/queues.py`` ``flavor_name``), a cluster without borrowing has its own,
``<system>-<env>-<cluster>``, and a ResourceFlavor is cluster-scoped: a cluster named ``<cohort>-<digits>``
compiles a second ResourceFlavor of the shared one's name: in one environment the compiler stops on a
duplicate URN ("this is a bug in mlops-infra", the Pulumi name is the flavor's name), across two environments
in one context the second one's apply fails with AlreadyExists. The tests compile the real names to show the
collision the error predicts is the compiled one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlops_infra.compile import compile_system
from mlops_infra.spec import parse_system

REFERENCE = (Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml").read_text()
CODE = "cluster-scoped-name-collision"


def _document(cohort: str = "team") -> dict:
    document = yaml.safe_load(REFERENCE)
    document["environments"]["dev"]["overrides"]["clusters.gpu-train.borrowing"] = {"cohort": cohort}
    return document


def _flavors(document: dict, env: str) -> list[str]:
    """The ResourceFlavor names ``env`` compiles to, spec/shared_targets.py's checks left out (they refuse it)."""
    from mlops_infra.spec import checks
    from mlops_infra.spec.shared_targets import check_shared_targets

    text = yaml.safe_dump(document, sort_keys=False)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(checks, "BASE_CHECKS", tuple(c for c in checks.BASE_CHECKS if c is not check_shared_targets))
        graph = compile_system(parse_system(text, "x.yaml", env).system, env)
    return [r.inputs["metadata"]["name"] for r in graph.resources if r.type.endswith(":ResourceFlavor")]


def _collisions(document: dict) -> list:
    result = parse_system(yaml.safe_dump(document, sort_keys=False), "mlsystem.yaml")
    return [d for d in result.diagnostics if d.code == CODE]


def _add_cluster(document: dict, name: str) -> None:
    base = {k: v for k, v in document["clusters"][0].items() if k != "borrowing"}
    document["clusters"].append({**base, "name": name})


def test_a_cluster_named_like_its_environments_cohort_flavor_is_refused_at_its_name() -> None:
    document = _document()
    (shared,) = _flavors(document, "dev")  # fraud-detection-dev-team-<digits>
    _add_cluster(document, shared.removeprefix("fraud-detection-dev-"))
    with pytest.raises(ValueError, match=f"duplicate URN .*ResourceFlavor::{shared} .this is a bug in mlops-infra"):
        _flavors(document, "dev")  # what validate let through: plan and apply stop on a compiler bug

    (found,) = _collisions(document)
    assert found.is_error and found.path == ("clusters", 1, "name")
    assert found.summary == (f'Cluster "{shared.removeprefix("fraud-detection-dev-")}" is named like the shared '
                             f'Kueue ResourceFlavor of cohort "team" in environment dev: {shared}')
    assert "fraud-detection-dev-team-<7 hex digits of their node type>" in found.detail
    assert 'Rename the cluster' in found.detail and 'for example "team-gpu"' in found.detail


def test_validate_names_the_line_of_the_cluster_and_exits_1(tmp_path: Path) -> None:
    from tests.support.cli import run_cli

    document = _document()
    (shared,) = _flavors(document, "dev")
    _add_cluster(document, shared.removeprefix("fraud-detection-dev-"))
    path = tmp_path / "mlsystem.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1)
                if text.strip() == f"- name: {shared.removeprefix('fraud-detection-dev-')}")

    result = run_cli("validate", str(path))

    assert result.code == 1 and "Traceback" not in result.output
    assert f"{path}:{line}:" in result.stderr and f"error: Cluster \"{shared.removeprefix('fraud-detection-dev-')}\"" \
        in result.stderr


def test_any_digits_are_refused_and_other_names_are_not() -> None:
    document = _document()
    _add_cluster(document, "team-0badc0d")  # the digits of another node type: refused all the same
    assert [d.path for d in _collisions(document)] == [("clusters", 1, "name")]

    for name in ("team-gpu", "team-0badc0d1", "team-0BADC0D"[:5], "other-0badc0d"):  # not <cohort>-<7 hex>
        document = _document()
        _add_cluster(document, name)
        assert not _collisions(document), name

    document = yaml.safe_load(REFERENCE)  # no cluster borrows in cohort team: no such flavor
    _add_cluster(document, "team-0badc0d")
    assert not _collisions(document)


def test_a_cluster_that_borrows_has_no_flavor_of_its_own() -> None:
    document = _document()
    _add_cluster(document, "team-0badc0d")
    document["clusters"][1]["borrowing"] = {"cohort": "team"}
    assert not _collisions(document)
    # ... unless an environment's override takes its borrowing away there
    document["environments"]["dev"]["overrides"]["clusters.team-0badc0d.borrowing"] = None
    assert [d.path for d in _collisions(document)] == [("clusters", 1, "name")]


def test_a_cohort_set_by_its_cohort_override_counts() -> None:
    document = yaml.safe_load(REFERENCE)
    document["clusters"][0]["borrowing"] = {"cohort": "elsewhere"}
    document["environments"]["dev"]["overrides"]["clusters.gpu-train.borrowing.cohort"] = "team"
    _add_cluster(document, "team-0badc0d")
    assert [d.path for d in _collisions(document)] == [("clusters", 1, "name")]


def test_nested_environments_in_one_context_meet_the_same_way() -> None:
    """dev-us's cohort team flavor is fraud-detection-dev-us-team-<digits>: dev's cluster us-team-<digits>."""
    document = yaml.safe_load(REFERENCE)
    dev = document["environments"]["dev"]
    document["environments"]["dev-us"] = {"target": {**dev["target"], "namespace": "fraud-dev-us"},
                                          "overrides": {**dev["overrides"],
                                                        "clusters.gpu-train.borrowing": {"cohort": "team"}}}
    (shared,) = _flavors(document, "dev-us")
    name = shared.removeprefix("fraud-detection-dev-")
    _add_cluster(document, name)
    assert shared in _flavors(document, "dev")  # dev's own flavor of the new cluster

    (found,) = _collisions(document)
    assert found.path == ("clusters", 1, "name") and found.is_error
    assert "in environments dev and dev-us (context kind-mlops)" in found.summary and shared in found.summary

    document["environments"]["dev-us"]["target"]["context"] = "other"  # another cluster: nothing shared
    assert not _collisions(document)


@pytest.mark.parametrize("cohort", ["team", "a.b.c", "x" * 60, "y" * 40 + "." + "z" * 30])
def test_the_prefix_validate_checks_is_the_compiled_name_without_its_digits(cohort: str) -> None:
    """The spec layer cannot import compile (tests/test_layering.py): its copy of the cut is checked here."""
    from mlops_infra.spec.shared_targets import cohort_flavor_prefix

    (shared,) = _flavors(_document(cohort), "dev")
    assert shared == f"{cohort_flavor_prefix('fraud-detection', 'dev', cohort)}-{shared[-7:]}"


def test_nested_environments_whose_clusters_borrow_share_only_a_cluster_queue_name() -> None:
    """With borrowing the flavor is the cohort's: only the ClusterQueues meet, and the error says so (the module
    docstring and docs/diagnostics.md said every flavor is <system>-<env>-<cluster>)."""
    document = yaml.safe_load(REFERENCE)
    document["clusters"][0]["borrowing"] = {"cohort": "team"}
    document["clusters"].append({**document["clusters"][0], "name": "us-gpu-train"})
    dev = document["environments"]["dev"]
    document["environments"]["dev-us"] = {"target": {**dev["target"], "namespace": "fraud-dev-us"},
                                          "overrides": dict(dev["overrides"])}
    (found,) = _collisions(document)
    assert found.summary == ('Environments "dev" and "dev-us" in context kind-mlops both name a Kueue ClusterQueue '
                             "fraud-detection-dev-us-gpu-train")
    assert "fraud-detection-dev-us-gpu-train" not in _flavors(document, "dev") + _flavors(document, "dev-us")

    document["clusters"][0].pop("borrowing")
    document["clusters"][1].pop("borrowing")
    (found,) = _collisions(document)
    assert "both name a Kueue ClusterQueue and ResourceFlavor fraud-detection-dev-us-gpu-train" in found.summary


def test_the_docs_give_both_flavor_names() -> None:
    from mlops_infra.spec import shared_targets

    docs = (Path(__file__).resolve().parents[2] / "docs" / "diagnostics.md").read_text()
    (row,) = [line for line in docs.splitlines() if line.startswith("| `cluster-scoped-name-collision`")]
    for text in (row, " ".join(shared_targets.__doc__.split())):
        assert "<system>-<env>-<cohort>-<7 hex digits" in text, text
        assert "without `borrowing`" in text or "without ``borrowing``" in text, text
