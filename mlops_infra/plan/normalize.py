"""Make prior-state inputs and desired inputs comparable: one paired walk over both trees.

Contract of :func:`normalize_inputs` (pure; the inputs are not modified):
- The result holds two plain JSON trees (``prior``, ``desired``) that are equal exactly when the
  resource needs no change, plus what the diff must know: which paths hold secrets, which desired
  values come from resources that are created or replaced, how many secrets could not be compared.
- Dropped from the prior side: ``__defaults`` and the keys it lists that the desired side does not
  set (values the provider filled in), engine keys (``__*``), autonames (a prior ``name`` equal to
  the resource name + ``-`` + 7-8 random characters, when desired sets no name), empty values
  (``None``/``[]``/``{}``) the desired side does not set, paths the type's rule ignores, the
  provider inputs stack config sets at apply (the rule's ``stack_config``) that the desired side does not set,
  and those the provider's SDK class sends unasked (the rule's ``sdk_filled``) at the value it sends.
- Provider-filled inputs (``filled``, given by the planner: a region-aware AWS resource's ``region``, from its
  provider, :data:`~mlops_infra.plan.rules.REGION`): a top-level prior value of such a key that the desired
  side does not set and ``__defaults`` does not list is not compared when it equals the filled value (or the
  filled value is None: not known here); otherwise it is a change to the filled value (the provider fills
  it in the news before ``Check``, so ``pulumi up`` sends that value).
  Desired ``None`` means "not set". Integral floats compare as integers.
- Unknowns: the engine's unknown sentinel (``UNKNOWN``) is kept as that string on either side; the
  diff shows it as "(known after apply)".
- Secrets (``{SECRET_SIG: SECRET_MARKER, ...}``): the path is recorded as sensitive. A ``b64``
  secrets provider's ciphertext is decoded to compare plaintext (never exposed); any other
  ciphertext cannot be compared here, so the desired value is assumed unchanged and counted in
  ``unverifiable``. A ``$ref`` to such an output where the prior has no value (a resource to
  create, an input it gains) is ``{"(secret)": "(encrypted)"}`` on the desired side, a sensitive
  path the diff shows redacted. Values under the rule's sensitive paths are redacted by the diff, not here.
- Assets and archives: Pulumi's archive objects (sig ``0def7320c3a5731c473e5ecbe6d01bc7``) and our
  ``$archive`` sentinel both become ``{file name: "sha256:<hex of the text>"}``. Pulumi hashes a
  text asset as SHA-256 of its text, so prior assets compare by their ``hash`` (or text); an
  archive's own ``hash`` (over a tar stream) is not reproduced. An archive from a ``path`` or
  ``uri`` (not made by us) becomes ``{"(path)": <path>}`` and so always differs from ``$archive``.
- JSON text: a desired ``$json`` is compared as parsed JSON against the parsed prior string, so
  diff paths go inside the document (``policy.Statement[0].Action``). Two unequal strings that both
  parse as JSON objects/arrays are compared parsed only at the rule's ``json_text`` inputs (the
  provider suppresses equivalent-JSON diffs there) and in a provider's config (``stringify``: the
  engine stores its values JSON-encoded); anywhere else, a ``$json`` document's nested strings included,
  strings are compared as text, as terraform-provider-aws compares them (an EventTarget ``input``, a
  schedule's ``target.input``, an S3 object's ``content``, a Lambda environment value: a reformatted
  text is an update for ``pulumi up``; ``verify.JSONBytesEqual`` compares a document's nested strings
  exactly: audit typesets44-1). The
  common unchanged document is proved equal first without parsing: its refs resolved (when each
  resolves to a plain scalar of a resource kept as it is), its sorted compact JSON is compared with
  the stored text, byte for byte; anything else is parsed and walked.
- ``$ref`` (exactly ``{"$ref": <urn>, "output": <name>}``, the graph's sentinel; any other object,
  even of two keys one of which is ``$ref``, is plain data): ``lookup(urn, output)`` gives the value (see :class:`RefValue`); a value from a created
  or replaced resource is recorded in ``from_refs`` under its path (not inside a ``$json``
  document of a resource to create, whose refs are resolved in its text: nothing is decided
  from them).
- ``options.ignore_changes`` paths take the prior value on the desired side (Pulumi's semantics).
- Order that is not part of a value (audit awsinputs-1, -2): a list at one of the rule's ``sets`` paths
  (Terraform ``TypeSet``) and a ``$json`` document at one of its ``policies`` inputs (an IAM policy the
  provider compares as awspolicyequivalence does) are walked as usual; only when that walk finds a
  difference is the prior side aligned to the desired one (:mod:`mlops_infra.plan.unordered`): a
  reordered set or an equivalent policy is no change; a set whose members changed and a statement that
  is not equivalent show as they always have, the equivalent statements of a policy without noise.
- An unchanged top-level object or list is proved so without walking it: compared in one recursion
  that builds nothing (refs to kept resources and integral floats included), or, past a few dozen
  entries, as sorted JSON with nothing the walk would change.
- A whole resource is proved unchanged without walking when its stored inputs' compact text is
  the desired inputs' text with refs and ``$json`` documents as the engine stores them
  (:func:`unchanged`: the planner then needs no trees).
- While walking, leaf pairs are compared (types included); ``Normalized.differs`` is False only
  when every pair was equal, which lets the diff skip its own equality check (a property test
  checks the walk never calls different trees equal).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson

from mlops_infra.graph import ARCHIVE, JSON, REF
from mlops_infra.plan.rules import Path, ReplaceRule, parse_path
from mlops_infra.plan.unordered import align_policy, align_set
from mlops_infra.state.model import SECRET_MARKER, SECRET_SIG, UNKNOWN

ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
RESOURCE_REF_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""An absent value (a key on one side only). Never appears in a result tree."""


def get_dotted(obj: Any, dotted: str) -> Any:
    """The value at a dotted path of plain keys (``a.b.c``, no list indexes) through nested dicts, or
    :data:`MISSING` when a key is absent or a step is not a dict (a present ``None`` is returned)."""
    for part in dotted.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return MISSING
        obj = obj[part]
    return obj


@dataclass(frozen=True, slots=True)
class RefValue:
    """What a ref resolves to. ``value`` is state-shaped JSON (secrets allowed) or :data:`UNKNOWN`;
    ``source`` is the referenced URN when that resource is created or replaced (else None);
    ``same_as_prior`` asks to keep the prior value (the output is absent from an unchanged
    resource's state, so the engine would resolve it to what it resolved last time)."""

    value: Any = UNKNOWN
    source: str | None = None
    same_as_prior: bool = False


Lookup = Callable[[str, str], RefValue]


@dataclass(slots=True)
class Normalized:
    """Comparable trees plus facts for the diff (see the module contract).

    ``differs`` is False only when the walk proved both trees equal (every leaf pair compared
    equal with types, no one-sided key): the diff then skips even the canonical-JSON check. True
    means "may differ" (the diff checks).
    """

    prior: dict[str, Any]
    desired: dict[str, Any]
    sensitive: list[Path] = field(default_factory=list)
    from_refs: dict[Path, str] = field(default_factory=dict)
    unverifiable: int = 0
    differs: bool = True
    plain_keys: frozenset[str] | set[str] = frozenset()
    """Of a resource to create (no prior inputs): top-level keys whose desired value is an object or
    list whose JSON the walk wrote and found without the unknown sentinel (as a value or a key), so
    the diff shows that value as it is (:func:`~mlops_infra.plan.diff.creation_changes`); it need
    not list every such key."""


@lru_cache(maxsize=1024)
def _trie(patterns: tuple[str, ...]) -> dict | None:
    """Patterns as a trie of tokens; ``True`` marks a pattern's end; ``"*"`` matches any token.
    Cached per pattern tuple: callers must not modify the result."""
    root: dict = {}
    for pattern in patterns:
        node = root
        tokens = parse_path(pattern)
        for i, token in enumerate(tokens):
            if i == len(tokens) - 1:
                node[token] = True
            else:
                child = node.get(token)
                if child is True:
                    break
                node = node.setdefault(token, {})
    return root or None


def _in_order(prior: Any, desired: Any) -> Any:
    """``prior`` (equal to ``desired`` as the walk compares them, refs resolved) with its objects in
    ``desired``'s key order and its integral floats made integers: the tree the walk gives both sides."""
    t = type(prior)
    if t is dict:
        return {k: _in_order(prior[k], v) for k, v in desired.items()}
    if t is list:
        return [_in_order(p, d) for p, d in zip(prior, desired, strict=True)]
    return _num(prior)


def _absent(key: Any, default: Any) -> Any:
    return default


def _child(node: dict | None, key: str | int) -> dict | bool | None:
    if node is None:
        return None
    found = node.get(key)
    if found is None:
        found = node.get("*")
    return found


def is_secret(value: Any) -> bool:
    return type(value) is dict and value.get(SECRET_SIG) == SECRET_MARKER


def archive_hashes(files: dict[str, str]) -> dict[str, str]:
    """Our ``$archive`` files as ``{name: "sha256:<hex>"}`` (the form both sides compare in)."""
    return {name: "sha256:" + hashlib.sha256(text.encode()).hexdigest() for name, text in files.items()}


def _pulumi_archive(value: dict) -> dict[str, Any]:
    assets = value.get("assets")
    if isinstance(assets, dict):
        return {name: _pulumi_asset(asset) for name, asset in assets.items()}
    return {"(path)": value.get("path") or value.get("uri") or value.get("hash")}


def _pulumi_asset(asset: Any) -> Any:
    if not isinstance(asset, dict):
        return asset
    if asset.get(SECRET_SIG) == ARCHIVE_SIG:
        return _pulumi_archive(asset)
    if isinstance(asset.get("text"), str):
        return "sha256:" + hashlib.sha256(asset["text"].encode()).hexdigest()
    if asset.get("hash"):
        return "sha256:" + asset["hash"]
    return {"(path)": asset.get("path") or asset.get("uri")}


def _decode_b64(secret: dict) -> Any:
    try:
        return json.loads(base64.b64decode(secret["ciphertext"], validate=True))
    except (KeyError, TypeError, ValueError, binascii.Error):
        return MISSING


def _parse_json_text(text: Any) -> Any:
    if isinstance(text, str) and text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            return MISSING
    return MISSING


def _num(value: Any) -> Any:
    return int(value) if type(value) is float and value.is_integer() else value


def _stringify(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON, types included (``True`` is not ``1``); MISSING equals only MISSING."""
    ta = type(a)
    if ta is not type(b):
        return False
    if ta is dict:
        return a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())
    if ta is list:
        return len(a) == len(b) and all(map(_same, a, b))
    return a == b


_ABNORMAL_PARTS = (rb"null", rb'"__', rb'"\$(?:ref|json|archive)"', rb"\.0[,}\]]", rb"e\+",
                   re.escape(SECRET_SIG.encode()))
"""Anything in a value's JSON that the walk would change or look into: a null (not set), an engine
key (``__``), a sentinel, an integral float (``1.0``, ``1e+16``: compared as integers) or a
secret. Strings that merely contain such text are matched too (the walk then runs as usual)."""
_ABNORMAL = re.compile(b"|".join(_ABNORMAL_PARTS))
"""Any of :data:`_ABNORMAL_PARTS`, as one pattern; :func:`_abnormal` answers whether it matches, faster."""
_NULL, _ENGINE_KEY, _SENTINEL, _INTEGRAL, _EXPONENT, _SECRET = (re.compile(part).search for part in _ABNORMAL_PARTS)


def _abnormal(text: bytes) -> bool:
    """Whether :data:`_ABNORMAL` matches ``text``. Its alternatives, each searched on its own,
    start with a literal the regex engine scans for quickly; together they try every byte as
    the start of each alternative (a few times slower on the kilobytes of a policy document)."""
    return (_NULL(text) is not None or _ENGINE_KEY(text) is not None or _SENTINEL(text) is not None
            or _INTEGRAL(text) is not None or _EXPONENT(text) is not None or _SECRET(text) is not None)


def _already_normal(desired: Any, prior: Any) -> bool:
    """Whether the walk would return ``desired`` as it is (an object or list with nothing in
    :data:`_ABNORMAL`) and ``prior`` is the same JSON (types included: ``1``, ``1.0`` and ``true``
    differ), so the walk would return it as it is too and find no difference. One C-speed
    serialisation instead of a walk of the common unchanged value (a value with no prior side:
    ``_Walker._new_normal``)."""
    try:
        text = orjson.dumps(desired, option=orjson.OPT_SORT_KEYS)
        if orjson.dumps(prior, option=orjson.OPT_SORT_KEYS) != text:
            return False
    except (orjson.JSONEncodeError, TypeError):
        return False
    return not _abnormal(text)


_UNKNOWN_JSON = orjson.dumps(UNKNOWN)
_REF_TEXT = re.compile(rb'\{"\$ref":"([^"]*)","output":"([^"]*)"\}')
"""A ref object in sorted compact JSON (a backslash in a group is an escape: not resolved here)."""


class _Unresolved(Exception):
    """A ``$json`` document whose refs do not all resolve to plain scalars (see ``_Walker._resolved``)."""


def created_text(value: Any, lookup: Lookup, unknown: bytes = _UNKNOWN_JSON) -> bytes:
    """The JSON of ``value`` (a ``$json`` document of a resource to create), in its own key order,
    with each ``{"$ref":"<urn>","output":"<name>"}`` replaced by the JSON of what the walk puts
    there: the unknown sentinel (``unknown``: its JSON, or the text a caller shows in its place) or
    the plain scalar the ref resolves to (raises :class:`_Unresolved` for anything else: a secret,
    an object, a float). Refs inside are not recorded in ``from_refs``: a resource to create has
    nothing to decide from them."""
    data = orjson.dumps(value)
    # find, not `in`: CPython 3.11's bytes `in` first tries its operand as an integer
    # (Objects/bytes_methods.c _Py_bytes_contains: a TypeError made and cleared), then searches
    if data.find(b'"$ref"') < 0:
        return data

    def resolve(match: re.Match[bytes]) -> bytes:
        urn, output = match.group(1), match.group(2)
        if urn.find(b"\\") >= 0 or output.find(b"\\") >= 0:
            raise _Unresolved
        resolved = lookup(urn.decode(), output.decode()).value
        if resolved is UNKNOWN or resolved == UNKNOWN:
            return unknown
        if type(resolved) not in _PLAIN:
            raise _Unresolved
        return orjson.dumps(resolved)

    return _REF_TEXT.sub(resolve, data)


RefTexts = Mapping[bytes, bytes]
"""A ref object's text as :func:`_kept_refs_text` finds it -> the text it puts in its place, for refs whose
answer is final (:func:`kept_ref_text` makes the entries; the planner keeps them, see :func:`unchanged`)."""


def _kept_refs_text(data: bytes, lookup: Lookup, texts: RefTexts | None = None) -> bytes:
    """``data`` (compact JSON as orjson writes it) with each ``{"$ref":"<urn>","output":"<name>"}``
    replaced by the JSON of the plain scalar (str, int or bool) it resolves to, of a resource kept
    as it is; raises :class:`_Unresolved` for a ref the walk would treat otherwise (to a created,
    replaced or updated resource, unknown, kept as before, a secret or an object). ``{"$`` occurs
    in such text only where an object starts with a key that starts with ``$`` (inside a string a
    quote is escaped, and after a string's closing quote comes ``:``, ``,``, ``}`` or ``]``), so the
    matches are exactly the ref objects whose keys come in that order; any other spelling stays as it
    is (``"$ref"`` is then still in the text, for the caller to see). A ref whose text ``texts`` holds
    takes its entry, without a lookup (the same replacement: see :func:`kept_ref_text`)."""
    return _kept_refs_subn(data, lookup, texts)[0]


def _kept_refs_subn(data: bytes, lookup: Lookup, texts: RefTexts | None = None) -> tuple[bytes, int]:
    """:func:`_kept_refs_text` and how many refs it replaced (``re.subn``)."""
    known = texts.get if texts else None

    def resolve(match: re.Match[bytes]) -> bytes:
        if known is not None:
            text = known(match.group())
            if text is not None:
                return text
        urn, output = match.group(1), match.group(2)
        if urn.find(b"\\") >= 0 or output.find(b"\\") >= 0:
            raise _Unresolved
        return _kept_text(lookup(urn.decode(), output.decode()))

    return _REF_TEXT.subn(resolve, data)


def _kept_text(found: RefValue) -> bytes:
    """The JSON :func:`_kept_refs_text` puts in place of a ref that resolves to ``found``; raises
    :class:`_Unresolved` for one it does not replace."""
    resolved = found.value
    if found.source is not None or found.same_as_prior or type(resolved) not in _PLAIN or resolved == UNKNOWN:
        raise _Unresolved
    return orjson.dumps(resolved)


def kept_ref_text(urn: str, output: str, found: RefValue) -> tuple[bytes, bytes] | None:
    """An entry of :data:`RefTexts` for the ref to ``urn``'s ``output``, whose answer ``found`` is final (the
    caller's lookup gives it from now on): the ref object's sorted compact text, exactly as
    :func:`_kept_refs_text` matches it, and the JSON it puts in its place; None where it would not replace the
    ref (:func:`_kept_text`) or would not match its text (a backslash: an escape, which it leaves to the walk)."""
    try:
        text = _kept_text(found)
        key = orjson.dumps({REF: urn, "output": output}, option=orjson.OPT_SORT_KEYS)
    except (_Unresolved, orjson.JSONEncodeError, TypeError):
        return None
    if key.find(b"\\") >= 0 or _REF_TEXT.fullmatch(key) is None:
        return None
    return bytes(memoryview(key)), bytes(memoryview(text))  # copies: orjson's own result holds a 4 KiB buffer


_SECRET_PLACEHOLDER: dict[str, str] = {"(secret)": "(encrypted)"}
"""What a secret that cannot be decrypted here normalises to (the diff shows it redacted)."""
_EMPTY = (None, [], {})
_NOTHING: Mapping[str, Any] = {}
_KEPT_ENTRIES = 64
"""How many entries of objects and lists :meth:`_Walker._kept` compares in Python before it leaves
the value to :func:`_already_normal` (orjson and a few regex scans, whatever the size)."""
_PLAIN = frozenset({str, int, bool})
_CONTAINERS = frozenset({dict, list})
"""Scalar types that compare equal exactly when their canonical JSON is equal."""


@lru_cache(maxsize=256)
def _set_paths(patterns: tuple[str, ...]) -> tuple[Path, ...]:
    """A rule's ``sets`` parsed (cached per tuple)."""
    return tuple(parse_path(pattern) for pattern in patterns)


def _is_set(sets: tuple[Path, ...], path: Path) -> bool:
    """Whether ``path`` is one of ``sets`` (``*`` matching any list index)."""
    return any(len(s) == len(path) and all(t == "*" or t == u for t, u in zip(s, path, strict=True)) for s in sets)


class _Walker:
    """One resource's paired walk. See :func:`normalize_inputs`."""

    __slots__ = ("autoname_prefix", "budget", "config_keys", "creating", "decode", "differs", "filled", "from_refs",
                 "ignore", "integral", "json_text", "keep_prior", "lookup", "plain_keys", "policies", "refs",
                 "reordered", "sdk_filled", "sensitive", "sets", "stringify", "unordered", "unverifiable")

    def __init__(self, name: str, rule: ReplaceRule, lookup: Lookup, ignore_changes: tuple[str, ...],
                 secrets_provider: str | None, filled: Mapping[str, Any] | None = None) -> None:
        self.autoname_prefix = name + "-"
        self.ignore = _trie(rule.ignore) if rule.ignore else None  # _trie(()) is None; most have no paths
        self.keep_prior = _trie(tuple(ignore_changes)) if ignore_changes else None
        self.stringify = rule.stringify
        self.json_text = rule.json_text
        self.config_keys = rule.stack_config
        self.sdk_filled = rule.sdk_filled
        self.sets = _set_paths(rule.sets) if rule.sets else ()
        self.policies = rule.policies
        self.filled = filled or _NOTHING
        self.lookup = lookup
        self.decode = secrets_provider == "b64"
        self.sensitive: list[Path] = []
        self.from_refs: dict[Path, str] = {}
        self.unverifiable = 0
        self.differs = False
        self.creating = False
        self.plain_keys: set[str] = set()
        self.integral = self.refs = self.reordered = self.unordered = False
        self.budget = _KEPT_ENTRIES

    # -- one side ---------------------------------------------------------------------------------
    def prior_only(self, p: Any, path: Path) -> Any:
        """A state value in comparable form (secrets decoded or kept opaque, archives hashed)."""
        t = type(p)
        if t is dict:
            if SECRET_SIG in p:
                return self._prior_special(p, path)
            return {k: self.prior_only(v, (*path, k)) for k, v in p.items() if not k.startswith("__")}
        if t is list:
            return [self.prior_only(v, (*path, i)) for i, v in enumerate(p)]
        return _num(p)

    def _prior_special(self, p: dict, path: Path) -> Any:
        sig = p[SECRET_SIG]
        if sig == SECRET_MARKER:
            self.sensitive.append(path)
            plain = _decode_b64(p) if self.decode else MISSING
            return self.prior_only(plain, path) if plain is not MISSING else {"(secret)": "(encrypted)"}
        if sig == ARCHIVE_SIG:
            return _pulumi_archive(p)
        if sig == ASSET_SIG:
            return _pulumi_asset(p)
        if sig == RESOURCE_REF_SIG:
            return p.get("id", p.get("urn"))
        if sig == OUTPUT_SIG:
            if p.get("secret"):
                self.sensitive.append(path)
            return self.prior_only(p.get("value", UNKNOWN), path)
        return {k: self.prior_only(v, (*path, k)) for k, v in p.items()}

    def desired_only(self, d: Any, path: Path) -> Any:
        return self.pair(MISSING, d, path, None, None)[1]

    # -- both sides -------------------------------------------------------------------------------
    def pair(self, p: Any, d: Any, path: Path, ign: Any, keep: Any) -> tuple[Any, Any]:
        """Normalise prior ``p`` and desired ``d`` at ``path`` (either may be MISSING)."""
        if keep is True and p is not MISSING:
            value = self.prior_only(p, path)
            return value, value
        td = type(d)
        if td is dict:
            if REF in d and len(d) == 2 and "output" in d:
                return self._ref(p, d, path)
            if len(d) == 1:
                if JSON in d:
                    return self._json(p, d[JSON], path, ign, keep)
                if ARCHIVE in d:
                    return self._archive(p, d[ARCHIVE], path)
        if p is not MISSING and type(p) is dict and SECRET_SIG in p:
            return self._special(p, d, path, ign, keep)
        tp = type(p)
        if td is dict and tp is dict:
            return self._dicts(p, d, path, ign, keep)
        if td is list and tp is list:
            return self._lists(p, d, path, ign, keep)
        if td is str and tp is str and p != d and (self.stringify or (len(path) == 1 and path[0] in self.json_text)):
            parsed_p, parsed_d = _parse_json_text(p), _parse_json_text(d)
            if parsed_p is not MISSING and parsed_d is not MISSING:
                return self.pair(parsed_p, parsed_d, path, None, None)
        prior = MISSING if p is MISSING else self.prior_only(p, path)
        if d is MISSING:
            return self._result(prior, MISSING)
        if td is dict:
            return self._result(prior, self._dicts(MISSING, d, path, ign, keep)[1])
        if td is list:
            return self._result(prior, [v if type(v) in _PLAIN else self.desired_only(v, (*path, i))
                                        for i, v in enumerate(d)])
        return self._result(prior, _num(d))

    def _result(self, prior: Any, desired: Any) -> tuple[Any, Any]:
        """A leaf result: note whether the two sides differ (see ``Normalized.differs``)."""
        if not self.differs and not _same(prior, desired):
            self.differs = True
        return prior, desired

    def _dicts(self, p: Any, d: dict, path: Path, ign: Any, keep: Any) -> tuple[Any, dict]:
        """Both sides of an object. The hot loop of planning: kept flat on purpose."""
        prior_out: dict[str, Any] = {}
        desired_out: dict[str, Any] = {}
        has_prior = p is not MISSING
        pget = p.get if has_prior else _absent
        top = self.stringify and not path
        shallow = not path and not self.stringify
        plain = _PLAIN
        if ign is not None:  # _child(ign, key), inlined: a trie's values are never None
            ign_get, ign_any = ign.get, ign.get("*")
        for key, dv in d.items():
            if dv is None or key[:2] == "__":
                continue
            child_ign = None
            if ign is not None:
                child_ign = ign_get(key, ign_any)
                if child_ign is True:
                    continue
            pv = pget(key, MISSING) if has_prior else MISSING
            if top:
                dv = _stringify(dv)
            elif type(dv) in plain and type(pv) is type(dv) and pv == dv:
                prior_out[key] = desired_out[key] = dv  # the common case: an equal scalar
                continue
            elif not has_prior and type(dv) in plain:
                desired_out[key] = dv  # a new scalar: what pair() gives it (no prior side, a difference)
                self.differs = True
                continue
            elif (type(dv) is dict and type(pv) in plain and keep is None and len(dv) == 2 and REF in dv
                  and "output" in dv and self._same_ref(pv, dv)):
                prior_out[key] = desired_out[key] = pv  # what _ref() gives an unchanged ref, without pair()
                continue
            elif (shallow and type(dv) in _CONTAINERS and child_ign is None
                  and (keep is None or _child(keep, key) is None)
                  and not (type(dv) is dict and (REF in dv or JSON in dv or ARCHIVE in dv))):  # never as is
                if type(pv) is type(dv):
                    kept = self._kept(pv, dv)
                    if kept is not MISSING:  # the same, holding refs to kept resources or integral floats maybe
                        prior_out[key] = desired_out[key] = kept
                        continue
                    if self.budget < 0 and _already_normal(dv, pv):  # a large one, proved at C speed
                        prior_out[key] = desired_out[key] = dv  # the walk's tree on both sides (its key order)
                        continue
                elif not has_prior and self._new_normal(key, dv):
                    desired_out[key] = dv
                    continue
            pn, dn = self.pair(pv, dv, (*path, key), child_ign, None if keep is None else _child(keep, key))
            if pn is not MISSING:
                prior_out[key] = pn
            if dn is not MISSING:
                desired_out[key] = dn
        if has_prior:
            defaults = p.get("__defaults")
            dget = d.get
            for key, pv in p.items():
                if dget(key) is not None or key[:2] == "__":
                    continue
                if (ign is not None and ign_get(key, ign_any) is True) or self._provider_filled(key, pv, defaults):
                    continue
                if not path and (key in self.config_keys or self._sdk_sent(key, pv)):  # stack config, the SDK
                    continue
                if not path and key in self.filled:  # the provider fills it before Check (rules.REGION)
                    fill = self.filled[key]
                    if fill is None or _same(pv, fill):
                        continue
                    prior_out[key] = self.prior_only(pv, (key,))
                    desired_out[key] = fill
                    self.differs = True
                    continue
                value = self.prior_only(pv, (*path, key))
                prior_out[key] = value
                if keep is not None and _child(keep, key) is True:
                    desired_out[key] = value
                else:
                    self.differs = True
        return (prior_out if has_prior else MISSING), desired_out

    def _kept(self, p: dict | list, d: dict | list) -> Any:
        """What the walk gives both sides of the container ``d`` and its prior ``p`` when it would
        find them equal and record nothing, else MISSING (the walk then runs): the prior's values
        (the refs resolved), integral floats made integers as the walk makes them, in ``d``'s key
        order as the walk orders objects: ``d`` itself when it holds no ref and no integral float,
        else ``p``, rebuilt (:func:`_in_order`) when it holds an integral float or an object's keys
        come in another order or were not compared in order (an object met before the first ref or
        integral float; ``unordered``). Compared in one recursion that builds nothing
        (:meth:`_kept_tree`), refs to resources kept as they are (alarm actions, role ARNs) and
        integral floats included; it gives up (``budget`` below zero) past :data:`_KEPT_ENTRIES`
        entries of objects and lists: a large plain value is proved faster by :func:`_already_normal`."""
        self.integral = self.refs = self.reordered = self.unordered = False
        self.budget = _KEPT_ENTRIES
        if not self._kept_tree(p, d):
            return MISSING
        if not self.refs and not self.integral:
            return d  # the walk's tree: the desired values (the prior's, equal as JSON), in the desired order
        if self.integral or self.reordered or self.unordered:
            return _in_order(p, d)
        return p

    def _kept_tree(self, p: Any, d: Any) -> bool:
        """Whether the walk of ``p`` and ``d`` (neither under ignore or keep-prior paths) finds
        them equal, records nothing and gives ``p`` (integral floats aside: then ``integral`` is
        set): the same keys, no ``None`` desired value, no engine key, secret or sentinel but
        refs (each resolving to its prior plain scalar, :meth:`_same_ref`); leaves of the same
        type and value (a float as the walk compares it: :func:`_num`)."""
        td = type(d)
        if td is str or td is int or td is bool:
            return type(p) is td and p == d
        if td is dict:
            if REF in d:
                self.refs = True
                return (len(d) == 2 and "output" in d and type(p) in _PLAIN and self._same_ref(p, d))
            if type(p) is not dict or p.keys() != d.keys() or JSON in d or ARCHIVE in d or SECRET_SIG in d:
                return False
            self.budget -= len(d)
            if self.budget < 0:
                return False
            kept = self._kept_tree
            for key, value in d.items():
                if value is None or key[:2] == "__" or not kept(p[key], value):
                    return False
            if not (self.refs or self.integral):
                self.unordered = True  # its order matters only if the result is not d: then rebuilt
            elif not self.reordered and tuple(p) != tuple(d):
                self.reordered = True
            return True
        if td is list:
            if type(p) is not list or len(p) != len(d):
                return False
            self.budget -= len(d)
            return self.budget >= 0 and all(map(self._kept_tree, p, d))
        if td is float and type(p) in (float, int):
            pn, dn = _num(p), _num(d)
            if type(pn) is not type(dn) or pn != dn:
                return False
            if type(pn) is int:
                self.integral = True
            return True
        return False

    def _new_normal(self, key: str, value: Any) -> bool:
        """Whether the walk would return a top-level desired ``value`` with no prior side as it is
        (its JSON holds nothing in :data:`_ABNORMAL`); a value so proved that holds no unknown
        sentinel is noted in ``plain_keys`` (from the same JSON)."""
        try:
            text = orjson.dumps(value)
        except (orjson.JSONEncodeError, TypeError):
            return False
        if _abnormal(text):
            return False
        if text.find(_UNKNOWN_JSON) < 0:
            self.plain_keys.add(key)
        return True

    def _sdk_sent(self, key: str, value: Any) -> bool:
        """Whether a top-level prior-only ``key`` is one the provider's SDK class sends unasked, at the value it
        sends: ``ReplaceRule.sdk_filled``."""
        return any(name == key and sent == value for name, sent in self.sdk_filled)

    def _provider_filled(self, key: str, value: Any, defaults: Any) -> bool:
        """A prior-only key the desired side does not set: a default, an autoname or empty."""
        if value in _EMPTY:
            return True
        if isinstance(defaults, list) and key in defaults:
            return True
        return (key == "name" or key.endswith("Name")) and self._autonamed(value)

    def _autonamed(self, value: Any) -> bool:
        """``<name>-<7 or 8 random [0-9a-z]>``: Pulumi's autoname (7 hex) or pulumi-kubernetes' (8)."""
        prefix = self.autoname_prefix
        if not isinstance(value, str) or not value.startswith(prefix):
            return False
        suffix = value[len(prefix):]
        return len(suffix) in (7, 8) and suffix.isascii() and suffix.isalnum() and suffix == suffix.lower()

    def _lists(self, p: list, d: list, path: Path, ign: Any, keep: Any) -> tuple[list, list]:
        if self.sets and _is_set(self.sets, path):
            return self._aligned(self._by_index, align_set, p, d, path, ign, keep)
        return self._by_index(p, d, path, ign, keep)

    def _aligned(self, walk: Callable[..., tuple[Any, Any]], align: Callable[[Any, Any], Any], p: Any, d: Any,
                 path: Path, ign: Any, keep: Any) -> tuple[Any, Any]:
        """``walk`` of a value whose order is not part of it (a TF set, an IAM policy: :mod:`.unordered`):
        when the walk finds a difference, the prior side is aligned to the desired one (``align``) and the
        two differ only when the aligned prior is not the desired side (``differs`` as the module contract)."""
        before = self.differs
        self.differs = False
        prior, desired = walk(p, d, path, ign, keep)
        if not self.differs:
            self.differs = before
            return prior, desired
        prior = align(prior, desired)
        self.differs = before or not _same(prior, desired)
        return prior, desired

    def _by_index(self, p: list, d: list, path: Path, ign: Any, keep: Any) -> tuple[list, list]:
        prior_out, desired_out = [], []
        for i in range(max(len(p), len(d))):
            pv = p[i] if i < len(p) else MISSING
            dv = d[i] if i < len(d) else MISSING
            if type(dv) in _PLAIN and type(pv) is type(dv) and pv == dv:
                prior_out.append(dv)
                desired_out.append(dv)
                continue
            pn, dn = self.pair(pv, dv, (*path, i), _child(ign, i), _child(keep, i))
            if pn is not MISSING:
                prior_out.append(pn)
            if dn is not MISSING:
                desired_out.append(dn)
        return prior_out, desired_out

    # -- sentinels and special objects --------------------------------------------------------------
    def _same_ref(self, p: Any, d: dict) -> bool:
        """Whether the ref ``d`` resolves to the plain scalar ``p`` (str, int or bool, the same type)
        of a resource kept as it is: then :meth:`_ref` returns ``(p, p)`` and records nothing."""
        found = self.lookup(d[REF], d["output"])
        value = found.value
        return (found.source is None and not found.same_as_prior and type(value) is type(p) and value == p
                and value != UNKNOWN)

    def _ref(self, p: Any, d: dict, path: Path) -> tuple[Any, Any]:
        resolved = self.lookup(d[REF], d["output"])
        prior = MISSING if p is MISSING else self.prior_only(p, path)
        if resolved.same_as_prior and p is not MISSING:
            return prior, prior
        if resolved.source is not None:
            self.from_refs[path] = resolved.source
        if resolved.value is UNKNOWN or resolved.value == UNKNOWN:
            return self._result(prior, UNKNOWN)
        # A looked-up value is state-shaped (it may be a secret output): pair it as a prior-side value.
        value = self.prior_only(resolved.value, path)
        if value == _SECRET_PLACEHOLDER:
            if p is MISSING:  # a value that is new: a secret nobody can read here, shown as one
                return self._result(MISSING, dict(_SECRET_PLACEHOLDER))
            self.unverifiable += 1
            return prior, prior
        if p is not MISSING and type(p) is dict and p.get(SECRET_SIG) == SECRET_MARKER:
            return self._special(p, value, path, None, None)
        return self._result(prior, value)

    def _json(self, p: Any, inner: Any, path: Path, ign: Any, keep: Any) -> tuple[Any, Any]:
        if p is MISSING and self.creating and ign is None and keep is None and type(inner) in _CONTAINERS:
            try:
                text = self._created_text(inner)
            except (_Unresolved, orjson.JSONEncodeError, TypeError):
                text = None
            if text is not None and not _abnormal(text):
                if len(path) == 1 and text.find(_UNKNOWN_JSON) < 0:
                    self.plain_keys.add(path[0])  # orjson writes what it read from its own text as it was
                return self._result(MISSING, orjson.loads(text))  # what the walk gives, without walking
        if type(p) is str and ign is None and keep is None and type(inner) in _CONTAINERS:
            try:
                text, had_refs = self._resolved_text(inner)
            except (_Unresolved, orjson.JSONEncodeError, TypeError):
                text, had_refs = None, False
            if (text is not None and text[:1] in (b"{", b"[") and text == p.encode()
                    and not _abnormal(text)):
                value = orjson.loads(text) if had_refs else inner  # the stored text is the desired document's
                return value, value
        if type(p) is dict and p.get(SECRET_SIG) == SECRET_MARKER:
            p_plain = self.prior_only(p, path)
            if p_plain == {"(secret)": "(encrypted)"}:
                self.unverifiable += 1
                value = self.desired_only(inner, path)
                return value, value
            p = json.dumps(p_plain) if not isinstance(p_plain, str) else p_plain
        parsed = _parse_json_text(p) if isinstance(p, str) else MISSING
        if parsed is MISSING:
            return self._result(MISSING if p is MISSING else self.prior_only(p, path), self.desired_only(inner, path))
        if len(path) == 1 and path[0] in self.policies:
            return self._aligned(self.pair, align_policy, parsed, inner, path, ign, keep)
        return self.pair(parsed, inner, path, ign, keep)

    def _created_text(self, value: Any) -> bytes:
        """:func:`created_text` of ``value`` with this walk's lookup."""
        return created_text(value, self.lookup)

    def _resolved_text(self, value: Any) -> tuple[bytes, bool]:
        """The sorted compact JSON of ``value`` (a ``$json`` document) with each ``$ref`` replaced by
        the JSON of the plain scalar it resolves to (:func:`_kept_refs_text`); raises
        :class:`_Unresolved` for a ref the walk would treat otherwise. Also whether there was a ref
        to replace."""
        data = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        if data.find(b'"$ref"') < 0:
            return data, False
        return _kept_refs_text(data, self.lookup), True

    def _archive(self, p: Any, files: dict[str, str], path: Path) -> tuple[Any, Any]:
        desired = archive_hashes(files)
        if type(p) is dict and p.get(SECRET_SIG) == ARCHIVE_SIG and type(assets := p.get("assets")) is dict:
            # prior_only's archive (_pulumi_archive), a stored text asset equal to our file's text taking the
            # hash just made of it (the same SHA-256, computed once: a Lambda's code is its whole source)
            return self._result({name: desired[name] if type(asset) is dict and asset.get(SECRET_SIG) != ARCHIVE_SIG
                                 and type(text := asset.get("text")) is str and text == files.get(name)
                                 else _pulumi_asset(asset) for name, asset in assets.items()}, desired)
        return self._result(MISSING if p is MISSING else self.prior_only(p, path), desired)

    def _special(self, p: dict, d: Any, path: Path, ign: Any, keep: Any) -> tuple[Any, Any]:
        sig = p[SECRET_SIG]
        if sig == SECRET_MARKER:
            self.sensitive.append(path)
            plain = _decode_b64(p) if self.decode else MISSING
            if plain is MISSING:
                desired = MISSING if d is MISSING else self.desired_only(d, path)
                if desired is MISSING:
                    return self._result({"(secret)": "(encrypted)"}, MISSING)
                self.unverifiable += 1
                return desired, desired
            return self.pair(plain, d, path, ign, keep)
        if sig == OUTPUT_SIG:
            if p.get("secret"):
                self.sensitive.append(path)
            return self.pair(p.get("value", UNKNOWN), d, path, ign, keep)
        return self._result(self.prior_only(p, path), MISSING if d is MISSING else self.desired_only(d, path))


def normalize_inputs(prior_inputs: dict[str, Any] | None, desired_inputs: dict[str, Any], *, name: str,
                     rule: ReplaceRule, lookup: Lookup, ignore_changes: tuple[str, ...] = (),
                     secrets_provider: str | None = None, filled: Mapping[str, Any] | None = None) -> Normalized:
    """Comparable forms of one resource's prior and desired inputs (see the module contract).

    ``prior_inputs`` None means the resource does not exist yet (only ``desired`` is meaningful).
    ``name`` is the resource's logical name (for autonames); ``secrets_provider`` the state's
    (``b64`` secrets are compared by plaintext); ``filled`` the top-level inputs the provider fills when
    the desired side does not set them (see the module contract).
    """
    walker = _Walker(name, rule, lookup, ignore_changes, secrets_provider, filled)
    ign, keep = walker.ignore, walker.keep_prior
    if prior_inputs is None:
        walker.creating = True
        _, desired = walker._dicts(MISSING, desired_inputs, (), ign, None)
        return Normalized({}, desired, walker.sensitive, walker.from_refs, 0, differs=bool(desired),
                          plain_keys=walker.plain_keys)
    prior, desired = walker._dicts(prior_inputs, desired_inputs, (), ign, keep)
    return Normalized(prior, desired, walker.sensitive, walker.from_refs, walker.unverifiable, walker.differs)



_DEFAULTS_HEAD = re.compile(rb'\{"__defaults":(\[[^\]]*\]),')
"""The stored inputs' leading ``__defaults`` list (a ``]`` inside a name ends the match early: its
text then does not parse and nothing is proved)."""
_NO_DEFAULTS = b'{"__defaults":[],'
"""The head :data:`_DEFAULTS_HEAD` matches when ``__defaults`` lists no name (the common case)."""
_SECRET_JSON = SECRET_SIG.encode()
_STRICT = orjson.OPT_PASSTHROUGH_SUBCLASS
"""orjson refuses subclasses of str, int, dict and list (the walk compares types exactly) instead of
writing them as their base type."""
_SORTED = _STRICT | orjson.OPT_SORT_KEYS
""":data:`_STRICT`, each object's keys sorted (as the engine stores them, see :func:`_sorted_unchanged`)."""


def _compared_as_json(text: bytes, desired: dict[str, Any] | None) -> bool:
    """Whether the walk finds ``text`` (desired JSON, as :func:`unchanged` writes it) equal to the
    same text on the prior side: it holds no object whose first key starts with ``$`` (``{"$``: a
    sentinel the walk treats as such, ``$json`` or ``$archive`` alone or a ref not replaced, whose
    ``$ref`` sorts before ``output``; ``{\\"$`` inside a ``$json`` text, where the quote is escaped)
    and no secret; and a ``null`` only where ``desired`` (given when ``text`` is its JSON as it is)
    holds None (orjson writes NaN and infinity as ``null`` too, which the walk finds different from
    a stored null). Strings that merely contain such text are left to the walk too; a string that
    starts with ``$`` (an EventBridge input path, ``"$.time"``) is not such text: in compact JSON a
    ``{`` followed by a quote starts an object (inside a string the quote is escaped), and a ``$``
    after a string's opening quote follows ``:``, ``,`` or ``[``, not ``{``. ``find``, not ``in``:
    CPython 3.11's bytes ``in`` first tries its operand as an integer (Objects/bytes_methods.c
    ``_Py_bytes_contains``: a TypeError made and cleared)."""
    if text.find(b"$") >= 0 and (text.find(b'{"$') >= 0 or text.find(b'{\\"$') >= 0):  # the byte first: memchr
        return False
    if text.find(_SECRET_JSON) >= 0:
        return False
    return text.find(b"null") < 0 or (desired is not None and orjson.loads(text) == desired)


def unchanged(stored: bytes | dict[str, Any], desired: dict[str, Any], *, rule: ReplaceRule,
              lookup: Lookup, filled: Mapping[str, Any] | None = None, texts: RefTexts | None = None) -> bool:
    """Whether :func:`normalize_inputs` of the stored inputs and ``desired`` would find them equal
    (``differs`` False) and count no unverifiable secret, proved from text without walking: True
    only then; False means "walk" (the resource may still be unchanged). ``stored`` is the stored
    inputs' compact JSON as orjson writes it (or the object, written here).

    Proved when the desired inputs, written compactly with their keys sorted at every level and
    each ``$ref`` replaced by the JSON of the plain scalar of a kept resource it resolves to
    (:func:`_kept_refs_text`) and each top-level ``$json`` document (an object or list) by its
    sorted compact text (refs resolved likewise; :func:`_desired_text`), pass
    :func:`_compared_as_json` and are, member for member, the stored object's members after a
    leading ``__defaults`` list, followed only by keys the desired side does not set and the walk
    drops (engine keys, empty values, names listed in ``__defaults``); or are so with the stored
    members of names listed in ``__defaults`` taken out wherever they sit (:func:`_marked_unchanged`),
    or with every such key taken out of the parsed object (:func:`_sorted_unchanged`). Equal text
    parses to equal JSON: leaves of the same type and value (integral floats alike on both sides),
    engine keys and nulls in objects on both sides (both dropped), a ``$json`` document equal to
    the stored text (compared as text, or both parsed), which the walk finds equal whatever paths
    the rule ignores or ``ignore_changes`` keeps. Declined for rules that stringify (their desired
    values are compared as text) and for desired inputs that set ``__defaults`` (the stored object
    would hold that key twice, and the walk reads the last one).

    ``filled`` (as for :func:`normalize_inputs`): each provider-filled key the desired inputs do not set and
    ``__defaults`` does not list, whose ``"<key>":`` the stored text holds, is proved as if the desired inputs
    set it to its filled value (:func:`_with_filled`): the stored member is then that value, which the walk
    does not compare. So a region-aware AWS resource whose stored ``region`` is its provider's (as
    pulumi-aws 7 writes every one) is proved from text as the others are. One whose filled value is not known
    (None: the walk drops it whatever it is) is taken out as the names ``__defaults`` lists are
    (:func:`_marked_unchanged`, stored inputs with a ``__defaults`` head only).

    A desired member whose value is None is not set: the walk skips it as it skips an absent one, and pairs a
    stored member of that name as one the desired side does not set (``_Walker._dicts``). When the proof fails
    and the desired inputs have such members, it is tried again without them (a monitor's unset
    ``scheduleSeconds``, which the state does not hold: the Python SDK registers no None input, pulumi
    3.272.0 ``pulumi/runtime/rpc.py`` ``serialize_properties``, "We treat properties that serialize to None as if
    they don't exist").

    ``texts`` (:data:`RefTexts`): refs whose replacement the caller already knows, given without a lookup."""
    if rule.stringify or not desired or "__defaults" in desired:
        return False
    try:
        if type(stored) is not bytes:
            stored = orjson.dumps(stored)
    except (orjson.JSONEncodeError, TypeError):
        return False
    if _unchanged(stored, desired, lookup, filled, texts):
        return True
    if None not in desired.values():
        return False
    given = {key: value for key, value in desired.items() if value is not None}
    return bool(given) and _unchanged(stored, given, lookup, filled, texts)


def _unchanged(stored: bytes, desired: dict[str, Any], lookup: Lookup, filled: Mapping[str, Any] | None,
               texts: RefTexts | None) -> bool:
    """:func:`unchanged` of compact stored text and desired inputs that it may take (see there)."""
    defaults: Any = ()
    if stored.startswith(_NO_DEFAULTS):  # the common head (no name listed): what the match below reads, at once
        start, defaults = len(_NO_DEFAULTS), []
    elif (head := _DEFAULTS_HEAD.match(stored)) is not None:
        start = head.end()
        try:
            defaults = orjson.loads(head.group(1))
        except orjson.JSONDecodeError:
            return False
    elif stored[:1] == b"{":
        start = 1
    else:
        return False
    if start == 1:  # no __defaults head
        if filled:
            desired = _with_filled(stored, desired, filled, defaults)[0]
    else:
        if filled:
            desired, unknown = _with_filled(stored, desired, filled, defaults)
            if unknown and type(defaults) is list:
                defaults = [*defaults, *unknown]  # dropped by the walk whatever their value, as listed names are
        if defaults and _marked_unchanged(stored, start, desired, defaults, lookup, texts):
            return True
    try:
        text, replaced = _desired_text(desired, lookup, texts)
    except (_Unresolved, orjson.JSONEncodeError, TypeError):
        return False
    if not _compared_as_json(text, None if replaced else desired):
        return False
    if not stored.startswith(memoryview(text)[1:-1], start):
        return _sorted_unchanged(stored, text, desired)
    end = start + len(text) - 2
    if end == len(stored) - 1 and stored.endswith(b"}"):  # nothing after the desired members
        return True
    rest = stored[end:]
    if rest[:1] != b",":
        return False
    try:
        extra = orjson.loads(b"{" + rest[1:])
    except orjson.JSONDecodeError:
        return False
    return all(key not in desired and key != "__defaults" and _dropped(key, value, defaults)
               for key, value in extra.items())


def _with_filled(stored: bytes, desired: dict[str, Any], filled: Mapping[str, Any],
                 defaults: Any) -> tuple[dict[str, Any], list[str]]:
    """``desired`` with each key of ``filled`` that it does not set, that ``defaults`` (the stored
    ``__defaults``, when a list) does not list, whose filled value is known (not None) and whose ``"<key>":``
    occurs in ``stored``, set to its filled value (see :func:`unchanged`); and the keys so found whose filled
    value is None (not known: taken out as listed names are). The occurrence may be a nested member's: the
    proof then fails and the walk decides. One pass over ``filled``, no dict made when nothing is added."""
    listed = defaults if type(defaults) is list else ()
    extra: dict[str, Any] | None = None
    unknown: list[str] = []
    for key, value in filled.items():
        if key in desired or key in listed or stored.find(_member_text(key)) < 0:
            continue
        if value is None:
            unknown.append(key)
        elif extra is None:
            extra = {**desired, key: value}
        else:
            extra[key] = value
    return (desired if extra is None else extra), unknown


@lru_cache(maxsize=64)
def _member_text(key: str) -> bytes:
    """``"<key>":`` as compact JSON writes a member's name (a name with nothing to escape; another is never
    found, and the proof is then left to the walk)."""
    return b'"%s":' % key.encode()


def _desired_text(desired: dict[str, Any], lookup: Lookup, texts: RefTexts | None = None) -> tuple[bytes, bool]:
    """The desired inputs as :func:`unchanged` compares them: compact JSON, keys sorted at every
    level, each top-level ``$json`` document (an object or list) replaced by its text
    (:func:`_document_text`) and each ``$ref`` by the JSON of the plain scalar it resolves to
    (:func:`_kept_refs_text`); neither replacement changes a key. Also whether anything was
    replaced. Raises :class:`_Unresolved`, ``orjson.JSONEncodeError`` or ``TypeError`` when it
    cannot be written so."""
    text = orjson.dumps(desired, option=_SORTED)
    replaced = False
    if text.find(b"$") >= 0:  # no sentinel without it; CPython searches one byte with memchr, faster than the
        # two-byte needles below whose quote is frequent (Objects/stringlib/fastsearch.h, find_char)
        if text.find(b'"$json"') >= 0:
            text = orjson.dumps({key: _document_text(value[JSON], lookup, texts)
                                 if type(value) is dict and len(value) == 1 and JSON in value else value
                                 for key, value in desired.items()}, option=_SORTED)
            replaced = True
        text, count = _kept_refs_subn(text, lookup, texts)  # no search for "$ref" first: one pass, not two
        replaced = replaced or count > 0
    return text, replaced


_MARK = orjson.Fragment(b"\x00")
"""Written by orjson as the single byte NUL, as it is (a ``Fragment`` "does no validation" and
"does not escape characters": orjson's README, "Fragment"). JSON text holds no raw NUL (RFC 8259,
section 7: control characters in strings "MUST be escaped"); :func:`_marked_unchanged` counts them
all the same."""


def _marked_unchanged(stored: bytes, start: int, desired: dict[str, Any], defaults: Any, lookup: Lookup,
                      texts: RefTexts | None = None) -> bool:
    """:func:`unchanged` for stored inputs that hold, between the desired members, the values of names
    listed in their ``__defaults`` (``defaults``, read from the head that ends at ``start``) that the
    desired inputs do not set: the engine's layout, its keys sorted (see :func:`_sorted_unchanged`),
    the bridge's defaults among them (a bucket's ``forceDestroy``; not pulumi-aws 7's ``region``, which is
    not listed: :func:`_with_filled`). Without parsing the stored object: the desired inputs
    with each such name set to a mark (:data:`_MARK`), written as :func:`_desired_text` writes them,
    are the stored text after its head with each mark standing for a stored value: each of those
    values parses as one JSON value on its own (``orjson.loads`` raises on invalid JSON, orjson's
    README, "Deserialize": a value followed by more members is), and the text around the marks,
    found in order, is the stored text. The stored object is then the desired one (refs and ``$json`` replaced, as :func:`_compared_as_json` checks them) plus those
    names, whatever their values, which the walk drops (listed in ``__defaults``), and its head.
    A mark is the value of its name's member: the replacements change only ``$json`` documents and
    ref objects (whose values are strings without a backslash, never a mark), and the text holds
    each mark once (one NUL per name, counted). False means "not proved here"."""
    if type(defaults) is not list:
        return False
    marked = None
    for name in defaults:
        if type(name) is not str or name == "__defaults":
            return False
        if name not in desired:
            if marked is None:
                marked = dict(desired)
            marked[name] = _MARK
    if marked is None:
        return False
    try:
        text, _ = _desired_text(marked, lookup, texts)
    except (_Unresolved, orjson.JSONEncodeError, TypeError):
        return False
    if not _compared_as_json(text, None):
        return False
    parts = text.split(b"\x00")
    if len(parts) != len(marked) - len(desired) + 1:
        return False
    first = memoryview(parts[0])[1:]
    if not stored.startswith(first, start):
        return False
    pos = start + len(first)
    last = parts[-1]
    end = len(stored) - len(last)
    if not stored.endswith(last):
        return False
    for piece in parts[1:-1]:
        found = stored.find(piece, pos + 1, end)
        if found < 0 or not _one_value(stored[pos:found]):
            return False
        pos = found + len(piece)
    return pos < end and _one_value(stored[pos:end])


def _one_value(text: bytes) -> bool:
    """Whether ``text`` is one JSON value (``orjson.loads`` raises on anything else)."""
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


def _dropped(key: str, value: Any, defaults: Any) -> bool:
    """Whether the walk drops a stored key the desired inputs do not set: an engine key, an empty
    value, or a name the provider filled (listed in ``__defaults``)."""
    return key[:2] == "__" or value in _EMPTY or key in defaults


def _sorted_unchanged(stored: bytes, text: bytes, desired: dict[str, Any]) -> bool:
    """:func:`unchanged` for stored inputs whose members do not come in the desired order: the
    engine's own layout. Pulumi writes a state's objects with their keys sorted (Go's
    ``encoding/json`` writes a map "with the map keys sorted": pkg.go.dev/encoding/json, ``Marshal``;
    every inputs object of the states in tests/shared/fixtures/pulumi is so), so a provider-filled key
    sits between the desired ones, not after them (:func:`_marked_unchanged` proves the common case
    without parsing; this one takes any keys the walk drops, in any order). Proved when the stored
    object, without ``__defaults`` and the keys :func:`_dropped` lets the walk drop, written with
    sorted keys at every level, is ``text`` (the desired inputs as :func:`_desired_text` writes
    them, sorted so too, checked by :func:`_compared_as_json`): equal JSON, which the walk finds
    equal whatever the order of keys (it pairs objects by key)."""
    try:
        prior = orjson.loads(stored)
    except orjson.JSONDecodeError:
        return False
    if type(prior) is not dict:
        return False
    defaults = prior.get("__defaults", [])
    if type(defaults) is not list:
        return False
    kept = {}
    for key, value in prior.items():
        if key in desired:
            kept[key] = value
        elif key != "__defaults" and not _dropped(key, value, defaults):
            return False
    return orjson.dumps(kept, option=orjson.OPT_SORT_KEYS) == text


def _document_text(inner: Any, lookup: Lookup, texts: RefTexts | None = None) -> str:
    """A ``$json`` document's sorted compact text with its refs resolved
    (:meth:`_Walker._resolved_text`'s); raises :class:`_Unresolved` for a scalar document (the
    walk compares it otherwise), a document that is one ref (its text, a scalar once resolved, is not
    compared as text by the walk either: ``_Walker._json`` takes a text that starts with ``{`` or ``[``)
    or a ref the walk would not resolve so."""
    if type(inner) not in _CONTAINERS:
        raise _Unresolved
    data = orjson.dumps(inner, option=orjson.OPT_SORT_KEYS | _STRICT)
    if data.find(b'"$ref"') >= 0:
        data = _kept_refs_text(data, lookup, texts)
        if data[:1] != b"{" and data[:1] != b"[":
            raise _Unresolved
    return data.decode()
