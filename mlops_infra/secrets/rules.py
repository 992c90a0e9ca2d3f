"""The secret shapes mlops-infra recognises: detect-secrets' plugins plus a few shapes it lacks.

Contract:
- :data:`RULES` lists every shape once. A :class:`Rule` names the kind of secret shown to users
  ("an AWS access key id"), the *anchors* (literal strings, at least one of which occurs in every
  match; case-insensitive when ``fold_case``) and where its patterns come from:
  ``plugin="AWSKeyDetector", index=0`` takes ``denylist[0]`` of that detect-secrets plugin (the
  maintained ruleset, imported only when an anchor is seen, since importing detect-secrets and its
  plugins is a large share of start-up: ``python -X importtime``); ``pattern=`` is a shape detect-secrets does not know, written here.
- ``trigger`` replaces the anchors with a prefilter pattern (RE2 syntax) where a literal would be
  too common (``@`` is in every email address, ``://`` in every URL); ``key40`` rules are
  triggered by any 40-character token of the AWS secret key alphabet.
- ``accept`` filters raw matches (detect-secrets' own JWT validity check; entropy checks).
- ``extend`` (a pattern, matched greedily where the match ends) carries a match's end over what
  belongs to the secret, after ``accept``: detect-secrets' JWT pattern ends lazily (``[...]*?``),
  which finds a token but leaves its signature out of the span, and a private key is found by its
  ``BEGIN`` line, not its body; redaction must cover the whole token or key (on one line, as JSON's
  ``\n`` or an escaped ``\x0a`` writes it).
- Plugins deliberately left out, and why: TelegramBotTokenDetector (``\\d{8,10}:[\\w-]{35}``
  matches the account id and name of an ARN), TwilioKeyDetector (``AC``/``SK`` + 32 lower-case
  characters matches content hashes), MailchimpDetector, DiscordBotTokenDetector (no literal
  part: no anchor), KeywordDetector and the high-entropy detectors (context heuristics for source
  code; :data:`CREDENTIAL_NAME_WORDS` and :func:`looks_random` do that job here), the IBM,
  SoftLayer and Cloudant detectors (keyword based), ArtifactoryDetector's password form.
- :data:`CREDENTIAL_NAME_WORDS` is detect-secrets' ``KeywordDetector`` DENYLIST (a test keeps the
  copy equal to the installed version) plus :data:`EXTRA_CREDENTIAL_WORDS`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

AWS_SECRET_KEY_KIND = "an AWS secret access key"
PRIVATE_KEY_KIND = "a private key"


@dataclass(frozen=True, eq=False)
class Rule:
    """One secret shape (see the module contract)."""

    kind: str
    anchors: tuple[str, ...] = ()
    plugin: str = ""
    index: int | None = None
    pattern: str = ""
    group: int = 0
    fold_case: bool = False
    key40: bool = False
    trigger: str = ""
    accept: Callable[[str], bool] | None = None
    extend: str = ""
    last_line: str = ""
    """A private key's last line (``extend`` runs through it when it comes within
    :data:`KEY_REACH`): what ends a key written a line at a time (``secrets.guard``)."""

    @property
    def triggers(self) -> tuple[str, ...]:
        """Prefilter patterns (RE2 syntax: no look-arounds), one of which matches near every match."""
        if self.trigger.startswith("(?i)"):  # scoped: the triggers are joined into one alternation
            return (f"(?i:{self.trigger[4:]})",)
        if self.trigger:
            return (self.trigger,)
        if self.key40:
            return (KEY40_CANDIDATE,)
        escaped = tuple(re.escape(a) for a in self.anchors)
        return tuple(f"(?i:{a})" for a in escaped) if self.fold_case else escaped

    @property
    def source(self) -> str:
        return f"detect-secrets {self.plugin}" if self.plugin else "mlops-infra"


PLUGIN_MODULES = {
    "AWSKeyDetector": "aws", "SlackDetector": "slack", "GitHubTokenDetector": "github_token",
    "GitLabTokenDetector": "gitlab_token", "PrivateKeyDetector": "private_key", "BasicAuthDetector": "basic_auth",
    "JwtTokenDetector": "jwt", "StripeDetector": "stripe", "SendGridDetector": "sendgrid",
    "OpenAIDetector": "openai", "PypiTokenDetector": "pypi_token", "NpmDetector": "npm",
    "AzureStorageKeyDetector": "azure_storage_key", "SquareOAuthDetector": "square_oauth",
    "ArtifactoryDetector": "artifactory",
}
"""detect-secrets plugin class -> its module under ``detect_secrets.plugins``."""

CREDENTIAL_NAME_WORDS: tuple[str, ...] = (
    "api_?key", "auth_?key", "service_?key", "account_?key", "db_?key", "database_?key", "priv_?key",
    "private_?key", "client_?key", "db_?pass", "database_?pass", "key_?pass", "password", "passwd", "pwd",
    "secret", "contraseña", "contrasena",
)
"""detect-secrets ``KeywordDetector.DENYLIST`` (kept equal to the installed version by a test)."""

EXTRA_CREDENTIAL_WORDS: tuple[str, ...] = ("token", "credential", "bearer", "access_?key")
"""Credential names detect-secrets' keyword list lacks."""

CREDENTIAL_NAME = r"(?i)(?:" + "|".join(CREDENTIAL_NAME_WORDS + EXTRA_CREDENTIAL_WORDS) + r")"
"""The pattern of a name (mapping key, flag, variable) that says its value is a credential; ``-`` counts as
``_``. A source, not a compiled pattern, as are the patterns of other paths a clean run skips (error
messages, labels, parameter counts): the module-level functions of :mod:`re` compile a pattern the first
time and keep it in re's cache (Lib/re/__init__.py ``_compile``; the docs of ``re.compile``: "The compiled
versions of the most recent patterns passed to re.compile() and the module-level matching functions are
cached"), so an import compiles nothing a run does not use."""


def names_a_credential(name: str) -> bool:
    """Whether ``name`` (``secret_access_key``, ``--api-key``, ``DB_PASSWORD``) names a credential."""
    return bool(re.search(CREDENTIAL_NAME, name.replace("-", "_")))


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text`` (the measure detect-secrets' high-entropy detectors use)."""
    if not text:
        return 0.0
    counts: dict[str, int] = {}
    for char in text:
        counts[char] = counts.get(char, 0) + 1
    size = len(text)
    return -sum(n / size * math.log2(n / size) for n in counts.values())


def looks_random(token: str, min_entropy: float = 3.5) -> bool:
    """Upper and lower case letters, a digit (or ``/``, ``+``) and high entropy: a generated key,
    not a word (``targetTrackingScalingPolicyConfiguration``) or a hex digest."""
    return (any(c.isupper() for c in token) and any(c.islower() for c in token)
            and any(c.isdigit() or c in "/+" for c in token) and shannon_entropy(token) >= min_entropy)


KEY40 = r"(?<![A-Za-z0-9/+])([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
"""A 40-character token of the AWS secret access key alphabet, standing alone (``=`` may precede
it, an assignment, but not follow it: base64 padding)."""

KEY40_CANDIDATE = r"(?:^|[^A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?:[^A-Za-z0-9/+=]|$)"
""":data:`KEY40` without look-arounds (for the one-pass prefilter, RE2 has none)."""

_NAMES = "|".join(CREDENTIAL_NAME_WORDS + EXTRA_CREDENTIAL_WORDS)
_SPACE = r"[\t\n\v\f\r ]"
"""``\\s`` of the patterns (Python ``re`` on bytes), spelled out for the triggers: RE2's ``\\s`` lacks
``\\v``, and a trigger that misses what its pattern finds hides a secret (tests/secrets/test_rules.py)."""
_QUERY_NAMES = ("api_?key|apikey|key|access_?key(?:_?id)?|secret(?:_?access_?key)?|secret_?key|client_?secret"
                "|password|passwd|pwd|pass|token|access_?token|auth_?token|auth|sig|signature|sas"
                "|x-amz-security-token|x-amz-signature|x-amz-credential|credentials?|storage_?key|private_?key")

_KEY_FILE_BODY = r"(?:[A-Za-z0-9+/=:,._\s-]|\\(?:n|r|x0a|x0d|u000a|u000d))*"
"""What may follow a private key's first line when its last line is not found: PEM's base64 body
(RFC 7468 section 2: lines of base64, optional ``Name: value`` headers such as ``Proc-Type:
4,ENCRYPTED``), OpenPGP armor (RFC 4880 section 6.2: ``Version: ...`` headers, a blank line, base64
and a ``=`` checksum), a PuTTY key file's ``Name: value`` lines and base64 (PuTTY's documentation,
appendix C "PPK file format"), on their own lines or on one line as JSON (``\\n``) or an escaped
diagnostic (``\\x0a``) writes them. It stops at any other character (a quote, a bracket): what
follows a key cut short may go with it, never a part of the key."""

_PEM_END = r"-{4,5} ?END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)? ?-{4,5}"
_PUTTY_END = r"Private-MAC: ?[0-9a-fA-F]+"
KEY_REACH = 65536
"""How far a private key's last line is looked for after its first (a 16384-bit RSA key in PEM is
about 12 KB)."""


def _through(last_line: str) -> str:
    """An ``extend`` pattern over a private key: everything up to and including the first
    ``last_line`` within :data:`KEY_REACH` characters (whatever the headers, comments and line ends
    in between), else :data:`_KEY_FILE_BODY`."""
    return rf"(?:(?s:.){{0,{KEY_REACH}}}?{last_line}|{_KEY_FILE_BODY})"


RULES: tuple[Rule, ...] = (
    Rule("an AWS access key id", ("AKIA", "ASIA", "ABIA", "ACCA", "A3T"), plugin="AWSKeyDetector", index=0),
    # The 40-character secret access key: next to its key id, under a credential-like name, or
    # alone when it is random enough (a generated key, not a word or a digest).
    Rule(AWS_SECRET_KEY_KIND, ("AKIA", "ASIA"),
         pattern=r"(?:AKIA|ASIA)[0-9A-Z]{16}[^A-Za-z0-9/+=\n]{1,40}?" + KEY40, group=1,
         accept=lambda t: looks_random(t, 3.0)),
    Rule(AWS_SECRET_KEY_KIND, key40=True, group=1, accept=lambda t: looks_random(t, 3.0),
         pattern=r"(?i:" + _NAMES + r")[\w.-]{0,30}[\"']?\s*[:=,]?\s*[\"']?\s*" + KEY40),
    Rule(AWS_SECRET_KEY_KIND, key40=True, pattern=KEY40, group=1, accept=lambda t: looks_random(t, 4.2)),
    Rule("a Slack token", ("xox",), plugin="SlackDetector", index=0, fold_case=True),
    Rule("a Slack webhook URL", ("hooks.slack.com",), plugin="SlackDetector", index=1, fold_case=True),
    Rule("a Slack webhook URL", ("hooks.slack.com",), fold_case=True,
         pattern=r"(?i)hooks\.slack\.com/(?:workflows|triggers|services)/[A-Za-z0-9_/-]{8,}"),
    Rule("a GitHub token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), plugin="GitHubTokenDetector", index=0),
    Rule("a GitHub token", ("github_pat_",), pattern=r"github_pat_[A-Za-z0-9_]{22,}"),
    *(Rule("a GitLab token", anchors, plugin="GitLabTokenDetector", index=i) for i, anchors in enumerate((
        ("glpat-", "gldt-", "glft-", "glsoat-", "glrt-"), ("GR1348941",), ("glcbt-",), ("glimt-",),
        ("glptt-",), ("glagent-",), ("gloas-",)))),
    *(Rule(PRIVATE_KEY_KIND, (anchor,), plugin="PrivateKeyDetector", index=i) for i, anchor in enumerate((
        "BEGIN DSA PRIVATE KEY", "BEGIN EC PRIVATE KEY", "BEGIN OPENSSH PRIVATE KEY",
        "BEGIN PGP PRIVATE KEY BLOCK", "BEGIN PRIVATE KEY", "BEGIN RSA PRIVATE KEY",
        "BEGIN SSH2 ENCRYPTED PRIVATE KEY", "PuTTY-User-Key-File-2"))),
    Rule(PRIVATE_KEY_KIND, ("PuTTY-User-Key-File-",), pattern=r"PuTTY-User-Key-File-[0-9]+",
         extend=_through(_PUTTY_END), last_line=_PUTTY_END),
    Rule(PRIVATE_KEY_KIND, ("PRIVATE KEY",), pattern=r"-{4,5} ?BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)? ?-{4,5}",
         extend=_through(_PEM_END), last_line=_PEM_END),
    Rule("a password in a URL", plugin="BasicAuthDetector", index=0, group=1, trigger=r"://[^\s/@\"']+@"),
    Rule("a password in a URL or image reference", group=1, trigger=r"[A-Za-z0-9._%+-]+:[^\s:@\"'{}<>]{6,}@",
         pattern=r"(?<![\w/:@.%+-])(?!mailto:)[A-Za-z0-9._%+-]+:([^\s:@\"'{}<>]{6,})@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
    Rule("a credential in a URL query string", group=1,
         trigger=r"(?i)[?&](?:[\w.-]*[_.-])?(?:" + _QUERY_NAMES + r")=[^&#\s\"'<>]{4}",
         pattern=r"(?i)[?&](?:[\w.-]*[_.-])?(?:" + _QUERY_NAMES + r")=((?=[^&#\s\"'<>]*[A-Za-z0-9])[^&#\s\"'<>]{4,})"),
    Rule("a JSON web token", ("eyJ",), plugin="JwtTokenDetector", index=0, extend=r"[A-Za-z0-9_.+/=-]*"),
    Rule("a Stripe key", ("k_live_",), plugin="StripeDetector", index=0),
    Rule("a SendGrid key", ("SG.",), plugin="SendGridDetector", index=0),
    Rule("an OpenAI key", ("T3BlbkFJ",), plugin="OpenAIDetector", index=0),
    Rule("an OpenAI key", ("sk-proj-", "sk-svcacct-", "sk-admin-"),
         pattern=r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}"),
    Rule("a PyPI token", ("pypi-AgEIcHlwaS5vcmc",), plugin="PypiTokenDetector", index=0),
    Rule("a PyPI token", ("pypi-AgENdGVzdC5weXBpLm9yZw",), plugin="PypiTokenDetector", index=1),
    Rule("an npm token", ("_authToken",), plugin="NpmDetector", index=0),
    Rule("an npm token", ("npm_",), pattern=r"(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])"),
    Rule("an Azure storage key", ("AccountKey=",), plugin="AzureStorageKeyDetector", index=0),
    Rule("a Square OAuth secret", ("sq0csp-",), plugin="SquareOAuthDetector", index=0),
    Rule("an Artifactory token", ("AKC",), plugin="ArtifactoryDetector", index=0),
    Rule("a Discord or Teams webhook URL", ("discord", "webhook.office.com"), fold_case=True,
         pattern=r"(?i)(?:discord(?:app)?\.com/api/webhooks/\d+/[\w-]{10,}|\.webhook\.office\.com/webhookb2/[\w@/-]{10,})"),
    # The trigger is the pattern without its look-arounds (RE2 has none; ``\s`` spelled out: _SPACE),
    # so the word alone (``kind: pagerduty``, ``routing_key: {secret: ...}``) costs no window.
    Rule("a PagerDuty key", group=1, accept=lambda t: shannon_entropy(t) >= 3.0,
         trigger=r"(?i)(?:(?:routing|integration|service)[_-]?key|pagerduty)[\w.-]{0,30}[\"']?" + _SPACE + "*"
         r"[:=,]?" + _SPACE + r"*[\"']?" + _SPACE + "*[A-Za-z0-9+_-]{32}",
         pattern=r"(?i)(?:(?:routing|integration|service)[_-]?key|pagerduty)[\w.-]{0,30}[\"']?\s*[:=,]?\s*[\"']?\s*"
         r"(?<![A-Za-z0-9+_-])([A-Za-z0-9+_-]{32})(?![A-Za-z0-9+_-])"),
    Rule("a bearer token", trigger=r"(?i)bearer" + _SPACE + "+[A-Za-z0-9._~+/-]{16}", group=1,
         accept=lambda t: looks_random(t, 3.0),
         pattern=r"(?i)\bbearer\s+([A-Za-z0-9._~+/-]{16,}=*)"),
    Rule("a credential in an Authorization header", group=1,
         trigger=r"(?i)authorization[\"']?" + _SPACE + "*[:=]" + _SPACE + r"*[\"']?(?:basic|token|digest)" + _SPACE,
         pattern=r"(?i)authorization[\"']?\s*[:=]\s*[\"']?(?:basic|token|digest)\s+([A-Za-z0-9+/=._~-]{8,})"),
    Rule("a Pulumi secret value", ("4dabf18193072939515e22adb298388d",),
         pattern=r"4dabf18193072939515e22adb298388d"),
)
"""Every secret shape, in the order findings are reported when they overlap."""


@cache
def plugin_pattern(plugin: str, index: int) -> re.Pattern[str]:
    """``denylist[index]`` of a detect-secrets plugin (imported on first use)."""
    import importlib

    module = importlib.import_module(f"detect_secrets.plugins.{PLUGIN_MODULES[plugin]}")
    pattern = getattr(module, plugin).denylist[index]
    return pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)


@cache
def plugin_accept(plugin: str) -> Callable[[str], bool] | None:
    """A plugin's own filter of raw matches (the JWT detector checks the token decodes)."""
    if plugin != "JwtTokenDetector":
        return None
    from detect_secrets.plugins.jwt import JwtTokenDetector

    return JwtTokenDetector.is_formally_valid


@cache
def pattern_of(rule: Rule) -> re.Pattern[bytes]:
    """The compiled pattern of ``rule`` (its plugin's, or its own), for UTF-8 bytes."""
    if rule.plugin:
        assert rule.index is not None
        source = plugin_pattern(rule.plugin, rule.index)
        return re.compile(source.pattern.encode(), source.flags & ~re.UNICODE)
    return re.compile(rule.pattern.encode())
