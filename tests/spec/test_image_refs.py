"""Image references (spec/image_refs.py): the fast path never accepts what the parser refuses, and
:func:`image_pin` reads tags and digests as the parser does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from docker_image import reference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_infra.spec.image_refs import IMAGE_MAX, PLAIN_REFERENCE, image_pin, image_problem

ROOT = Path(__file__).resolve().parents[2]


def _parsed(text: str):
    return reference.Reference.parse_normalized_named(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.from_regex(PLAIN_REFERENCE, fullmatch=True).filter(lambda t: len(t) <= IMAGE_MAX))
def test_every_plain_reference_is_one_the_parser_accepts_unchanged(text: str) -> None:
    """What the fast path accepts, distribution/reference's grammar (docker-image-py) accepts as it
    is: same name, same tag, no Docker Hub normalisation."""
    parsed = _parsed(text)
    match = PLAIN_REFERENCE.fullmatch(text)
    assert match is not None
    tag = match.group("tag")
    assert parsed["name"] == (text[: -len(tag) - 1] if tag else text)
    assert parsed["tag"] == tag and not parsed["digest"]


ALPHABET = "abcAB019.-_:/@x"


@settings(max_examples=1500, deadline=None)
@given(st.text(alphabet=ALPHABET, min_size=1, max_size=40))
def test_the_fast_path_never_accepts_what_the_parser_refuses(text: str) -> None:
    if PLAIN_REFERENCE.fullmatch(text):
        _parsed(text)  # raises on a reference the parser refuses


@pytest.mark.parametrize(("text", "pin"), [
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2", "tag"),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train", ""),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:latest", ""),
    ("localhost:5000/team/train", ""), ("localhost:5000/team/train:2", "tag"), ("python", ""),
    ("python:3.12-slim", "tag"), ("localhost:5000", "tag"), ("ghcr.io/org/train:latest@sha256:" + "a" * 64, "digest"),
    ("ghcr.io/org/train@sha256:" + "a" * 64, "digest"), ("registry.example.com:443/a/b:latest-cu121", "tag"),
])
def test_image_pin_reads_the_tag_and_digest_the_parser_reads(text: str, pin: str) -> None:
    assert image_problem(text) == ""
    parsed = _parsed(text)
    assert image_pin(text) == pin
    assert pin == ("digest" if parsed["digest"] else "tag" if parsed["tag"] not in (None, "latest") else "")


def test_validating_the_examples_does_not_load_the_reference_parser() -> None:
    """Importing docker-image-py compiles its grammar and the ``regex`` module at every start of the
    CLI; references in the common shape do not need it."""
    code = ("import sys; from mlops_infra.spec import load_system; "
            "results = [load_system(p) for p in sys.argv[1:]]; assert all(r.ok for r in results); "
            "print(sorted(m for m in ('docker_image', 'regex') if m in sys.modules))")
    examples = [str(p) for p in sorted((ROOT / "examples").glob("*/mlsystem.yaml"))]
    run = subprocess.run([sys.executable, "-c", code, *examples], capture_output=True, text=True, timeout=120,
                         check=True)
    assert run.stdout.strip() == "[]"
