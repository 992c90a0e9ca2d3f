"""The cost of a region move prices what runs now where it runs (audit xregion-5; mlops_infra/plan/cost.py).

Rule encoded: the prior resources run, and are billed, in the region of the prior state's AWS provider (every
compiled ``aws:*`` resource names that explicit provider, which sets ``region``), and the AWS Price List prices
per ``regionCode``. The reference's prod applied in us-east-1 (its endpoint's ml.g5.xlarge has a us-east-1 price
in the shipped catalog), then planned in eu-west-1: before is the us-east-1 stack's cost, not $0 for want of an
eu-west-1 price.
"""

from __future__ import annotations

from mlops_infra.compile import compile_system
from mlops_infra.plan.cost import estimate_cost
from mlops_infra.spec import parse_system
from mlops_infra.state.pulumi_state import parse_state
from tests.support.applied_state import applied_state, dumps
from tests.support.shared_files import REFERENCE

TEXT = REFERENCE.read_text(encoding="utf-8")


def _graph(region: str):
    text = TEXT.replace("region: eu-west-1", f"region: {region}")
    return compile_system(parse_system(text, "ref.yaml", "prod").effective["prod"], "prod")


def test_a_region_move_prices_before_in_the_prior_region_and_says_so() -> None:
    east = _graph("us-east-1")
    prior = parse_state(dumps(applied_state(east)).encode(), "prior-east.json")
    staying = estimate_cost(east, prior)  # the running stack, planned where it is
    assert staying.before == staying.after and staying.before.max_usd > 0
    moving = estimate_cost(_graph("eu-west-1"), prior)
    assert moving.before == staying.before, (moving.before, staying.before)
    scorer = next(line for line in moving.lines if line.address == "endpoints.scorer")
    assert scorer.before_usd == next(line for line in staying.lines if line.address == "endpoints.scorer").after_usd
    assert moving.notes[0] == ("region move: before is priced in us-east-1, where the applied stack runs (its aws "
                               "provider's region), after in eu-west-1")
    assert not any(n.startswith("region move") for n in staying.notes)
