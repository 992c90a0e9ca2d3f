"""Right before ``pulumi up``: adopt, instead of creating, the SageMaker models and endpoint configs the plan creates
that already exist under the very name (audit rolloutaws-7: rolling back by setting the previous version in the
spec must apply).

Why: :mod:`mlops_infra.plan.adopted` says it: the previous version's model and config are kept in SageMaker by the
rollout controller, the spec set back to that version compiles their very names (a hash of their content), and
``CreateModel``/``CreateEndpointConfig`` refuse an existing name ("Cannot create already existing model", a
ValidationException), so ``pulumi up`` failed at the model. Equal names mean equal content: the model's hash covers
its execution role (the compiled role resource, whose name the compiler fixes) and the model package ARN (which
names the version), the config's covers every input of the config, its model's name included. So the object is
taken as it is.

Contract:
- The read is :func:`mlops_infra.state.aws_live.existing_objects.read_existing` of
  :func:`mlops_infra.plan.adopted.adoptable` (the plan's creates and replaces of SageMaker models and endpoint
  configs, with the name the graph gives them): ``DescribeModel``/``DescribeEndpointConfig``, a not-found answer
  is nothing to adopt, any other error leaves the resource to Pulumi as planned (its line says the create fails as
  before if the object exists, and to apply again once it can be read).
- :func:`check` is what ``mlops-infra apply`` runs (AWS targets only, after the confirmation, before ``up``): the
  read, then for what was found the driver's kept entries of it untagged on the item's endpoint
  (:func:`mlops_infra.rollout.drivers.sagemaker.release_kept`), so neither ``tidy`` nor a move's clean-up deletes
  what the state now owns (a scheduled runner still on the previous graph while ``up`` runs included: its target
  protects only its own version's objects). Untagging comes before ``up``: a tidy due meanwhile would otherwise
  delete the object under the import; should ``up`` then fail before the import, the object is nobody's until the
  next apply of the same spec adopts it again (or, the spec moved on, it stays unused: models and configs cost
  nothing; docs/apply.md gives the command that deletes it). An untag that fails is said, with the AWS CLI
  command, and the adoption goes on. It returns an :class:`Adoption`: the ids (URN -> name), the environment that
  makes the program import them for that one ``up`` (:func:`mlops_infra.program.adopt.adopt_env`), one line per
  object for people. The client is the apply's AWS session for the environment's region, each call bounded
  (:func:`mlops_infra.state.aws_live.existing_objects.sagemaker_client`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from mlops_infra.plan.adopted import WORDS, Adoptable, adoptable, item_endpoints, item_versions
from mlops_infra.program.adopt import adopt_env
from mlops_infra.rollout.drivers.sagemaker import release_kept
from mlops_infra.state.aws_live.existing_objects import read_existing, sagemaker_client
from mlops_infra.state.aws_live.retry import describe_error

_UNTAG_BY_HAND = "aws sagemaker delete-tags --resource-arn <the endpoint's ARN> --tag-keys mlops-infra:kept:{kind}:{name}"


class Adoption(NamedTuple):
    """What :func:`check` decided for this ``up``."""

    ids: dict[str, str]
    """URN -> id (the SageMaker name) imported instead of created."""
    env: dict[str, str]
    """The environment that makes the program import them (for the ``up`` that is not a targeted phase 1)."""
    lines: tuple[str, ...] = ()


def check(plan: Any, graph: Any, region: str | None, say: Callable[[str], None], sagemaker: Any = None) -> Adoption:
    """The :class:`Adoption` for this ``up`` (see the module contract); no call when the plan creates no SageMaker
    model or endpoint config."""
    items = adoptable(plan.changes, graph)
    if not items:
        return Adoption({}, {})
    sagemaker = sagemaker_client(region) if sagemaker is None else sagemaker
    found = read_existing(sagemaker, [(i.kind, i.name) for i in items])
    lines = [_unread_line(i, found.unread[(i.kind, i.name)]) for i in items if (i.kind, i.name) in found.unread]
    adopted = [i for i in items if (i.kind, i.name) in found.found]
    endpoints = item_endpoints(graph)
    versions = item_versions(graph, {i.address for i in adopted})
    for address in sorted({i.address for i in adopted}):
        mine = [i for i in adopted if i.address == address]
        released: list[tuple[str, str]] = []
        if address in endpoints:
            try:
                released = release_kept(sagemaker, endpoints[address], [(i.kind, i.name) for i in mine])
            except Exception as exc:  # said with the command; the adoption itself goes on
                lines.append(f"{address}: could not untag what the rollout controller keeps ({describe_error(exc)}): "
                             "run " + "; ".join(f"`{_UNTAG_BY_HAND.format(kind=i.kind, name=i.name)}`" for i in mine)
                             + ", or a later rollout's clean-up may delete what the state now owns")
        version = versions.get(address)
        for item in mine:
            was = ("kept by the last rollout, from now on the stack's" if (item.kind, item.name) in released
                   else "left in SageMaker earlier, not in the state")
            whose = f"version {version}'s" if version else "the"
            lines.append(f"{address}: {whose} {WORDS[item.kind]} {item.name} already exists in SageMaker ({was}): "
                         "adopted (Pulumi import), not created")
    for line in lines:
        say(line)
    ids = {i.urn: i.name for i in adopted}
    return Adoption(ids, adopt_env(ids), tuple(lines))


def _unread_line(item: Adoptable, error: str) -> str:
    return (f"{item.address}: could not check whether the {WORDS[item.kind]} {item.name} already exists ({error}): "
            "Pulumi creates it as planned; if it exists, `pulumi up` fails at its create: apply again once it can be "
            "read")
