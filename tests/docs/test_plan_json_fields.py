"""docs/plan-json.md says "tools may rely on every field below": its top-level table names every
top-level property the plan schema (schemas/plan-v1.schema.json) has (audit docs-8: ``sequences`` and
``refresh`` were in every or every refreshed plan and in no row)."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_top_level_table_names_every_property_of_the_plan_schema() -> None:
    schema = json.loads((ROOT / "schemas" / "plan-v1.schema.json").read_text())
    text = (ROOT / "docs" / "plan-json.md").read_text()
    table = text.split("| field | meaning |", 1)[1].split("\n\n", 1)[0]
    named = {name for row in table.splitlines() if row.startswith("| `")
             for name in re.findall(r"`([A-Za-z]+)`", row.split("|")[1])}
    assert set(schema["properties"]) <= named, sorted(set(schema["properties"]) - named)
