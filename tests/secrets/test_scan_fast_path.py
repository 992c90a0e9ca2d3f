"""The scan's shortcut for windows opened only by 40-character key candidates finds exactly what
the full rules find: its premises hold for the ruleset, it does take the hot false candidates of
a compiled graph, and on random texts built from every rule's examples, the ordinary texts and
those candidates (with every ASCII whitespace character and JSON punctuation between them) the
scan reports the same findings with and without it.
"""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mlops_infra.jsoncodec import STDLIB_SPELLING_TRIGGERS
from mlops_infra.secrets import find_secrets, redact
from mlops_infra.secrets import scan as scan_module
from mlops_infra.secrets.rules import KEY40, RULES, pattern_of
from tests.secrets.test_rules import EXAMPLES, ORDINARY

HOT = ['"targetTrackingScalingPolicyConfiguration": {', '\\"TargetTrackingScalingPolicyConfiguration\\":',
       "`TargetTrackingScalingPolicyConfiguration`", '"CloudWatchAlarmsPublishToEncryptedTopics"',
       "targetTrackingScalingPolicyConfiguration", "3cb3449353ba966b44f29f5deba6ea92be4e2c5a",
       "A" * 40, "a1" * 20, "Ab1" * 13 + "C", "targetTrackingScalingPolicyConfiguration="]
"""The 40-character words of a compiled graph and plan (one per scaling policy), a digest, and
tokens of the key alphabet that a key rule rejects (no digit, one case, low entropy)."""

KEY_ALPHABET = string.ascii_letters + string.digits + "/+"
SEPARATORS = ["", "", " ", "\t", "\n", "\v", "\f", "\r", '"', "'", ":", "=", ",", "/", "+", "@", "?", "&", "\\", "{", "}",
              "[", "]", "`", "", ": ", '": "', "\\n", "é"]

PIECES = [t for ts in EXAMPLES.values() for t in ts] + ORDINARY + HOT


def _full_scan(monkeypatch: pytest.MonkeyPatch, text: str) -> list[scan_module.Finding]:
    """The scan with its shortcuts off: every window checked, the prefilter's pass never split."""
    with monkeypatch.context() as patched:
        patched.setattr(scan_module, "_nothing_to_find", lambda window, rules: False)
        patched.setattr(scan_module, "SPLIT_ABOVE", None)
        return find_secrets(text)


def test_every_key_rule_reports_a_standalone_40_character_token_it_accepts() -> None:
    """The premise of the shortcut: a key rule's finding is its pattern's KEY40 group (a standalone
    token of the key alphabet), taken only when the rule's ``accept`` takes it, never extended."""
    key_rules = [r for r in RULES if r.key40]
    assert key_rules
    for rule in key_rules:
        pattern = pattern_of(rule)
        assert rule.pattern.endswith(KEY40) and pattern.groups == 1 and rule.group == 1, rule
        assert not rule.extend and not rule.plugin and rule.accept is not None, rule


def test_the_hot_false_candidates_take_the_shortcut() -> None:
    key_rules = {r for r in RULES if r.key40}
    for line in HOT[:4]:
        assert scan_module._nothing_to_find(f"    {line}\n".encode(), key_rules), line
    # not taken when another rule's anchor or trigger is in the window, or a token could be a key
    for line in ('"targetTrackingScalingPolicyConfiguration": "AKIAIOSFODNN7EXAMPLE"',
                 '"targetTrackingScalingPolicyConfiguration": "https://u:hunter22@example.com"',
                 '"targetTrackingScalingPolicyConfiguration": "Zq8/3kP2vN+7xR4mW1tY9bC6dF0gH5jL2nQ8sU3w"'):
        assert not scan_module._nothing_to_find(line.encode(), key_rules), line


@pytest.mark.parametrize("piece", PIECES)
def test_each_piece_alone_and_beside_a_hot_word(monkeypatch: pytest.MonkeyPatch, piece: str) -> None:
    for text in (piece, f'"{HOT[4]}": "{piece}"', f"{piece} {HOT[4]}\n{HOT[1]}{piece}"):
        assert find_secrets(text) == _full_scan(monkeypatch, text), text


@st.composite
def texts(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.integers(0, 4))
        if kind == 0:
            parts.append(draw(st.sampled_from(PIECES)))
        elif kind == 4:  # a piece inside a run of the key alphabet (a candidate hiding an anchor)
            piece = draw(st.sampled_from(PIECES))
            pad = max(0, 40 - len(piece))
            left = draw(st.integers(0, pad))
            parts.append(draw(st.text(st.sampled_from(KEY_ALPHABET), min_size=left, max_size=left)) + piece
                         + draw(st.text(st.sampled_from(KEY_ALPHABET), min_size=pad - left, max_size=pad - left)))
        elif kind == 1:
            parts.append(draw(st.sampled_from(HOT)))
        elif kind == 2:  # a token of the key alphabet near 40 characters: a key, a word, neither
            size = draw(st.sampled_from((39, 40, 40, 41)))
            parts.append(draw(st.text(st.sampled_from(KEY_ALPHABET), min_size=size, max_size=size)))
        else:
            parts.append(draw(st.text(st.sampled_from(string.printable + "é€"), max_size=12)))
        parts.append(draw(st.sampled_from(SEPARATORS)))
    return "".join(parts)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts())
@example(text='"AKIAIOSFODNN7EXAMPLE' + "a" * 20 + '": 1')  # an anchor inside a candidate that is no key
@example(text='"4dabf18193072939515e22adb298388dabcdefgh": 1')
@example(text='{"targetTrackingScalingPolicyConfiguration"Zq8/3kP2vN+7xR4mW1tY9bC6dF0gH5jL2nQ8sU3w"}')
def test_the_scan_finds_the_same_with_and_without_the_shortcut(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    found = find_secrets(text)
    assert found == _full_scan(monkeypatch, text), text
    assert found == find_secrets(text.encode("utf-8", "surrogatepass")) or not text.isascii()
    if found:
        assert "<redacted:" in redact(text)


def test_a_key_beside_a_hot_word_is_still_found() -> None:
    """Two standalone tokens separated by one character: the prefilter's candidate match for the
    first takes the separator, so only the window finds the second (a key)."""
    key = "Zq8/3kP2vN+7xR4mW1tY9bC6dF0gH5jL2nQ8sU3w"
    for text in (f'"targetTrackingScalingPolicyConfiguration"{key}"', f"targetTrackingScalingPolicyConfiguration {key}"):
        [finding] = find_secrets(text)
        assert text[finding.start:finding.end] == key
        assert re.search(re.escape(key), redact(text)) is None


# -- find_secrets_beside: the prefilter's pass looking for another pattern too ---------------------------

SPELLING = STDLIB_SPELLING_TRIGGERS
"""The pattern graph --format json gives find_secrets_beside."""

BESIDE_PIECES = [*PIECES, "1e-5", "2.5e-7", "0.00001", "1e-50", "e-5", "x1e-5", "10.00001", "\x7f", "é", "\u2028",
                 "0", "9", "e", "-", ".", "0000"]


def _starts(pattern: bytes, data: bytes) -> list[int]:
    """Every place a match of ``pattern`` starts (overlapping ones too)."""
    compiled = re.compile(pattern)
    return [i for i in range(len(data)) if compiled.match(data, i)]


@st.composite
def beside_texts(draw: st.DrawFn) -> bytes:
    parts = []
    for _ in range(draw(st.integers(1, 8))):
        parts.append(draw(st.sampled_from(BESIDE_PIECES)) if draw(st.booleans())
                     else draw(st.text(st.sampled_from(string.printable + "é\x7f"), max_size=8)))
        parts.append(draw(st.sampled_from(SEPARATORS)))
    return "".join(parts).encode("utf-8", "surrogatepass")


@settings(max_examples=600, deadline=None)
@given(data=beside_texts())
@example(data=b"AKIAIOSFODNN7EXAMPLE1e-5")
@example(data=b"AKIA1e-5")
@example(data=b'"targetTrackingScalingPolicyConfiguration": 1e-5')
def test_the_pass_beside_another_pattern_finds_what_the_two_passes_find(data: bytes) -> None:
    """find_secrets_beside: None only when the other pattern matches; else the findings of
    find_secrets, the prefilter's own hits as spans, and every match of the other pattern starts
    in one of them."""
    result = scan_module.find_secrets_beside(data, SPELLING)
    starts = _starts(SPELLING, data)
    if result is None:
        assert starts
        return
    findings, spans = result
    assert findings == find_secrets(data)
    assert spans == [m.span() for m in scan_module._prefilter().finditer(data)]
    assert all(any(s <= i < e for s, e in spans) for i in starts), (starts, spans)


def test_the_pass_beside_reports_the_other_pattern_where_no_trigger_hides_it() -> None:
    assert scan_module.find_secrets_beside(b'{"a": 1e-5}', SPELLING) is None
    assert scan_module.find_secrets_beside(b'{"a": "\xc3\xa9"}', SPELLING) is None
    findings, spans = scan_module.find_secrets_beside(b'{"a": "AKIAIOSFODNN7EXAMPLE"}', SPELLING)
    assert [f.kind for f in findings] == ["an AWS access key id"] and spans == [(7, 11)]


@pytest.mark.parametrize("data", [b'"' + b"a" * 39 + b'9.00001"', "user:p\u00e4sswort@registry.example.com".encode()])
def test_a_match_of_the_other_pattern_inside_a_trigger_is_not_reported_but_lies_in_a_span(data: bytes) -> None:
    """What the pass cannot report: a match of the other pattern starting inside a trigger's match
    (a 40-character candidate ending in a digit before ``.00001``; a non-ASCII byte in a URL's
    password). Its start lies in a span, where the caller looks (jsoncodec.spelled_as_stdlib_near)."""
    result = scan_module.find_secrets_beside(data, SPELLING)
    assert result is not None
    starts = _starts(SPELLING, data)
    assert starts and all(any(s <= i < e for s, e in result[1]) for i in starts)


# -- the shortcut's answers: remembered per window, its tokens found with RE2 ---------------------------


@settings(max_examples=500, deadline=None)
@given(window=texts().map(lambda t: t.encode("utf-8", "surrogatepass")))
@example(window=b"A" * 40 + b"=" + b"B" * 40)
@example(window=b"A" * 40 + b" " + b"B" * 41 + b"\n" + b"C" * 80 + b"=")
def test_the_tokens_found_with_re2_are_key40s(window: bytes) -> None:
    """_key40_tokens (RE2, no look-arounds) finds exactly the tokens of KEY40 (re, look-arounds)."""
    assert list(scan_module._key40_tokens(window)) == [m.group(1) for m in re.finditer(KEY40.encode(), window)]


def test_a_remembered_answer_is_the_answer() -> None:
    key_rules = {r for r in RULES if r.key40}
    for line in [*HOT, '"targetTrackingScalingPolicyConfiguration": "Zq8/3kP2vN+7xR4mW1tY9bC6dF0gH5jL2nQ8sU3w"']:
        window = f"    {line}\n".encode()
        for _ in range(2):
            assert scan_module._nothing_to_find(window, key_rules) == scan_module._key_candidates_only(window)
    long = b'"' + b"x" * scan_module.REMEMBERED + b'": "targetTrackingScalingPolicyConfiguration"'
    assert scan_module._nothing_to_find(long, key_rules)
    assert scan_module._rules_of_hit(b'"' + b"A" * 40 + b'"') == scan_module._find_rules_of_hit(b'"' + b"A" * 40 + b'"')
