"""compile/naming.py: physical names. Its shortcut (a name already made of ``a-z0-9-`` skips the
substitution) gives the substitution's result."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_infra.compile.naming import common_prefix, physical_name, short_hash

_PARTS = st.lists(st.text(st.sampled_from("abcXYZ019-_. /é\u212aİßΣ\u0130ǅ")
                          | st.characters(max_codepoint=0x2FF), max_size=12), max_size=5)


def _substituted(*parts: str, max_len: int = 63, sep: str = "-") -> str:
    """physical_name as it was before the shortcut: always the substitution."""
    name = sep.join([p for p in parts if p])
    name = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    if len(name) <= max_len:
        return name
    digest = short_hash(name, 7)
    return f"{name[: max_len - len(digest) - 1].rstrip('-')}-{digest}"


@settings(max_examples=600, deadline=None)
@given(_PARTS, st.integers(8, 70), st.sampled_from(["-", "", "_", "."]))
def test_the_shortcut_gives_the_substitutions_name(parts: list[str], max_len: int, sep: str) -> None:
    assert physical_name(*parts, max_len=max_len, sep=sep) == _substituted(*parts, max_len=max_len, sep=sep)


def test_names_that_take_the_shortcut_and_names_that_do_not() -> None:
    assert physical_name("Fraud", "prod", "scorer-01") == "fraud-prod-scorer-01"
    assert physical_name("-a-", "", "b--c") == "a--b--c"
    assert physical_name("a_b", "\u212a") == "a-b-k"  # the Kelvin sign lowercases to ASCII k
    assert physical_name("\u0130x") == "i-x"  # dotted capital I lowercases to i and a combining dot
    assert physical_name("---") == "" and physical_name() == ""


def test_common_prefix_is_os_paths_answer() -> None:
    import os

    cases = [[], ["a"], ["abc", "abd", "ab"], ["x-1", "y-1"], ["same", "same"], ["", "a"],
             ["bench-platform-prod-train-a-on-x", "bench-platform-prod-train-a-on-y", "bench-platform-prod-train-b"]]
    for texts in cases:
        assert common_prefix(texts) == os.path.commonprefix(texts), texts  # noqa: RUF071 (characters wanted)
