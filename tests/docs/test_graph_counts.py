"""The resource counts the compile pages state are those of the graphs the compiler makes:
docs/compile-kubernetes.md section 1 (its total and its table of types, the reference's ``dev``) and
the totals docs/compile-aws.md gives (the reference's ``prod``, ``llm-platform`` and ``quickstart``
in ``prod``). A compile change that adds a resource fails here until the page says so (audit docs-5:
the page said 68 resources and 8 PrometheusRules after the graph had grown to 74 and 10)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.spec import load_system

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"


def _graph_types(example: str, env: str) -> Counter[str]:
    system = load_system(EXAMPLES / example / "mlsystem.yaml", env).system
    return Counter(r.type for r in compile_system(system, env).resources)


def _kubernetes_section_one() -> tuple[int, Counter[str]]:
    """Section 1's stated total and its table as type -> count (a row naming two types, the second
    by its last part only, ``Role` / `RoleBinding``, counts ``2 / 2``; components are one row)."""
    text = (DOCS / "compile-kubernetes.md").read_text()
    section = text.split("## 1. What a system becomes", 1)[1].split("\n## 2.", 1)[0]
    total = int(re.search(r"environment \((\d+) resources", section).group(1))
    table: Counter[str] = Counter()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or not cells[1][:1].isdigit():
            continue
        names = re.findall(r"`([^`]+)`", cells[0])
        counts = [int(n) for n in re.split(r"\s*/\s*", cells[1])]
        if cells[0].startswith("components"):
            table["mlops:*"] += counts[0]
            continue
        assert len(names) == len(counts), line
        full = names[0]
        for name, count in zip(names, counts, strict=True):
            if ":" not in name:  # the short form of a second type of the same group and version
                name = full.rsplit(":", 1)[0] + ":" + name
            table[name] += count
    return total, table


def test_the_kubernetes_page_states_the_reference_dev_graph() -> None:
    graph = _graph_types("fraud-detection", "dev")
    total, table = _kubernetes_section_one()
    components = sum(n for t, n in graph.items() if t.startswith("mlops:"))
    expected = Counter({t: n for t, n in graph.items() if not t.startswith("mlops:")}) + Counter({"mlops:*": components})
    assert (total, dict(table)) == (sum(graph.values()), dict(expected))


@pytest.mark.parametrize(("example", "stated"), [
    ("fraud-detection", r"What the reference's `prod` environment becomes \((\d+) resources\)"),
    ("llm-platform", r"The `llm-platform` example compiles to (\d+) resources in `prod`"),
    ("quickstart", r"The `quickstart` example compiles\s+to (\d+)\."),
])
def test_the_aws_page_states_the_prod_totals(example: str, stated: str) -> None:
    text = (DOCS / "compile-aws.md").read_text()
    assert int(re.search(stated, text).group(1)) == sum(_graph_types(example, "prod").values())
