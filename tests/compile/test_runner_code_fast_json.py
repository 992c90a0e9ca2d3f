"""The rollout runners' shipped source never sends ``graph --format json`` down the standard library's
writer (a regression found by the end bench of stop 39: ``canary_size.py``'s docstring quoted a float,
``7.0000...``, which orjson and ``json`` may spell differently (``jsoncodec.STDLIB_SPELLING_TRIGGERS``), so the whole
22,445-resource graph was written by ``json.dumps(indent=2)``: 2.9 s and 526 MB against 1.1 s and 203 MB).

Every graph with a rollout embeds these files' text (``compile/rollout_code.py``); a text that matches the triggers
costs every such graph the slow writer. Before the fix ``canary_size.py`` failed here."""

from __future__ import annotations

import orjson
import pytest

from mlops_infra import jsoncodec
from mlops_infra.compile import rollout_code


@pytest.mark.parametrize("kind", ["AWS", "KUBERNETES"])
def test_no_shipped_runner_file_makes_the_json_writer_fall_back(kind: str) -> None:
    for path, text in rollout_code.files(getattr(rollout_code, kind)):
        data = orjson.dumps({"text": text}, option=jsoncodec.PRETTY_OPTIONS)
        assert jsoncodec.spelled_as_stdlib(data), path
