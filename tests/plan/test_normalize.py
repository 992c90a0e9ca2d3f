"""Normalisation: prior-state inputs made comparable with desired inputs."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from dataclasses import replace
from typing import Any

import orjson

from mlops_infra.graph import archive, json_of, ref
from mlops_infra.plan.normalize import ARCHIVE_SIG, ASSET_SIG, RefValue, normalize_inputs
from mlops_infra.plan.rules import ReplaceRule, rule_for
from mlops_infra.state.model import SECRET_MARKER, SECRET_SIG, UNKNOWN

RULE = ReplaceRule()


def _no_refs(urn: str, output: str) -> RefValue:
    raise AssertionError("no refs expected")


def norm(prior: dict | None, desired: dict, *, rule: ReplaceRule = RULE, lookup=_no_refs, name: str = "res",
         **kw: Any):
    return normalize_inputs(prior, desired, name=name, rule=rule, lookup=lookup, **kw)


def secret(value: Any) -> dict:
    return {SECRET_SIG: SECRET_MARKER, "ciphertext": base64.b64encode(json.dumps(value).encode()).decode()}


def test_defaults_engine_keys_autonames_and_empties_are_dropped() -> None:
    prior = {"__defaults": ["acl", "forceDestroy"], "acl": "private", "forceDestroy": False, "bucket": "b1",
             "name": "res-4936161", "corsRules": [], "policy": None, "__internal": {}}
    n = norm(prior, {"bucket": "b1"})
    assert n.prior == n.desired == {"bucket": "b1"}


def test_defaults_are_compared_when_desired_sets_them() -> None:
    n = norm({"__defaults": ["acl"], "acl": "private"}, {"acl": "public-read"})
    assert (n.prior, n.desired) == ({"acl": "private"}, {"acl": "public-read"})


def test_a_removed_input_stays_a_difference() -> None:
    n = norm({"description": "old"}, {})
    assert n.prior == {"description": "old"} and n.desired == {}


def test_autoname_needs_the_resource_name_and_a_random_suffix() -> None:
    assert norm({"name": "other-4936161"}, {}).prior == {"name": "other-4936161"}
    assert norm({"name": "res-k8s9x2ab"}, {}).prior == {}


def test_desired_none_means_unset_and_integral_floats_are_ints() -> None:
    n = norm({"timeout": 30.0, "size": 1.5}, {"timeout": 30, "size": 1.5, "description": None})
    assert n.prior == n.desired == {"timeout": 30, "size": 1.5}


def test_b64_secrets_compare_by_plaintext_and_are_marked_sensitive() -> None:
    n = norm({"password": secret("hunter2")}, {"password": "hunter2"}, secrets_provider="b64")
    assert n.prior == n.desired
    assert ("password",) in n.sensitive and n.unverifiable == 0
    changed = norm({"password": secret("hunter2")}, {"password": "other"}, secrets_provider="b64")
    assert changed.prior != changed.desired


def test_encrypted_secrets_are_assumed_unchanged_and_counted() -> None:
    encrypted = {SECRET_SIG: SECRET_MARKER, "ciphertext": "v1:Zm9v:YmFy"}
    n = norm({"password": encrypted}, {"password": "anything"}, secrets_provider="passphrase")
    assert n.prior == n.desired and n.unverifiable == 1
    assert ("password",) in n.sensitive
    removed = norm({"password": encrypted}, {}, secrets_provider="passphrase")
    assert removed.prior != removed.desired  # a secret input that is no longer set is still a change
    assert "hunter" not in json.dumps(removed.prior)


def test_archive_sentinel_compares_with_pulumi_archive_by_content() -> None:
    text = "def handler(event, context):\n    return 1\n"
    prior = {"code": {SECRET_SIG: ARCHIVE_SIG, "hash": "tar-hash-not-reproduced",
                      "assets": {"index.py": {SECRET_SIG: ASSET_SIG, "text": text,
                                              "hash": hashlib.sha256(text.encode()).hexdigest()}}}}
    same = norm(prior, {"code": archive({"index.py": text})})
    assert same.prior == same.desired
    assert same.desired["code"]["index.py"] == "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    changed = norm(prior, {"code": archive({"index.py": text + "# v2\n"})})
    assert changed.prior != changed.desired
    path_archive = {"code": {SECRET_SIG: ARCHIVE_SIG, "path": "./lambda", "hash": "x"}}
    assert norm(path_archive, {"code": archive({"index.py": text})}).prior == {"code": {"(path)": "./lambda"}}


def test_json_sentinel_compares_parsed_json() -> None:
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]}
    prior_text = '{"Statement":[{"Action":"s3:GetObject","Effect":"Allow"}],"Version":"2012-10-17"}'
    n = norm({"policy": prior_text}, {"policy": json_of(policy)})
    assert n.prior == n.desired == {"policy": policy}
    changed = norm({"policy": prior_text}, {"policy": json_of({**policy, "Version": "2008-10-17"})})
    assert changed.prior["policy"]["Version"] == "2012-10-17" and changed.desired["policy"]["Version"] == "2008-10-17"


def test_two_json_strings_compare_parsed_where_the_provider_suppresses_equivalent_json() -> None:
    n = norm({"doc": '{"a": 1, "b": [1, 2]}'}, {"doc": '{"b":[1,2],"a":1}'}, rule=replace(RULE, json_text=("doc",)))
    assert n.prior == n.desired


def test_two_json_strings_elsewhere_compare_as_text() -> None:
    # terraform-provider-aws compares a plain string input as text (audit typesets44-1; test_json_text_inputs.py)
    n = norm({"doc": '{"a": 1, "b": [1, 2]}'}, {"doc": '{"b":[1,2],"a":1}'})
    assert n.prior != n.desired and n.differs


def test_refs_resolve_through_the_lookup_and_record_created_sources() -> None:
    calls = []

    def lookup(urn: str, output: str) -> RefValue:
        calls.append((urn, output))
        if urn == "new":
            return RefValue(UNKNOWN, source="new")
        if urn == "gone-output":
            return RefValue(same_as_prior=True)
        return RefValue("arn:aws:iam::1:role/r")

    desired = {"role": ref("existing", "arn"), "topic": ref("new", "arn"), "x": ref("gone-output", "name"),
               "policy": json_of({"Resource": ref("new", "arn")})}
    n = norm({"role": "arn:aws:iam::1:role/r", "topic": "arn:old", "x": "kept", "policy": '{"Resource": "arn:old"}'},
             desired, lookup=lookup)
    assert n.desired["role"] == n.prior["role"]
    assert n.desired["topic"] == UNKNOWN and n.from_refs[("topic",)] == "new"
    assert n.desired["x"] == "kept"
    assert n.desired["policy"] == {"Resource": UNKNOWN} and n.from_refs[("policy", "Resource")] == "new"
    assert ("existing", "arn") in calls


def test_an_unchanged_top_level_ref_is_what_the_full_ref_pairing_gives() -> None:
    """The shortcut for a top-level ref resolving to the prior's plain scalar gives what _ref gives,
    for every kind of answer the lookup can give (equal, other type, unknown, created, kept as before)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    import mlops_infra.plan.normalize as module

    answers = st.one_of(st.builds(RefValue, st.sampled_from(["a", "b", 1, True, 1.0, UNKNOWN, None])),
                        st.builds(RefValue, st.sampled_from(["a", 1]), source=st.just("new")),
                        st.just(RefValue(same_as_prior=True)))

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from(["a", "b", 1, 0, True, False, 1.0, None]), answers, st.booleans())
    def check(prior_value, answer, keep) -> None:
        prior, desired = {"r": prior_value, "s": "x"}, {"r": ref("u", "arn"), "s": "x"}
        options = {"ignore_changes": ("s",)} if keep else {}
        fast = norm(prior, desired, lookup=lambda u, o: answer, **options)
        real = module._Walker._same_ref
        module._Walker._same_ref = lambda self, p, d: False
        try:
            slow = norm(prior, desired, lookup=lambda u, o: answer, **options)
        finally:
            module._Walker._same_ref = real
        assert (repr(fast.prior), repr(fast.desired), fast.differs, fast.from_refs, fast.unverifiable) == (
            repr(slow.prior), repr(slow.desired), slow.differs, slow.from_refs, slow.unverifiable)

    check()

def test_ref_to_an_encrypted_secret_output_keeps_the_prior_value() -> None:
    encrypted = {SECRET_SIG: SECRET_MARKER, "ciphertext": "v1:abc"}
    n = norm({"url": encrypted}, {"url": ref("x", "url")}, lookup=lambda u, o: RefValue(encrypted))
    assert n.prior == n.desired and n.unverifiable == 1


def test_a_new_value_from_an_encrypted_secret_output_is_the_secret_placeholder() -> None:
    encrypted = {SECRET_SIG: SECRET_MARKER, "ciphertext": "v1:abc"}
    desired = {"url": ref("x", "url"), "urls": [ref("x", "url"), "b"], "env": {"U": ref("x", "url")},
               "doc": json_of({"u": ref("x", "url")})}
    placeholder = {"(secret)": "(encrypted)"}
    for prior in (None, {"other": 1}):  # a resource to create; a resource that gains these inputs
        n = norm(prior, desired, lookup=lambda u, o: RefValue(encrypted), secrets_provider="passphrase")
        assert n.desired == {"url": placeholder, "urls": [placeholder, "b"], "env": {"U": placeholder},
                             "doc": {"u": placeholder}}
        assert {("url",), ("urls", 0), ("env", "U"), ("doc", "u")} <= set(n.sensitive)
        assert "MISSING" not in repr(n.desired) and n.differs


def test_a_new_resource_from_an_encrypted_secret_output_renders_it_redacted() -> None:
    from mlops_infra.plan.diff import creation_changes
    from mlops_infra.plan.model import REDACTED
    from mlops_infra.plan.rules import matcher

    encrypted = {SECRET_SIG: SECRET_MARKER, "ciphertext": "v1:abc"}
    n = norm(None, {"url": ref("x", "url"), "urls": [ref("x", "url")]}, lookup=lambda u, o: RefValue(encrypted),
             secrets_provider="passphrase")
    shown = {c.path: c.after for c in creation_changes(n, sensitive=matcher(()))}
    assert shown == {"url": REDACTED, "urls": [REDACTED]}


def test_a_dict_with_a_ref_key_but_no_output_is_a_plain_dict() -> None:
    """Only ``{"$ref": <urn>, "output": <name>}`` is a ref (graph module contract); another two-key
    object holding ``$ref`` is plain data, compared as such."""
    n = norm({"a": {"$ref": "x", "other": 1}}, {"a": {"$ref": "x", "other": 2}})
    assert (n.prior, n.desired) == ({"a": {"$ref": "x", "other": 1}}, {"a": {"$ref": "x", "other": 2}})
    same = norm({"a": [{"$ref": "x", "other": 1}]}, {"a": [{"$ref": "x", "other": 1}]})
    assert same.prior == same.desired and not same.differs
    created = norm(None, {"a": {"$ref": "x", "other": 1}, "p": json_of({"s": {"$ref": "x", "other": 1}})})
    assert created.desired == {"a": {"$ref": "x", "other": 1}, "p": {"s": {"$ref": "x", "other": 1}}}


def test_ignore_changes_keeps_the_prior_value() -> None:
    n = norm({"desiredCount": 5, "tags": {"a": "1"}}, {"desiredCount": 2, "tags": {"a": "2"}},
             ignore_changes=("desiredCount",))
    assert n.desired["desiredCount"] == 5 and n.desired["tags"] == {"a": "2"}


def test_rule_ignored_paths_are_not_compared() -> None:
    rule = rule_for("aws:s3/bucket:Bucket")
    n = norm({"bucket": "b", "tagsAll": {"x": "1"}}, {"bucket": "b"}, rule=rule)
    assert n.prior == n.desired
    k8s = rule_for("kubernetes:apps/v1:Deployment")
    prior = {"metadata": {"name": "d", "annotations": {"pulumi.com/autonamed": "true"}}}
    n = norm(prior, {"metadata": {"name": "d", "annotations": {}}}, rule=k8s)
    assert n.prior == n.desired


def test_provider_config_scalars_compare_as_strings() -> None:
    rule = rule_for("pulumi:providers:aws")
    prior = {"region": "eu-west-1", "skipCredentialsValidation": "false", "version": "7.10.0", "__internal": {}}
    n = norm(prior, {"region": "eu-west-1", "skipCredentialsValidation": False}, rule=rule)
    assert n.prior == n.desired


def test_unknown_in_prior_is_kept() -> None:
    n = norm({"arn": UNKNOWN}, {"arn": "arn:x"})
    assert n.prior == {"arn": UNKNOWN}


def test_new_resource_normalises_only_the_desired_side() -> None:
    n = norm(None, {"name": "x", "code": archive({"a.py": "1"}), "role": ref("r", "arn")},
             lookup=lambda u, o: RefValue(UNKNOWN, source=u))
    assert n.prior == {} and n.desired["role"] == UNKNOWN and n.desired["code"]["a.py"].startswith("sha256:")


def test_inputs_are_not_modified() -> None:
    prior = {"__defaults": ["a"], "a": 1, "nested": {"b": [1.0]}}
    desired = {"nested": {"b": [1]}, "p": json_of({"x": 1})}
    before = (json.dumps(prior), json.dumps(desired))
    norm(prior, desired)
    assert (json.dumps(prior), json.dumps(desired)) == before


# --- the equality proof of the walk (Normalized.differs) ------------------------------------------------


def _json_values():
    from hypothesis import strategies as st

    scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([0.5, 1.0, 2.0]),
                        st.sampled_from(["", "a", "b", "res-abcdef1", '{"k": 1}', '{"k":1}', "[1]"]))
    return st.recursive(scalars, lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "name", "__defaults", "tagsAll", "k"]), children, max_size=3)),
        max_leaves=12)


def _sentinels(value):
    """Some desired leaves wrapped in sentinels ($json around objects), for the property test."""
    if isinstance(value, dict) and "k" in value:
        return json_of({k: v for k, v in value.items() if k != "__defaults"})
    if isinstance(value, dict):
        return {k: _sentinels(v) for k, v in value.items() if k != "__defaults"}
    if isinstance(value, list):
        return [_sentinels(v) for v in value]
    return value


def _secrets(value):
    if isinstance(value, dict):
        return {k: (secret(v) if k == "b" else _secrets(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_secrets(v) for v in value]
    return value


def test_the_walk_never_calls_different_trees_equal() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from mlops_infra.plan.diff import canonical

    @settings(max_examples=400, deadline=None)
    @given(st.dictionaries(st.sampled_from(["a", "b", "k", "name", "__defaults"]), _json_values(), max_size=4),
           st.dictionaries(st.sampled_from(["a", "b", "k", "name"]), _json_values(), max_size=4),
           st.booleans(), st.booleans())
    def check(prior, desired, wrap, hide) -> None:
        if wrap:
            desired = _sentinels(desired)
        if hide:
            prior = _secrets(prior)
        n = norm(prior, desired, secrets_provider="b64")
        if not n.differs:
            assert canonical(n.prior) == canonical(n.desired), (prior, desired)

    @settings(max_examples=400, deadline=None)
    @given(st.dictionaries(st.sampled_from(["a", "b", "k", "name"]), _json_values(), max_size=4),
           st.booleans(), st.booleans(), st.booleans())
    def check_near(tree, wrap, hide, mutate) -> None:  # mostly equal pairs: the walk's proof is exercised
        desired = _sentinels(tree) if wrap else tree
        prior = _secrets(tree) if hide else dict(tree)
        if mutate and tree:
            prior[sorted(prior)[0]] = "zz"
        n = norm(prior, desired, secrets_provider="b64")
        if not n.differs:
            assert canonical(n.prior) == canonical(n.desired), (prior, desired)

    check()
    check_near()
    same = {"a": [1, {"b": "x"}], "k": '{"k": 1}'}
    assert not norm(same, same).differs


def test_the_split_search_answers_as_the_one_pattern() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    import mlops_infra.plan.normalize as module

    pieces = st.sampled_from([b"n", b"u", b"l", b"null", b'"', b"_", b"$", b"ref", b"json", b"archive", b".", b"0",
                              b",", b"}", b"]", b"e", b"+", b"1.0,", SECRET_SIG.encode()[:9], SECRET_SIG.encode(), b"x"])

    @settings(max_examples=1000, deadline=None)
    @given(st.lists(pieces, max_size=24))
    def check(parts) -> None:
        text = b"".join(parts)
        assert module._abnormal(text) == (module._ABNORMAL.search(text) is not None), text

    check()


# --- the shortcut for unchanged values gives what the full walk gives ------------------------------------


def _stored(value):
    """``value`` as the state stores it: ``$json`` documents as their canonical text."""
    from mlops_infra.graph import canonical_json

    if isinstance(value, dict) and set(value) == {"$json"}:
        return canonical_json(value["$json"])
    if isinstance(value, dict):
        return {k: _stored(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stored(v) for v in value]
    return value


@contextlib.contextmanager
def _walk_only(module):
    """The shortcuts of the walk off: unchanged values (plain, or holding refs or integral floats),
    new values, unchanged refs and ``$json`` documents are walked; a new resource's changes are
    made from its walked inputs (``diff.new_resource_changes`` declines); an unchanged resource is
    walked (``unchanged`` proves nothing); a plan file is written by ``json.dumps`` (``planfile._orjson_bytes``
    declines, for the bytes ``plan --out`` writes and the text alike); and the renderers' shortcuts are off
    (tests/render/test_common.py ``render_slow``)."""
    from tests.render.test_common import render_slow

    walker = module._Walker
    real = (module._already_normal, walker._resolved_text, walker._created_text, walker._new_normal,
            walker._same_ref, walker._kept, module.unchanged)

    def unresolved(self, value):
        raise module._Unresolved

    import mlops_infra.plan.diff as diff_module
    import mlops_infra.plan.planfile as planfile_module

    new_resource_changes = diff_module.new_resource_changes
    orjson_bytes = planfile_module._orjson_bytes
    planfile_module._orjson_bytes = lambda value, proves=None: None  # plan files written by json.dumps
    module._already_normal = lambda *args: False
    walker._resolved_text = walker._created_text = unresolved
    walker._new_normal = walker._same_ref = lambda *args: False
    walker._kept = lambda *args: module.MISSING
    module.unchanged = lambda *args, **kwargs: False  # each resource with a prior side is walked
    diff_module.new_resource_changes = lambda *args, **kwargs: None  # a new resource's changes from its walk
    try:
        with render_slow():
            yield
    finally:
        (module._already_normal, walker._resolved_text, walker._created_text, walker._new_normal,
         walker._same_ref, walker._kept, module.unchanged) = real
        diff_module.new_resource_changes = new_resource_changes
        planfile_module._orjson_bytes = orjson_bytes


def test_unchanged_values_shortcut_gives_the_walks_result() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    import mlops_infra.plan.normalize as module

    def both(prior, desired):
        fast = norm(prior, desired)
        with _walk_only(module):
            slow = norm(prior, desired)
        return fast, slow

    @settings(max_examples=400, deadline=None)
    @given(st.dictionaries(st.sampled_from(["a", "b", "k", "name", "tags"]), _json_values(), max_size=5),
           st.booleans(), st.booleans(), st.booleans())
    def check(tree, wrap, mutate, first) -> None:
        desired = {k: _sentinels(v) for k, v in tree.items()} if wrap else tree
        prior = _stored(desired)
        if mutate and tree:
            prior[sorted(prior)[0]] = "zz"
        fast, slow = both(None if first else prior, desired)
        assert (json.dumps(fast.prior), json.dumps(fast.desired), fast.differs, fast.sensitive, fast.from_refs) == (
            json.dumps(slow.prior), json.dumps(slow.desired), slow.differs, slow.sensitive, slow.from_refs)

    check()
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"]}]}
    calls = []
    module_json = module.json.loads
    module.json.loads = lambda text: calls.append(text) or module_json(text)
    try:
        n = norm({"policy": _stored(json_of(policy)), "tags": {"a": "1"}}, {"policy": json_of(policy), "tags": {"a": "1"}})
    finally:
        module.json.loads = module_json
    assert not n.differs and n.desired == {"policy": policy, "tags": {"a": "1"}} and calls == []  # not parsed


def test_unchanged_objects_and_lists_with_refs_or_floats_give_the_walks_result() -> None:
    """An object or list proved kept without walking it (``_Walker._kept``: refs to kept resources,
    integral floats, nested objects and lists) gives what the walk gives, for priors made equal,
    nearly equal (ints for floats, ``true`` for ``1``, a ``None``, an engine key, a secret, a
    changed leaf) and refs of every kind; and large values are left to the C-speed proof."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    import mlops_infra.plan.normalize as module

    outputs = {"kept": RefValue("arn:aws:iam::1:role/kept"), "count": RefValue(3), "flag": RefValue(True),
               "float": RefValue(2.0), "half": RefValue(0.5), "new": RefValue(UNKNOWN, source="new"),
               "echo": RefValue("arn:aws:iam::1:role/kept", source="new"), "gone": RefValue(same_as_prior=True),
               "unknown": RefValue(UNKNOWN), "secret": RefValue({SECRET_SIG: SECRET_MARKER, "ciphertext": "v1:abc"}),
               "object": RefValue({"a": 1})}

    def lookup(urn: str, output: str) -> RefValue:
        return outputs[urn]

    def stored(value, backwards=False):  # the prior the engine would hold: refs resolved ("arn:old" if unknown)
        if isinstance(value, dict) and set(value) == {"$ref", "output"}:
            found = outputs[value["$ref"]]
            return "arn:old" if found.same_as_prior or found.value == UNKNOWN else found.value
        if isinstance(value, dict):  # keys maybe in another order (Pulumi sorts them)
            return {k: stored(v, backwards) for k, v in (reversed(value.items()) if backwards else value.items())}
        if isinstance(value, list):
            return [stored(v, backwards) for v in value]
        return value

    def bend(value, how: int):  # a prior near the stored one: one leaf of another type, or an extra key
        if isinstance(value, dict) and value:
            key = sorted(value)[0]
            return {**value, key: bend(value[key], how)} if how % 3 else {**value, "__x": 1}
        if isinstance(value, list) and value:
            return [bend(value[0], how), *value[1:]]
        return {0: 1, 1: True, 2: 1.0, 3: None, 4: secret(value), 5: "zz"}.get(how % 6, value) \
            if not isinstance(value, float) else int(value)

    scalars = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.sampled_from([0.5, 1.0, 2.0, -0.0]),
                        st.sampled_from(["", "a", '{"k": 1}', UNKNOWN]),
                        st.sampled_from(sorted(outputs)).map(lambda urn: ref(urn, "arn")),
                        st.just({"$ref": "kept", "output": "arn", "x": 1}), st.just(json_of({"a": 1})))
    trees = st.recursive(scalars, lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "__x", SECRET_SIG]), children, max_size=3)), max_leaves=10)

    @settings(max_examples=500, deadline=None)
    @given(st.dictionaries(st.sampled_from(["tags", "actions", "config"]),
                           trees.filter(lambda v: isinstance(v, dict | list)), min_size=1, max_size=3),
           st.integers(0, 12), st.booleans(), st.booleans())
    def check(desired, how, hide, backwards) -> None:
        prior = {k: stored(v, backwards) for k, v in desired.items()}
        if how < 6:
            key = sorted(prior)[0]
            prior[key] = bend(prior[key], how)
        fast = norm(prior, desired, lookup=lookup, secrets_provider="b64" if hide else None)
        with _walk_only(module):
            slow = norm(prior, desired, lookup=lookup, secrets_provider="b64" if hide else None)
        assert (json.dumps(fast.prior), json.dumps(fast.desired), fast.differs, fast.sensitive, fast.from_refs,
                fast.unverifiable) == (json.dumps(slow.prior), json.dumps(slow.desired), slow.differs,
                                       slow.sensitive, slow.from_refs, slow.unverifiable), (prior, desired)

    check()
    calls = []
    real = module._already_normal
    module._already_normal = lambda desired, prior: calls.append(desired) or real(desired, prior)
    try:
        small = {"actions": [ref("kept", "arn")], "scaling": {"target": 40.0, "cooldown": 300}}
        n = norm({"actions": ["arn:aws:iam::1:role/kept"], "scaling": {"target": 40.0, "cooldown": 300}}, small,
                 lookup=lookup)
        assert not n.differs and n.desired == {"actions": ["arn:aws:iam::1:role/kept"],
                                               "scaling": {"target": 40, "cooldown": 300}}
        assert type(n.desired["scaling"]["target"]) is int and calls == []  # proved in Python, not written
        large = {"tags": {f"k{i}": "v" for i in range(module._KEPT_ENTRIES + 1)}}
        n = norm({"tags": dict(reversed(large["tags"].items()))}, large)
        assert not n.differs and n.desired == large and calls == [large["tags"]]  # left to orjson
        assert list(n.prior["tags"]) == list(n.desired["tags"]) == list(large["tags"])  # the walk's order
        calls.clear()
        n = norm({"tags": {"b": "2", "a": "1"}, "target": {"name": "x", "role": "arn:aws:iam::1:role/kept"},
                  "config": {"labels": {"b": "2", "a": "1"}, "role": "arn:aws:iam::1:role/kept"}},
                 {"tags": {"a": "1", "b": "2"}, "target": {"role": ref("kept", "arn"), "name": "x"},
                  "config": {"labels": {"a": "1", "b": "2"}, "role": ref("kept", "arn")}}, lookup=lookup)
        assert not n.differs and calls == []
        for tree in (n.prior, n.desired):  # the desired key order, as the walk writes objects
            assert list(tree["tags"]) == ["a", "b"] and list(tree["target"]) == ["role", "name"]
            assert list(tree["config"]["labels"]) == ["a", "b"]  # an object met before the ref
    finally:
        module._already_normal = real


def test_json_documents_with_refs_are_proved_equal_as_the_walk_proves_them() -> None:
    """A ``$json`` document holding refs: its refs resolved, its sorted text compared with the stored
    text, gives what parsing and walking it gives, for refs to kept resources (plain values),
    to created ones (unknown, recorded in from_refs), kept as before, and secret outputs."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    import mlops_infra.plan.normalize as module

    outputs = {"kept": RefValue("arn:aws:iam::1:role/kept"), "count": RefValue(3), "flag": RefValue(True),
               "new": RefValue(UNKNOWN, source="new"), "gone": RefValue(same_as_prior=True),
               "secret": RefValue({SECRET_SIG: SECRET_MARKER, "ciphertext": "v1:abc"}),
               "object": RefValue({"a": 1}), "quoted": RefValue('say "hi"\\ \u00e9')}

    def lookup(urn: str, output: str) -> RefValue:
        return outputs[urn]

    def stored(value):  # as the state stores it: refs resolved, then canonical text
        if isinstance(value, dict) and set(value) == {"$ref", "output"}:
            found = outputs[value["$ref"]]
            return "arn:old" if found.same_as_prior or found.value == UNKNOWN else found.value
        if isinstance(value, dict):
            return {k: stored(v) for k, v in value.items()}
        if isinstance(value, list):
            return [stored(v) for v in value]
        return value

    leaves = st.one_of(st.sampled_from(["x", 1, 2.5, True, None, "null", '{"$ref":"kept","output":"arn"}']),
                       st.sampled_from(sorted(outputs)).map(lambda urn: ref(urn, "arn")))
    docs = st.recursive(leaves, lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.sampled_from(["Resource", "Action", "a"]),
                                                        children, max_size=3)), max_leaves=10)

    @settings(max_examples=400, deadline=None)
    @given(docs.filter(lambda d: isinstance(d, dict | list)), st.booleans(), st.booleans())
    def check(doc, mutate, reorder) -> None:
        from mlops_infra.graph import canonical_json

        text = canonical_json(stored(doc))
        if reorder:
            text = json.dumps(stored(doc))
        if mutate:
            text = text.replace("x", "y", 1)
        prior, desired = {"policy": text}, {"policy": json_of(doc)}
        fast = norm(prior, desired, lookup=lookup)
        with _walk_only(module):
            slow = norm(prior, desired, lookup=lookup)
        assert (json.dumps(fast.prior, sort_keys=True), json.dumps(fast.desired, sort_keys=True), fast.differs,
                fast.sensitive, fast.from_refs, fast.unverifiable) == (
            json.dumps(slow.prior, sort_keys=True), json.dumps(slow.desired, sort_keys=True), slow.differs,
            slow.sensitive, slow.from_refs, slow.unverifiable)

    check()
    policy = {"Statement": [{"Effect": "Allow", "Resource": [ref("kept", "arn"), ref("count", "n")]}]}
    calls = []
    module_json = module.json.loads
    module.json.loads = lambda text: calls.append(text) or module_json(text)
    try:
        n = norm({"policy": json.dumps(stored(policy), sort_keys=True, separators=(",", ":"))},
                 {"policy": json_of(policy)}, lookup=lookup)
    finally:
        module.json.loads = module_json
    assert not n.differs and calls == []  # not parsed
    assert n.desired == {"policy": {"Statement": [{"Effect": "Allow", "Resource": ["arn:aws:iam::1:role/kept", 3]}]}}


def test_json_documents_of_resources_to_create_are_what_the_walk_makes_of_them() -> None:
    """A new resource's ``$json`` document, refs resolved in its text, is the walk's tree (key
    order included: the plan shows it), for refs to created, kept, unknown and secret outputs,
    nulls, engine keys, integral floats and nested sentinels."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    import mlops_infra.plan.normalize as module

    outputs = {"kept": RefValue("arn:aws:iam::1:role/kept"), "count": RefValue(3), "flag": RefValue(False),
               "new": RefValue(UNKNOWN, source="new"), "echo": RefValue("name-1", source="new"),
               "gone": RefValue(same_as_prior=True), "float": RefValue(2.5),
               "secret": RefValue({SECRET_SIG: SECRET_MARKER, "ciphertext": "v1:abc"}), "object": RefValue({"a": 1})}

    def lookup(urn: str, output: str) -> RefValue:
        return outputs[urn]

    leaves = st.one_of(_json_values(), st.sampled_from(sorted(outputs)).map(lambda urn: ref(urn, "arn")),
                       st.just({"$ref": "kept", "output": "arn", "x": 1}), st.just(json_of({"a": 1})))
    docs = st.recursive(leaves, lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.sampled_from(["Resource", "Action", "__x", "a"]),
                                                        children, max_size=3)), max_leaves=10)

    @settings(max_examples=400, deadline=None)
    @given(docs.filter(lambda d: isinstance(d, dict | list)))
    def check(doc) -> None:
        desired = {"policy": json_of(doc), "name": "n"}
        fast = norm(None, desired, lookup=lookup)
        with _walk_only(module):
            slow = norm(None, desired, lookup=lookup)
        assert (json.dumps(fast.desired, default=repr), fast.sensitive, fast.unverifiable, fast.differs) == (
            json.dumps(slow.desired, default=repr), slow.sensitive, slow.unverifiable, slow.differs)

    check()
    policy = {"Statement": [{"Resource": [ref("kept", "arn"), ref("new", "arn"), ref("echo", "name")]}]}
    n = norm(None, {"policy": json_of(policy)}, lookup=lookup)
    assert n.desired == {"policy": {"Statement": [{"Resource": ["arn:aws:iam::1:role/kept", UNKNOWN, "name-1"]}]}}


def test_a_new_resources_plain_keys_show_what_the_full_display_shows() -> None:
    """The keys the walk notes as holding no unknown (``Normalized.plain_keys``) are shown as
    :func:`creation_changes` shows them without the note: the same changes, values and types."""
    from dataclasses import replace

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from mlops_infra.plan.diff import creation_changes
    from mlops_infra.plan.rules import matcher

    answers = {"known": RefValue("v"), "unknown": RefValue(UNKNOWN, source="u"), "num": RefValue(3)}

    def lookup(urn: str, output: str) -> RefValue:
        return answers[output]

    def with_refs(value):
        if isinstance(value, dict) and "k" in value:
            return ref("u", value["k"] if isinstance(value["k"], str) and value["k"] in answers else "unknown")
        if isinstance(value, dict) and "a" in value:
            return json_of({k: with_refs(v) for k, v in value.items()})
        if isinstance(value, dict):
            return {k: with_refs(v) for k, v in value.items()}
        if isinstance(value, list):
            return [with_refs(v) for v in value]
        return value

    leaves = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([0.5, 2.0]),
                       st.sampled_from(["", "known", "num", UNKNOWN, f"{UNKNOWN}!", "(secret)"]))
    trees = st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "k", UNKNOWN, "(secret)"]), inner, max_size=3)), max_leaves=10)

    @settings(max_examples=400, deadline=None)
    @given(st.dictionaries(st.sampled_from(["p", "q", "r", "s"]), trees, max_size=4))
    def check(desired) -> None:
        n = norm(None, with_refs(desired), lookup=lookup)
        full = creation_changes(replace(n, plain_keys=frozenset()), sensitive=matcher(()), made={})
        fast = creation_changes(n, sensitive=matcher(()), made={})
        assert [repr(c) for c in fast] == [repr(c) for c in full]

    check()
    n = norm(None, {"tags": {"a": "1"}, "doc": json_of({"s": ref("u", "known")}), "later": [ref("u", "unknown")],
                    "p": {"(secret)": "(encrypted)"}}, lookup=lookup)
    assert n.plain_keys == {"tags", "doc", "p"}
    assert {c.path: c.after for c in creation_changes(n, sensitive=matcher(()), made={})}["p"] == "(sensitive)"


def test_a_new_resources_changes_made_in_one_loop_are_those_of_its_walk() -> None:
    """:func:`~mlops_infra.plan.diff.new_resource_changes` gives what ``creation_changes`` of the
    walk gives (paths, values with their types, shared changes), for inputs holding nulls, engine
    keys, ignored keys (top-level and nested), integral floats, refs of every kind (unknown, plain,
    float, object, secret, null, kept as before), objects and lists with and without them,
    ``$json`` documents and archives, under rules with and without ignore, sensitive or
    stringified paths; and it declines exactly where a secret would be redacted."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    import mlops_infra.plan.diff as diff_module
    from mlops_infra.plan.diff import creation_changes
    from mlops_infra.plan.model import UNKNOWN_AFTER_APPLY
    from mlops_infra.plan.rules import matcher

    outputs = {"kept": RefValue("arn:aws:iam::1:role/kept"), "count": RefValue(3), "flag": RefValue(True),
               "float": RefValue(2.0), "half": RefValue(0.5), "new": RefValue(UNKNOWN, source="new"),
               "echo": RefValue("name-1", source="new"), "gone": RefValue(same_as_prior=True),
               "null": RefValue(None), "unknown": RefValue(UNKNOWN),
               "secret": RefValue({SECRET_SIG: SECRET_MARKER, "ciphertext": base64.b64encode(b'"s"').decode()}),
               "object": RefValue({"a": 1, "b": UNKNOWN})}

    def lookup(urn: str, output: str) -> RefValue:
        return outputs[urn]

    rules = [RULE, ReplaceRule(ignore=("tagsAll", "meta.x")), ReplaceRule(ignore=("*",)),
             ReplaceRule(sensitive=("b",)), ReplaceRule(ignore=("version",), stringify=True)]
    refs = st.sampled_from(sorted(outputs)).map(lambda urn: ref(urn, "arn"))
    leaves = st.one_of(_json_values(), st.sampled_from([UNKNOWN, f"{UNKNOWN}!", "(secret)", 10.0, 1e16]), refs,
                       st.just({"$ref": "kept", "output": "arn", "x": 1}), st.just(archive({"a.py": "x"})),
                       st.just({"(secret)": "(encrypted)"}))
    trees = st.recursive(leaves, lambda children: st.one_of(
        st.lists(children, max_size=3), st.builds(json_of, children),
        st.dictionaries(st.sampled_from(["a", "b", "__x", "x", UNKNOWN]), children, max_size=3)), max_leaves=8)
    taken = []

    @settings(max_examples=600, deadline=None)
    @given(st.dictionaries(st.sampled_from(["a", "b", "meta", "tagsAll", "__x", "version", "z"]),
                           st.one_of(refs, trees), max_size=5),
           st.sampled_from(range(len(rules))), st.sampled_from([None, "b64"]))
    def check(desired, which, provider) -> None:
        rule = rules[which]
        sensitive = matcher(rule.sensitive)
        fast_made: dict = {}
        slow_made: dict = {}
        fast = diff_module.new_resource_changes(desired, name="res", rule=rule, lookup=lookup,
                                                 secrets_provider=provider, sensitive=sensitive, made=fast_made)
        n = normalize_inputs(None, desired, name="res", rule=rule, lookup=lookup, secrets_provider=provider)
        slow = creation_changes(n, sensitive=sensitive, made=slow_made)
        assert (fast is None) == bool(rule.stringify or rule.sensitive or n.sensitive), (desired, rule)
        if fast is None:
            return
        taken.append(which)
        assert json.dumps([repr(c) for c in fast]) == json.dumps([repr(c) for c in slow]), (desired, rule)
        assert [type(c.after) for c in fast] == [type(c.after) for c in slow]
        assert [repr(k) for k in fast_made] == [repr(k) for k in slow_made]
        fast_shared, slow_shared = {id(c) for c in fast_made.values()}, {id(c) for c in slow_made.values()}
        assert [id(c) in fast_shared for c in fast] == [id(c) in slow_shared for c in slow]

    check()
    assert {0, 1, 2} <= set(taken)
    for document, value in ((ref("count", "arn"), 3), (ref("new", "arn"), UNKNOWN_AFTER_APPLY)):
        made: dict = {}  # a $json document that is a ref: a scalar change, shared as the walk shares it
        changes = diff_module.new_resource_changes({"a": json_of(document)}, name="res", rule=RULE, lookup=lookup,
                                                   secrets_provider=None, sensitive=matcher(()), made=made)
        assert changes is not None and changes[0].after == value and list(made.values()) == [changes[0]]
    made = {}
    changes = diff_module.new_resource_changes(
        {"role": ref("new", "arn"), "name": "n", "actions": [ref("new", "arn")], "threshold": 0.5, "count": 2.0,
         "tags": {"a": "1"}, "policy": json_of({"Resource": ref("kept", "arn")}), "gone": None, "tagsAll": {"a": "1"}},
        name="res", rule=rules[1], lookup=lookup, secrets_provider=None, sensitive=matcher(()), made=made)
    assert [(c.path, c.after) for c in changes] == [
        ("actions", [UNKNOWN_AFTER_APPLY]), ("count", 2), ("name", "n"),
        ("policy", {"Resource": "arn:aws:iam::1:role/kept"}), ("role", UNKNOWN_AFTER_APPLY), ("tags", {"a": "1"}),
        ("threshold", 0.5)]
    assert type(changes[1].after) is int and changes[4] is made["role", str, UNKNOWN]


def test_first_plans_of_the_examples_are_those_of_the_walk(shared_dir) -> None:
    """The first plan (no state) of the reference system and the examples, with a new resource's
    changes made in one loop, is the plan made from its walked inputs (the shortcuts off)."""
    from pathlib import Path

    import mlops_infra.plan.normalize as module
    from mlops_infra.compile import compile_system
    from mlops_infra.plan.planner import PlanOptions, make_plan
    from mlops_infra.render import render_json
    from mlops_infra.spec import load_system
    from mlops_infra.state.model import PriorState

    examples = Path(__file__).resolve().parents[2] / "examples"
    for path in (shared_dir / "spec/reference-mlsystem.yaml", examples / "fraud-detection/mlsystem.yaml",
                 examples / "llm-platform/mlsystem.yaml"):
        graph = compile_system(load_system(path, "prod").system, "prod")
        fast = render_json(make_plan(graph, PriorState.empty(), options=PlanOptions(estimate_cost=False)))
        with _walk_only(module):
            slow = render_json(make_plan(graph, PriorState.empty(), options=PlanOptions(estimate_cost=False)))
        assert fast == slow and '"action": "create"' in fast, path


# --- a whole resource proved unchanged from text (normalize.unchanged) -----------------------------------


def test_a_resource_proved_unchanged_from_text_is_one_the_walk_finds_equal() -> None:
    """``unchanged`` (the stored inputs' compact text against the desired inputs written with refs
    resolved and ``$json`` documents as their sorted text) answers True only where the walk, its
    shortcuts on or off, finds no difference and counts no unverifiable secret: for stored inputs
    made as the engine stores the desired ones (``__defaults`` first, provider-filled keys after,
    keys in another order maybe, or the whole object with its keys sorted at every level as Pulumi
    writes a state) and nearly so (a changed leaf, an int for a float, a tail key the
    walk keeps, the desired text itself), with nulls, NaN, engine keys, sentinels, secrets, archives and every kind of ref,
    under rules that ignore paths, stringify, and ``ignore_changes``. It answers True often."""
    from hypothesis import example, given, settings
    from hypothesis import strategies as st

    import mlops_infra.plan.normalize as module
    from mlops_infra.graph import canonical_json

    outputs = {"kept": RefValue("arn:aws:iam::1:role/kept"), "count": RefValue(3), "flag": RefValue(True),
               "float": RefValue(2.0), "new": RefValue(UNKNOWN, source="new"),
               "echo": RefValue("arn:aws:iam::1:role/kept", source="new"), "gone": RefValue(same_as_prior=True),
               "unknown": RefValue(UNKNOWN), "secret": RefValue({SECRET_SIG: SECRET_MARKER, "ciphertext": "v1:abc"}),
               "object": RefValue({"a": 1}), "quoted": RefValue('say "hi"\\ \u00e9')}

    def lookup(urn: str, output: str) -> RefValue:
        return outputs[urn]

    def stored(value, reorder: bool):  # as the engine stores the desired value
        if isinstance(value, dict) and set(value) == {"$ref", "output"}:
            found = outputs[value["$ref"]]
            return "arn:old" if found.same_as_prior or found.value == UNKNOWN else found.value
        if isinstance(value, dict) and set(value) == {"$json"}:
            inner = stored(value["$json"], reorder)
            return json.dumps(inner) if reorder else canonical_json(inner)
        if isinstance(value, dict) and set(value) == {"$archive"}:
            return {SECRET_SIG: ARCHIVE_SIG, "assets": {name: {SECRET_SIG: ASSET_SIG, "text": text}
                                                        for name, text in value["$archive"].items()}}
        if isinstance(value, dict):
            return {k: stored(v, reorder) for k, v in value.items()}
        if isinstance(value, list):
            return [stored(v, reorder) for v in value]
        return value

    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(-2, 2), st.sampled_from([0.5, 1.0, 2.0, -0.0, 1e16]),
        st.just(float("nan")),
        st.sampled_from(["", "a", "null", "__x", '"$ref"', '{"k":1}', SECRET_SIG, UNKNOWN, "res-abcdef1"]),
        st.sampled_from(sorted(outputs)).map(lambda urn: ref(urn, "arn")),
        st.just({"$ref": "kept", "output": "arn", "x": 1}), st.just({"output": "arn", "$ref": "kept"}),
        st.just(archive({"index.py": "x = 1\n"})), st.just({"$json": "text"}), st.just(secret("s")))
    trees = st.recursive(scalars, lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "tagsAll", "__x"]), children, max_size=3),
        st.dictionaries(st.sampled_from(["Statement", "Resource", "b"]), children, max_size=3).map(json_of)),
        max_leaves=8)
    rules = [RULE, ReplaceRule(ignore=("tagsAll", "b")), ReplaceRule(ignore=("policy.Resource",)),
             rule_for("pulumi:providers:aws")]
    tails = [{}, {"region": "eu-west-1"}, {"__internal": {}}, {"empty": []}, {"name": "res-abcdef1"},
             {"extra": "kept by the walk"}, {"region": None, "other": {}},
             {"arn": "arn:x", "region": "eu-west-1"}, {"bz": {"k": [1, "\u0000", '","b":1']}, "c": '"'}]
    answered = []
    sorted_answers = []  # keys sorted as Pulumi writes them, a provider-filled key among the desired ones maybe
    marked = []  # proved by _marked_unchanged: the stored values of names listed in __defaults taken out as text
    real_marked = module._marked_unchanged

    def counted(*args):
        answer = real_marked(*args)
        marked.append(answer)
        return answer

    @settings(max_examples=1000, deadline=None)
    @given(st.dictionaries(st.sampled_from(["a", "b", "policy", "tagsAll", "region"]), trees, min_size=1,
                           max_size=4),
           st.integers(0, len(rules) - 1), st.integers(0, len(tails) - 1), st.booleans(), st.integers(0, 5),
           st.booleans(), st.booleans(), st.booleans(),
           st.sampled_from([None, {"region": "eu-west-1"}, {"region": "us-east-1"}, {"region": None}]))
    # a stored region the provider filled, equal to its provider's, in pulumi-aws 7's layout (not listed in
    # __defaults): always among the answers, however the draws fall (filled_answers below counts on one)
    @example({"a": "x"}, 0, 1, False, 0, False, False, True, {"region": "eu-west-1"})
    def check(desired, which, tail, listed, how, reorder, keep, engine_layout, filled) -> None:
        prior = {k: stored(v, reorder) for k, v in desired.items()}
        if how == 1:
            prior[sorted(prior)[0]] = "zz"
        elif how == 2:
            prior = {k: (int(v) if isinstance(v, float) and v == v and v not in (1e16,) else v)
                     for k, v in prior.items()}
        elif how == 3:
            prior = dict(reversed(prior.items()))
        elif how == 4:
            prior = desired  # stored as the desired text verbatim: sentinels and refs as they are
        extra = {k: v for k, v in tails[tail].items() if k not in desired}
        head = {"__defaults": sorted(extra) if listed else []} if extra or listed else {}
        text = orjson.dumps({**head, **prior, **extra}, option=orjson.OPT_SORT_KEYS if engine_layout else None)
        ignore_changes = ("b",) if keep else ()
        del marked[:]
        module._marked_unchanged = counted
        try:
            proved = module.unchanged(text, desired, rule=rules[which], lookup=lookup, filled=filled)
        finally:
            module._marked_unchanged = real_marked
        if not proved:
            return
        if filled and filled["region"] and "region" not in desired and "region" in extra and not listed:
            filled_answers.append(filled["region"] == extra["region"])
        if True in marked:
            marked_answers.append((tail, engine_layout))
        answered.append((which, tail, how))
        if engine_layout and list(orjson.loads(text)) != [*head, *prior, *extra]:  # the order the walk meets differs
            sorted_answers.append(how)
        kwargs = {"rule": rules[which], "lookup": lookup, "ignore_changes": ignore_changes,
                  "secrets_provider": "b64", "filled": filled}
        fast = norm(orjson.loads(text), desired, **kwargs)
        with _walk_only(module):
            slow = norm(orjson.loads(text), desired, **kwargs)
        for n in (fast, slow):
            assert not n.differs and n.unverifiable == 0, (text, desired, rules[which])

    marked_answers = []
    filled_answers = []  # proved with a stored region the provider fills (pulumi-aws 7's layout): True when equal
    check()
    assert len(answered) >= 60 and {0, 1, 2} <= {which for which, _, _ in answered}, len(answered)
    assert {how for _, _, how in answered} >= {0, 2, 3}  # equal, floats alike, keys as stored
    assert len(sorted_answers) >= 10, len(sorted_answers)  # proved with the keys in the engine's order, not the desired one
    assert marked_answers, len(marked_answers)  # proved with the provider-filled members taken out as text too
    assert filled_answers and all(filled_answers), filled_answers  # proved with a filled region, only when equal
    changed = {"policy": json_of({"Resource": [ref("kept", "arn")]}), "tags": {"a": 1.0}}
    # pulumi-aws 7 stores the region it fills as an input the program set, not in __defaults (rules.REGION)
    v7 = orjson.dumps({"__defaults": [], "policy": '{"Resource":["arn:aws:iam::1:role/kept"]}',
                       "region": "eu-west-1", "tags": {"a": 1.0}})
    assert module.unchanged(v7, changed, rule=RULE, lookup=lookup, filled={"region": "eu-west-1"})
    assert not module.unchanged(v7, changed, rule=RULE, lookup=lookup, filled={"region": "us-east-1"})
    assert not module.unchanged(v7, changed, rule=RULE, lookup=lookup)  # not filled: a key the walk keeps
    assert not module.unchanged(v7.replace(b"1.0", b"1"), changed, rule=RULE, lookup=lookup,
                                filled={"region": "eu-west-1"})
    # an older layout, a region listed in __defaults (a bridge default), is still proved without parsing
    same = orjson.dumps({"__defaults": ["region"], "policy": '{"Resource":["arn:aws:iam::1:role/kept"]}',
                         "tags": {"a": 1.0}, "region": "eu-west-1"})
    for filled in (None, {"region": "eu-west-1"}):
        assert module.unchanged(same, changed, rule=RULE, lookup=lookup, filled=filled)
        assert not module.unchanged(same.replace(b"1.0", b"1"), changed, rule=RULE, lookup=lookup, filled=filled)
        # not listed: a key the walk keeps, unless it is the provider's filled region
        assert module.unchanged(same.replace(b'"region"]', b'"other"]'), changed, rule=RULE, lookup=lookup,
                                filled=filled) is (filled is not None)
    engine = orjson.dumps({"__defaults": ["forceDestroy"], "bucket": "b", "forceDestroy": False,
                           "tags": {"a": "1", "b": "2"}})  # sorted, a provider-filled key in the middle
    assert module.unchanged(engine, {"tags": {"b": "2", "a": "1"}, "bucket": "b"}, rule=RULE, lookup=lookup)
    assert module.unchanged(b'{"a":1,"b":2}', {"b": 2, "a": 1}, rule=RULE, lookup=lookup)  # no __defaults at all
    assert not module.unchanged(engine, {"tags": {"b": "2", "a": "1"}, "bucket": "c"}, rule=RULE, lookup=lookup)
    assert not module.unchanged(engine.replace(b'["forceDestroy"]', b"[]"), {"tags": {"b": "2", "a": "1"},
                                                                               "bucket": "b"},
                                rule=RULE, lookup=lookup)


def test_a_resource_proved_unchanged_with_provider_filled_members_taken_out_is_one_the_walk_finds_equal() -> None:
    """``_marked_unchanged`` (the stored members of names listed in ``__defaults`` taken out of the
    stored text where the sorted desired text has a mark) answers True only where the walk, its
    shortcuts on or off, finds no difference and counts no unverifiable secret: for stored inputs as
    Pulumi writes them (keys sorted at every level, ``__defaults`` first, provider-filled members
    among the desired ones, of any value: objects, strings holding quotes, commas, ``\\u0000``) with
    refs, ``$json`` documents and nested objects, and nearly so: a provider-filled member moved into a
    nested object (where the walk keeps it), a listed name the stored object lacks or holds twice, an
    unlisted member, a changed leaf, a desired member missing. It answers True often, with one mark
    and with several; so does ``unchanged``, which tries it first."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    import mlops_infra.plan.normalize as module
    from mlops_infra.graph import canonical_json

    outputs = {"kept": RefValue("arn:aws:iam::1:role/kept"), "count": RefValue(3),
               "new": RefValue(UNKNOWN, source="new"), "gone": RefValue(same_as_prior=True)}

    def lookup(urn: str, output: str) -> RefValue:
        return outputs[urn]

    def stored(value):  # as the engine stores the desired value
        if isinstance(value, dict) and set(value) == {"$ref", "output"}:
            found = outputs[value["$ref"]]
            return "arn:old" if found.same_as_prior or found.value == UNKNOWN else found.value
        if isinstance(value, dict) and set(value) == {"$json"}:
            return canonical_json(stored(value["$json"]))
        if isinstance(value, dict):
            return {k: stored(v) for k, v in value.items()}
        if isinstance(value, list):
            return [stored(v) for v in value]
        return value

    keys = st.sampled_from(["a", "b", "m", "policy", "tags", "zone"])
    scalars = st.one_of(st.booleans(), st.integers(-2, 2), st.sampled_from([0.5, 2.0]),
                        st.sampled_from(["", "x", '","b":1', "\u0000", "region", '"region":1']),
                        st.sampled_from(sorted(outputs)).map(lambda urn: ref(urn, "arn")))
    trees = st.recursive(scalars, lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(keys, children, max_size=3),
        st.dictionaries(st.sampled_from(["Statement", "Resource"]), children, min_size=1, max_size=2).map(json_of)),
        max_leaves=6)
    filled_values = st.one_of(st.sampled_from(["eu-west-1", "", '","a":1', "\u0000", 0, False, None]),
                              st.dictionaries(keys, scalars, max_size=2), st.lists(scalars, max_size=2))
    answered, marked = [], []
    real_marked = module._marked_unchanged

    @settings(max_examples=600, deadline=None)
    @given(st.dictionaries(keys, trees, min_size=1, max_size=4),
           st.dictionaries(st.sampled_from(["arn", "b", "region", "tagsAll", "zz"]), filled_values, min_size=1,
                           max_size=3),
           st.integers(0, 6), st.booleans())
    def check(desired, filled, how, sort) -> None:
        filled = {k: v for k, v in filled.items() if k not in desired}
        if not filled:
            return
        prior = {k: stored(v) for k, v in desired.items()}
        listed = sorted(filled)
        if how == 1:  # a provider-filled member moved into a nested object, where the walk keeps it
            nested = next((k for k, v in prior.items() if isinstance(v, dict)), None)
            if nested is None:
                return
            name = listed[0]
            prior[nested] = {**prior[nested], name: filled.pop(name)}
        elif how == 2:  # a listed name the stored object lacks
            listed.append("absent")
        elif how == 3:  # an unlisted member
            filled["unlisted"] = "kept by the walk"
        elif how == 4:  # a changed leaf
            prior[sorted(prior)[0]] = "zz"
        elif how == 5:  # a desired member missing
            del prior[sorted(prior)[0]]
        head = orjson.dumps({"__defaults": listed})[:-1]
        body = orjson.dumps({**prior, **filled}, option=orjson.OPT_SORT_KEYS if sort else None)
        if how == 6:  # a listed name held twice: the walk reads the last one
            body = body[:-1] + b',"' + listed[0].encode() + b'":"again"}'
        text = head + b"," + body[1:]
        start = len(head) + 1
        marked_answer = real_marked(text, start, desired, listed, lookup)

        def spy(*args):
            answer = real_marked(*args)
            marked.append(answer)
            return answer

        module._marked_unchanged = spy
        try:
            proved = module.unchanged(text, desired, rule=RULE, lookup=lookup)
        finally:
            module._marked_unchanged = real_marked
        if not (proved or marked_answer):
            return
        answered.append((how, len(filled), marked_answer, proved))
        kwargs = {"rule": RULE, "lookup": lookup, "secrets_provider": "b64"}
        fast = norm(orjson.loads(text), desired, **kwargs)
        with _walk_only(module):
            slow = norm(orjson.loads(text), desired, **kwargs)
        for n in (fast, slow):
            assert not n.differs and n.unverifiable == 0, (text, desired)

    check()
    by_mark = [(how, count) for how, count, marked_answer, _ in answered if marked_answer]
    assert len(by_mark) >= 30, len(by_mark)
    assert 0 in {how for how, _ in by_mark} and max(count for _, count in by_mark) >= 2, by_mark
    assert all(proved for _, _, marked_answer, proved in answered if marked_answer)  # unchanged takes it
    assert True in marked
    nested = orjson.dumps({"__defaults": ["forceDestroy"], "a": {"forceDestroy": False, "y": 1}, "b": 2})
    assert not module.unchanged(nested, {"a": {"y": 1}, "b": 2}, rule=RULE, lookup=lookup)  # not a top-level member
    nested_region = orjson.dumps({"__defaults": [], "a": {"region": "eu-west-1", "y": 1}, "b": 2})
    assert not module.unchanged(nested_region, {"a": {"y": 1}, "b": 2}, rule=RULE, lookup=lookup,
                                filled={"region": "eu-west-1"})  # a filled key is a top-level one too
    assert norm(orjson.loads(nested_region), {"a": {"y": 1}, "b": 2}, filled={"region": "eu-west-1"}).differs
    between = orjson.dumps({"__defaults": ["forceDestroy"], "a": {"y": 1}, "forceDestroy": False,
                            "z": "arn:aws:iam::1:role/kept"})
    assert real_marked(between, len(b'{"__defaults":["forceDestroy"],'), {"z": ref("kept", "arn"), "a": {"y": 1}},
                       ["forceDestroy"], lookup)
    stored_twice = b'{"__defaults":["region"],"__defaults":[],"k":1,"region":"eu"}'  # the walk reads the last one
    assert norm(orjson.loads(stored_twice), {"__defaults": [], "k": 1}).differs
    assert not module.unchanged(stored_twice, {"__defaults": [], "k": 1}, rule=RULE, lookup=lookup)
