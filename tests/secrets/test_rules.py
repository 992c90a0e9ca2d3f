"""The ruleset: every shape found in every wrapping, ordinary text left alone, detect-secrets in sync."""

from __future__ import annotations

import importlib
import random
import re
import string

import pytest

from mlops_infra.secrets import contains_secret, find_secrets, redact, secret_kinds
from mlops_infra.secrets import rules as rules_module
from mlops_infra.secrets import scan as scan_module
from mlops_infra.secrets.rules import CREDENTIAL_NAME_WORDS, PLUGIN_MODULES, RULES

AWS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

EXAMPLES: dict[str, list[str]] = {
    "an AWS access key id": ["AKIAIOSFODNN7EXAMPLE", "ASIAY34FZKBOKMUTVV7A"],
    "an AWS secret access key": [f"secret_access_key: {AWS_KEY}", f'"aws_secret_access_key": "{AWS_KEY}"',
                                 f'["--aws-secret-access-key", "{AWS_KEY}"]', f"AWS_SECRET_ACCESS_KEY={AWS_KEY}",
                                 f"AKIAIOSFODNN7EXAMPLE:{AWS_KEY}", "Zq8/3kP2vN+7xR4mW1tY9bC6dF0gH5jL2nQ8sU3w"],
    "a Slack token": ["xoxb-123456789012-abcdefghijkl", "xoxp-1234-5678-90ab-cdefabcdef"],
    "a Slack webhook URL": ["https://hooks.slack.com/services/T01234567/B01234567/abcdefghijklmnopqrstuvwx",
                            "https://hooks.slack.com/workflows/T0123/A0123/456/abcdefgh"],
    "a GitHub token": ["ghp_" + "A1b2" * 9, "github_pat_11ABCDEFG0123456789abcdefghijk"],
    "a GitLab token": ["glpat-abcdefghij0123456789", "GR1348941abcdefghij0123456789", "glcbt-abcdefghij0123456789",
                       "glimt-" + "a1" * 12 + "b", "glptt-" + "a" * 40, "glagent-" + "a" * 50, "gloas-" + "a" * 64],
    "a private key": ["-----BEGIN RSA PRIVATE KEY-----", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn",
                      "-----BEGIN ENCRYPTED PRIVATE KEY-----", "-----BEGIN DSA PRIVATE KEY-----",
                      "-----BEGIN EC PRIVATE KEY-----", "-----BEGIN PGP PRIVATE KEY BLOCK-----",
                      "-----BEGIN PRIVATE KEY-----", "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----",
                      "PuTTY-User-Key-File-2: ssh-rsa"],
    "a password in a URL": ["postgres://admin:S3cretPw@db.internal:5432/app", "https://u:hunter22@example.com/x"],
    "a password in a URL or image reference": ["user:hunter2pass@registry.example.com/team/img:1"],
    "a credential in a URL query string": ["https://api.example.com/x?token=pul-1234567890abcdef",
                                           "azblob://c?storage_key=abcdEFGH1234",
                                           "https://b.s3.amazonaws.com/k?X-Amz-Signature=abcdef0123&x=1"],
    "a JSON web token": ["eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"],
    "a Stripe key": ["sk_live_" + "a1B2" * 6],
    "a SendGrid key": ["SG." + "a" * 22 + "." + "b" * 43],
    "an OpenAI key": ["sk-proj-abcdefghij0123456789ABCD", "sk-" + "a1" * 10 + "T3BlbkFJ" + "b2" * 10],
    "a PyPI token": ["pypi-AgEIcHlwaS5vcmc" + "A" * 70, "pypi-AgENdGVzdC5weXBpLm9yZw" + "A" * 70],
    "an npm token": ["//registry.npmjs.org/:_authToken=npm_" + "a" * 36, "npm_" + "aB3" * 12],
    "an Azure storage key": ["AccountKey=" + "a" * 86 + "=="],
    "a Square OAuth secret": ["sq0csp-" + "a" * 43],
    "an Artifactory token": ["AKCabcdefghij12", '"AKCp5abcdefghij12"'],
    "a Discord or Teams webhook URL": ["https://discord.com/api/webhooks/123/abcdefghijklmnop",
                                       "https://x.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123"],
    "a PagerDuty key": ["routing_key: e93facc04764012d7bfb002500d5d1a6",
                        "--pagerduty-integration-key R0AB12CD34EF56GH78IJ90KL12MN34OP"],
    "a bearer token": ["Authorization: Bearer abcDEF123456ghiJKL789", "curl -H 'bearer 9f8Ae7b6C5d4E3f2'"],
    "a credential in an Authorization header": ["authorization: Basic dXNlcjpwYXNzd29yZA=="],
    "a Pulumi secret value": ['{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}'],
}

ORDINARY = [
    "arn:aws:secretsmanager:us-east-1:111111111111:secret:slack-oncall-webhook-??????",
    "arn:aws:sns:eu-west-1:222222222222:fraud-detection-prod-alerts-oncall-pager-routing",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2",
    "repo@sha256:" + "ab12" * 16, "risk-ml@example.com", "mailto:someone123@example.com",
    "targetTrackingScalingPolicyConfiguration", "3cb3449353ba966b44f29f5deba6ea92be4e2c5a",
    'secret_key=os.environ["AWS_SECRET_ACCESS_KEY"]', "ecr:GetAuthorizationToken", "routing: by-latency",
    "https://github.com/aws-samples/foundation-model-benchmarking-tool/blob/d88142/pricing.yml",
    "https://hooks.example.com/x", "s3://bucket/path?region=us-east-1", "(sensitive)", "secretsmanager:GetSecretValue",
    "Bearer token", "kmsKeyId", "tokenizer: bert-base-uncased",
]


def test_every_rule_kind_has_examples() -> None:
    assert {r.kind for r in RULES} == set(EXAMPLES)


@pytest.mark.parametrize(("kind", "text"), [(k, t) for k, ts in EXAMPLES.items() for t in ts])
def test_each_shape_is_found_alone_and_inside_other_text(kind: str, text: str) -> None:
    for wrapped in (text, f"prefix {text} suffix", f'{{"x": ["a", "{text}"]}}', f"é≠ {text}\nnext line"):
        assert kind in secret_kinds(wrapped) or _covered(wrapped), wrapped
        redacted = redact(wrapped)
        assert "<redacted:" in redacted
        for finding in find_secrets(wrapped):
            assert wrapped[finding.start:finding.end] not in redacted


def _covered(text: str) -> bool:
    """Another kind covers the same span (overlaps are reported once)."""
    return bool(find_secrets(text))


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert find_secrets(text) == [] and redact(text) == text and not contains_secret(text)


def test_the_keyword_list_is_detect_secrets_own() -> None:
    from detect_secrets.plugins.keyword import DENYLIST

    assert tuple(DENYLIST) == CREDENTIAL_NAME_WORDS


def test_every_plugin_rule_names_a_real_pattern_of_the_installed_detect_secrets() -> None:
    for rule in RULES:
        if rule.plugin:
            module = importlib.import_module(f"detect_secrets.plugins.{PLUGIN_MODULES[rule.plugin]}")
            denylist = getattr(module, rule.plugin).denylist
            assert rule.index is not None and rule.index < len(denylist), rule
            # one of our examples is matched by exactly this pattern, and holds one of the rule's anchors
            matched = [t for t in EXAMPLES[rule.kind] if denylist[rule.index].search(t)]
            assert matched, rule
            assert rule.trigger or any(a.lower() in t.lower() for t in matched for a in rule.anchors), rule


def test_the_plugins_themselves_find_the_examples() -> None:
    """detect-secrets' own analyze_string agrees with us on the examples of the plugin rules."""
    for rule in RULES:
        if not rule.plugin or rule.kind == "a password in a URL":
            continue
        module = importlib.import_module(f"detect_secrets.plugins.{PLUGIN_MODULES[rule.plugin]}")
        plugin = getattr(module, rule.plugin)()
        assert any(list(plugin.analyze_string(t)) for t in EXAMPLES[rule.kind]), rule.plugin


def test_the_standard_re_engine_finds_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlops_infra.jsoncodec import STDLIB_SPELLING_TRIGGERS

    texts = [t for ts in EXAMPLES.values() for t in ts] + ORDINARY
    texts += [f'"{t}": 1e-5' for t in texts[:5]] + ["caf\u00e9 " + t for t in texts[:5]]

    def found() -> list:
        beside = [scan_module.find_secrets_beside(t.encode(), STDLIB_SPELLING_TRIGGERS) for t in texts]
        return [find_secrets(t) for t in texts] + beside

    expected = found()
    monkeypatch.setattr(scan_module, "engine", lambda: re)
    caches = (scan_module._prefilter, scan_module._others, scan_module._prefilter_beside,
              scan_module._remembered_key_candidates_only, scan_module._key_runs)
    for cache in caches:
        cache.cache_clear()
    try:
        assert found() == expected
    finally:
        for cache in caches:
            cache.cache_clear()


def test_bytes_and_text_give_the_same_spans_for_ascii() -> None:
    text = "a AKIAIOSFODNN7EXAMPLE b " + EXAMPLES["a Slack token"][0]
    assert find_secrets(text) == find_secrets(text.encode())


def test_offsets_are_characters_for_non_ascii_text() -> None:
    text = "ünïcödé → AKIAIOSFODNN7EXAMPLE"
    [finding] = find_secrets(text)
    assert text[finding.start:finding.end] == "AKIAIOSFODNN7EXAMPLE"


def test_entropy_keeps_words_and_digests_out() -> None:
    assert not rules_module.looks_random("targetTrackingScalingPolicyConfiguration", 4.2)
    assert rules_module.looks_random(AWS_KEY, 4.2)


def test_a_whole_json_web_token_is_redacted_with_its_signature() -> None:
    """detect-secrets' JWT pattern ends lazily (``*?``): its match stops before the signature. The
    span is carried over the token's characters, so nothing of it is left (found by the property
    test of tests/secrets/test_no_secret_in_any_output.py)."""
    token = "eyJhbGciOiAiSFMyNTYifQ.eyJzdWIiOiAiMTIzIn0.B78PLhyy6NMlqwXObMAHCPRPchhhBOvKzF0laguleel"
    for text in (token, f"image: {token}@x", f'"{token}", next'):
        [finding] = find_secrets(text)
        assert text[finding.start:finding.end] == token
        assert "B78PL" not in redact(text) and "<redacted: a JSON web token>" in redact(text)


@pytest.mark.parametrize("newline", ["\\n", "\\x0a", " ", "\n", "\r\n"])
def test_a_whole_private_key_is_redacted_with_its_body(newline: str) -> None:
    """Found by its BEGIN line; the body and END line go too, on one line as JSON (``\\n``) or an
    escaped diagnostic (``\\x0a``) writes them (found by the property test), or on lines of their
    own (a scan window ends at its hit's line: the body after it was printed, found by the property
    test again, a private key as a label key in ``validate --format json``)."""
    body = "MBblpPlHh0C+imS09UIdepObPJ+2Zk1MdZe5GM4h6j0U+0zS3BGu3qo8HfR+Czta"
    key = f"-----BEGIN PRIVATE KEY-----{newline}{body}{newline}{body[::-1]}{newline}-----END PRIVATE KEY-----"
    text = f"image {key} is not in Amazon ECR"
    assert redact(text) == "image <redacted: a private key> is not in Amazon ECR"


KEY_FILES = {
    "PEM, RSA with headers (RFC 7468, RFC 1421)": (
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0A1B2C3D\n\n{body}\n"
        "-----END RSA PRIVATE KEY-----"),
    "PEM, PKCS #8": "-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----",
    "PEM, encrypted PKCS #8": "-----BEGIN ENCRYPTED PRIVATE KEY-----\n{body}\n-----END ENCRYPTED PRIVATE KEY-----",
    "PEM, EC": "-----BEGIN EC PRIVATE KEY-----\n{body}\n-----END EC PRIVATE KEY-----",
    "OpenSSH": "-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n-----END OPENSSH PRIVATE KEY-----",
    "OpenPGP armor (RFC 4880)": ("-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2.0.22 (GNU/Linux)\n\n{body}\n"
                                 "=nB7x\n-----END PGP PRIVATE KEY BLOCK-----"),
    "SSH2 (RFC 4716 framing)": ('---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nComment: "rsa-key-20240101"\n{body}\n'
                                "---- END SSH2 ENCRYPTED PRIVATE KEY ----"),
    "PuTTY v2": ("PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\nComment: rsa-key-20240101\nPublic-Lines: 1\n"
                 "AAAAB3NzaC1yc2E\nPrivate-Lines: 2\n{body}\nPrivate-MAC: 8a1f09c2d3e4"),
    "PuTTY v3": ("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: eddsa-key-20240101\n"
                 "Public-Lines: 1\nAAAAC3NzaC1lZDI1NTE5\nKey-Derivation: Argon2id\nPrivate-Lines: 2\n{body}\n"
                 "Private-MAC: 0a1b2c3d4e5f"),
}


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\\n", "\\x0a"])
@pytest.mark.parametrize("form", sorted(KEY_FILES))
def test_a_private_key_file_is_redacted_from_its_first_line_to_its_last(form: str, newline: str) -> None:
    """Every private key format the rules name, its lines ended as a file, JSON or an escaped
    diagnostic writes them, inside a message: nothing of the key is left, what follows it is kept."""
    rng = random.Random(form)
    lines = ["".join(rng.choice(string.ascii_letters + string.digits + "+/") for _ in range(64)) for _ in range(3)]
    key = KEY_FILES[form].format(body="\n".join(lines)).replace("\n", newline)
    for text in (key, f"label key {key} is not a valid AWS tag key", f'["metadata", "{key}", "[key]"]'):
        redacted = redact(text)
        assert "<redacted: a private key>" in redacted, redacted
        assert not any(line[:12] in redacted for line in lines), redacted
        assert redacted.endswith(text[text.index(key) + len(key):]), redacted


def test_a_literal_trigger_never_hides_another_rules_anchor() -> None:
    """The prefilter's matches do not overlap: a hit on one literal anchor (``BEGIN RSA PRIVATE
    KEY``, detect-secrets' header-only rule) covers any anchor overlapping it (``PRIVATE KEY``,
    the rule that carries the span over the body). For every pair of anchors that can overlap in a
    text, the rules tried on the window of the first include the second's."""
    anchors = {a: r for r in RULES if not r.trigger for a in r.anchors}
    for first, rule in anchors.items():
        for second, other in anchors.items():
            if other is rule:
                continue
            for k in range(1, min(len(first), len(second)) + 1):  # second starting inside first, or within it
                if first.endswith(second[:k]) or second in first:
                    text = first + second[k:] if second not in first else first
                    tried = scan_module._with_anchored(text.encode(), set(scan_module._rules_of_hit(first.encode())
                                                                           or (rule,)))
                    assert other in tried, (first, second)
                    break


@pytest.mark.parametrize("secret", [
    "https://api.example.com/v1/hook?secret=Ab3dEfGh1jKlMn0pQr5t",
    "https://api.example.com/v1/hook?token=Ab3dEfGh1jKlMn0pQr5t&x=1",
])
def test_a_trigger_inside_another_triggers_match_is_still_tried(secret: str) -> None:
    """The prefilter finds leftmost, non-overlapping matches: the userinfo trigger (``user:…@``)
    swallows a query-string credential inside it, and the userinfo rule itself does not match
    there (the part after ``user:`` holds ``:``). Every rule whose trigger matches the window is
    tried (found by the property test, an image reference with credentials in dev)."""
    value = secret.split("=", 1)[1].split("&")[0]
    for text in (f"user:{secret}@registry.example.com/fraud-train:1.4.2",
                 f"  image: user:{secret}@registry.example.com/fraud-train:1.4.2"):
        assert secret_kinds(text) == ["a credential in a URL query string"]
        assert value not in redact(text)


ASCII_SPACES = " \t\n\v\f\r"
"""What ``\\s`` matches in a bytes pattern of Python's ``re`` (the rules' patterns). RE2, which runs
the one-pass prefilter of the rules' triggers, has no ``\\v`` in its ``\\s``."""


@pytest.mark.parametrize(("kind", "text"), [(k, t) for k, ts in EXAMPLES.items() for t in ts])
def test_the_prefilter_never_hides_what_a_rule_finds_beside_a_byte_that_is_not_utf8(kind: str, text: str) -> None:
    """Bytes given to the scan need not be UTF-8. Every example with a lone byte 0x80-0xFF put at each
    position: when the rule's own pattern (``re`` over bytes: one byte, one character) still finds
    it (and its check accepts it: the rule run alone over the whole text), the scan finds it too. A
    prefilter in RE2's UTF-8 mode, where a negated class never matches an invalid byte, missed
    ``https://u:hunt\\xffer22@example.com`` and the scan printed it."""
    rules = [r for r in RULES if r.kind == kind]
    data = text.encode()
    for at in range(len(data) + 1):
        for byte in (b"\x80", b"\xc3", b"\xff"):
            variant = data[:at] + byte + data[at:]
            if any(next(scan_module._matches(rule, variant, variant, 0), None) for rule in rules):
                assert find_secrets(variant), repr(variant)  # its kind, or another covering the span


@pytest.mark.parametrize(("kind", "text"), [(k, t) for k, ts in EXAMPLES.items() for t in ts if " " in t])
def test_the_prefilter_never_hides_what_a_rule_finds_whatever_the_space(kind: str, text: str) -> None:
    """Every example with its spaces replaced by each ASCII whitespace character: when the rule's
    own pattern still finds it, the scan (prefilter first) finds it too. A trigger spelled with RE2's
    ``\\s`` missed ``Bearer<VT>token`` and ``Authorization:<VT>Basic ...``: printed unredacted."""
    patterns = [rules_module.pattern_of(r) for r in RULES if r.kind == kind]
    for space in ASCII_SPACES:
        variant = text.replace(" ", space)
        if any(p.search(variant.encode()) for p in patterns):
            assert kind in secret_kinds(variant) or _covered(variant), repr(variant)
            assert contains_secret(variant) and "<redacted:" in redact(variant), repr(variant)
