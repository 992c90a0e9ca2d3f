"""URLs that may carry credentials (backend URLs, endpoint URLs), made safe to print.

Contract: :func:`redact_url` keeps the scheme, host, port, path and the names of query parameters,
and replaces a password in the user-info (``user:***@``), a user name shaped like a token, the
value of every query parameter whose name is credential-like (``access_key_id``,
``secret_access_key``, ``token``, ``sig``...) or whose value is secret-shaped, and any other
secret-shaped span (:func:`~mlops_infra.secrets.scan.redact`) with ``***``; a path segment, user
name or fragment that is secret-shaped once percent-decoded (``routing_key%3A%20<key>``) is
replaced whole. A URL that does not parse is replaced whole. Pure string work: nothing is resolved or fetched.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

from mlops_infra.secrets.scan import contains_secret, redact

HIDDEN = "***"

_CREDENTIAL_PARAM = (
    r"(?i)(?:^|[_.-])(?:api_?key|apikey|key|access_?key(?:_?id)?|secret(?:_?access_?key)?|secret_?key|client_?secret"
    r"|password|passwd|pwd|pass|token|access_?token|auth_?token|auth|sig|signature|sas|credentials?|storage_?key"
    r"|private_?key|x-amz-security-token|x-amz-signature|x-amz-credential|sv|se|sp|skoid|sktid)$")
"""Query parameter names whose values are credentials (AWS SigV4, Azure SAS, tokens, keys)."""


def redact_url(url: str) -> str:
    """``url`` with every credential replaced by ``***`` (see the module contract)."""
    try:
        parts = urlsplit(url)
        netloc = _netloc(parts)
        query = _query(parts.query)
        path = "/".join(HIDDEN if contains_secret(unquote(s)) else s for s in parts.path.split("/"))
        fragment = HIDDEN if contains_secret(unquote(parts.fragment)) else parts.fragment
        safe = urlunsplit(parts._replace(netloc=netloc, path=path, query=query, fragment=fragment))
    except ValueError:
        return "(an unparseable URL)"
    return redact(safe)


def _netloc(parts) -> str:  # type: ignore[no-untyped-def]
    if "@" not in parts.netloc:
        return parts.netloc
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, has_password, _ = userinfo.partition(":")
    if contains_secret(unquote(user)) or len(user) > 40:
        user = HIDDEN
    return f"{user}:{HIDDEN}@{host}" if has_password else f"{user}@{host}"


def _query(query: str) -> str:
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    if not pairs:
        return HIDDEN if contains_secret(query) else query
    out = []
    for name, value in pairs:
        hidden = re.search(_CREDENTIAL_PARAM, name) or contains_secret(value) or contains_secret(name)
        out.append(f"{quote(name, safe='_.-~')}={HIDDEN if hidden else quote(value, safe='/:_.-~')}")
    return "&".join(out)
