"""A resource proved unchanged from its stored text (``normalize.unchanged``) without a walk: strings that start
with ``$``, desired members set to None, and refs whose replacement the planner already knows (``RefTexts``)."""

from __future__ import annotations

import tracemalloc

import orjson

import mlops_infra.plan.normalize as module
from mlops_infra.graph import DesiredGraph, DesiredResource, canonical_json, json_of, make_urn, ref
from mlops_infra.plan.model import Action
from mlops_infra.plan.normalize import RefValue, normalize_inputs, unchanged
from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.plan.rules import ReplaceRule, rule_for
from mlops_infra.state.model import SECRET_MARKER, SECRET_SIG, UNKNOWN, PriorState, StateResource

RULE = ReplaceRule()
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
TOPIC = "aws:sns/topic:Topic"
MONITOR = "mlops:monitoring:Monitor"
P, S = "bench", "prod"
OUTPUTS = {"kept": RefValue("arn:aws:sns:eu-west-1:1:team"), "count": RefValue(3), "flag": RefValue(True),
           "new": RefValue(UNKNOWN, source="new"), "echo": RefValue("arn:x", source="new"),
           "gone": RefValue(same_as_prior=True), "unknown": RefValue(UNKNOWN),
           "secret": RefValue({SECRET_SIG: SECRET_MARKER, "ciphertext": "v1:abc"}), "object": RefValue({"a": 1}),
           "float": RefValue(2.0)}


def lookup(urn: str, output: str) -> RefValue:
    return OUTPUTS[urn]


def refuse(urn: str, output: str) -> RefValue:
    raise AssertionError(f"looked up {urn} {output}: its text was known")


def walked_equal(stored: bytes, desired: dict, rule: ReplaceRule = RULE, filled: dict | None = None) -> bool:
    found = normalize_inputs(orjson.loads(stored), desired, name="res", rule=rule, lookup=lookup, filled=filled)
    return not found.differs and found.unverifiable == 0


# EventBridge input paths are JSONPath ("$.detail..."): docs.aws.amazon.com/eventbridge/latest/ref/
# API_InputTransformer.html, InputPathsMap: "JSONPath, for example $.detail"
EVENT_TARGET = {"arn": ref("kept", "arn"), "rule": "train-000.failed", "targetId": "notify-1",
                "inputTransformer": {"inputPaths": {"execution": "$.detail.pipelineExecutionArn", "time": "$.time"},
                                     "inputTemplate": '{"AlarmName": "x", "StateChangeTime": "<time>"}'},
                "retryPolicy": {"maximumEventAgeInSeconds": 600, "maximumRetryAttempts": 2}}
EVENT_TARGET_STORED = {"__defaults": [], "arn": "arn:aws:sns:eu-west-1:1:team",
                       "inputTransformer": EVENT_TARGET["inputTransformer"], "region": "eu-west-1",
                       "retryPolicy": EVENT_TARGET["retryPolicy"], "rule": "train-000.failed", "targetId": "notify-1"}


def test_strings_that_start_with_a_dollar_are_proved_unchanged_from_text() -> None:
    """An EventBridge target's input paths (``"$.time"``) are strings, not sentinels: the stored inputs prove the
    resource unchanged from text, as the walk finds it; a changed path is not proved (the walk finds it)."""
    stored = orjson.dumps(EVENT_TARGET_STORED)
    filled = {"region": "eu-west-1"}
    assert walked_equal(stored, EVENT_TARGET, rule_for(TARGET), filled)
    assert unchanged(stored, EVENT_TARGET, rule=rule_for(TARGET), lookup=lookup, filled=filled)
    moved = stored.replace(b'"$.time"', b'"$.detail.time"')
    assert not unchanged(moved, EVENT_TARGET, rule=rule_for(TARGET), lookup=lookup, filled=filled)
    assert not walked_equal(moved, EVENT_TARGET, rule_for(TARGET), filled)


def test_objects_whose_first_key_starts_with_a_dollar_are_still_left_to_the_walk() -> None:
    """What the walk treats as a sentinel (a ref not replaced, ``$json``, ``$archive``), at any depth or inside a
    ``$json`` document's text, and a plain object whose first key starts with ``$``, are not proved from text."""
    for desired in ({"a": {"$json": "text"}}, {"a": [{"$archive": {"f": "x"}}]},
                    {"a": {"$ref": "kept", "output": "arn", "x": 1}}, {"a": {"$schema": "s", "b": 1}},
                    {"policy": json_of({"Statement": [{"$json": {"a": 1}}]})}, {"a": '{"$ref":"kept"}'}):
        assert not unchanged(orjson.dumps(desired), desired, rule=RULE, lookup=lookup), desired


def test_a_json_document_that_is_one_ref_is_left_to_the_walk() -> None:
    """A ``$json`` document that is a ref alone resolves to a scalar, whose text the walk does not compare as a
    document (``_Walker._json`` compares a text that starts with ``{`` or ``[``; a stored ``"3"`` is a string, the
    ref an int): the text proof, which wrote the resolved scalar as the document's text, answered True where the
    walk finds a difference (found by the property test below)."""
    desired = {"a": json_of(ref("count", "arn"))}
    assert not walked_equal(b'{"a":"3"}', desired)
    assert not unchanged(b'{"a":"3"}', desired, rule=RULE, lookup=lookup)


MONITOR_INPUTS = {"endpoint": "ep-0000", "factsVersion": 1, "kind": "monitor", "metric": "latency_p99",
                  "name": "ep-0000-latency", "scheduleSeconds": None, "threshold": "200ms"}


def test_a_desired_member_set_to_none_is_proved_unchanged_when_the_state_does_not_hold_it() -> None:
    """A None input is not set: the state does not hold it (pulumi/runtime/rpc.py ``serialize_properties``), and
    the walk pairs it as unset, so the stored inputs prove the resource unchanged; a stored value of that name is
    still a difference, and a stored empty value (which the walk drops) is proved too."""
    without = {k: v for k, v in MONITOR_INPUTS.items() if v is not None}
    stored = orjson.dumps(without, option=orjson.OPT_SORT_KEYS)
    assert walked_equal(stored, MONITOR_INPUTS)
    assert unchanged(stored, MONITOR_INPUTS, rule=RULE, lookup=lookup)
    valued = orjson.dumps({**without, "scheduleSeconds": 300}, option=orjson.OPT_SORT_KEYS)
    assert not walked_equal(valued, MONITOR_INPUTS)
    assert not unchanged(valued, MONITOR_INPUTS, rule=RULE, lookup=lookup)
    empty = orjson.dumps({**without, "scheduleSeconds": None}, option=orjson.OPT_SORT_KEYS)
    assert walked_equal(empty, MONITOR_INPUTS) and unchanged(empty, MONITOR_INPUTS, rule=RULE, lookup=lookup)
    assert not unchanged(b"{}", {"a": None}, rule=RULE, lookup=lookup)  # nothing set: left to the walk


def test_a_ref_whose_text_is_known_is_replaced_without_a_lookup() -> None:
    """``texts`` (what the planner remembers from :func:`kept_ref_text` once a ref's answer is final) replaces a
    ref as the lookup would, without the lookup; a ref it does not hold is looked up."""
    texts = dict(filter(None, [module.kept_ref_text("kept", "arn", OUTPUTS["kept"])]))
    stored = orjson.dumps(EVENT_TARGET_STORED)
    filled = {"region": "eu-west-1"}
    assert unchanged(stored, EVENT_TARGET, rule=rule_for(TARGET), lookup=refuse, filled=filled, texts=texts)
    document = {"policy": json_of({"Resource": [ref("kept", "arn"), ref("count", "n")]})}
    stored_document = orjson.dumps({"policy": canonical_json({"Resource": ["arn:aws:sns:eu-west-1:1:team", 3]})})
    asked = []

    def counted(urn: str, output: str) -> RefValue:
        asked.append(urn)
        return lookup(urn, output)

    assert unchanged(stored_document, document, rule=RULE, lookup=counted, texts=texts)
    assert asked == ["count"]  # not in texts: looked up
    assert unchanged(stored_document, document, rule=RULE, lookup=counted, texts={})
    assert asked == ["count", "kept", "count"]


def test_kept_ref_text_is_what_the_text_proof_puts_in_place_of_the_ref() -> None:
    """An entry for exactly the refs the proof replaces (a plain scalar of a resource kept as it is), keyed by
    the ref's text as orjson writes it with sorted keys; none for any other answer or a text with an escape."""
    for urn, found in OUTPUTS.items():
        entry = module.kept_ref_text(urn, "arn", found)
        text = orjson.dumps({"a": ref(urn, "arn")}, option=orjson.OPT_SORT_KEYS)
        try:
            expected = module._kept_refs_text(text, lookup)
        except module._Unresolved:
            expected = None
        if expected is None:
            assert entry is None, urn
        else:
            assert entry is not None and b'{"a":' + entry[1] + b"}" == expected, urn
            assert entry[0] == orjson.dumps(ref(urn, "arn"), option=orjson.OPT_SORT_KEYS)
            assert module._kept_refs_text(text, refuse, dict([entry])) == expected
    for urn in ('a"b', "a\\b", "a\u0001b"):
        assert module.kept_ref_text(urn, "arn", OUTPUTS["kept"]) is None, urn
    assert module.kept_ref_text("kept", 'a"b', OUTPUTS["kept"]) is None


def test_kept_ref_texts_hold_only_their_own_bytes() -> None:
    """The planner keeps an entry per ref for the whole plan: each holds its text, not the 4 KiB buffer an
    ``orjson.dumps`` result keeps (orjson 3.13 does not shrink it; measured with tracemalloc)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        entries = [module.kept_ref_text(f"urn:pulumi:prod::p::aws:sns/topic:Topic::t{i}", "arn", OUTPUTS["kept"])
                   for i in range(1000)]
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert all(entries) and held < 1000 * 400, held


def test_proofs_with_dollar_strings_none_members_and_known_ref_texts_agree_with_the_walk() -> None:
    """``unchanged`` answers True only where the walk finds no difference, for inputs with strings that start
    with ``$`` or hold ``{"$``, keys that start with ``$``, None members, refs of every kind and ``$json``
    documents, stored as the engine stores them or nearly so; and it answers the same with the ``texts`` of
    the final refs as with lookups alone. It answers True often."""
    from hypothesis import given, settings
    from hypothesis import strategies as hst

    texts = dict(filter(None, (module.kept_ref_text(urn, "arn", found) for urn, found in OUTPUTS.items())))

    def stored(value):
        if isinstance(value, dict) and set(value) == {"$ref", "output"}:
            found = OUTPUTS[value["$ref"]]
            return "arn:old" if found.same_as_prior or found.value == UNKNOWN else found.value
        if isinstance(value, dict) and set(value) == {"$json"}:
            return canonical_json(stored(value["$json"]))
        if isinstance(value, dict):
            return {k: stored(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [stored(v) for v in value]
        return value

    scalars = hst.one_of(
        hst.none(), hst.booleans(), hst.integers(-2, 2), hst.sampled_from([0.5, 1.0]),
        hst.sampled_from(["$", "$.time", "$.detail.x", '{"$json":1}', '{"$ref":"kept","output":"arn"}', "a{",
                          '{"$', "null", "x"]),
        hst.sampled_from(sorted(OUTPUTS)).map(lambda urn: ref(urn, "arn")))
    trees = hst.recursive(scalars, lambda children: hst.one_of(
        hst.lists(children, max_size=3),
        # "$ref" without "output": plain data (a ref object is exactly the two keys, drawn as refs above)
        hst.dictionaries(hst.sampled_from(["a", "$b", "$json", "$ref"]), children, max_size=3),
        hst.dictionaries(hst.sampled_from(["Resource", "$x"]), children, max_size=2).map(json_of)),
        max_leaves=6)
    answered = []

    @settings(max_examples=600, deadline=None)
    @given(hst.dictionaries(hst.sampled_from(["a", "b", "$c", "policy"]), trees, min_size=1, max_size=4),
           hst.integers(0, 3))
    def check(desired, how) -> None:
        prior = stored(desired)
        if how == 1 and prior:
            prior[sorted(prior)[0]] = "$.changed"
        elif how == 2:
            prior = {**prior, **{k: "set" for k, v in desired.items() if v is None}}
        text = orjson.dumps(prior, option=orjson.OPT_SORT_KEYS if how == 3 else None)
        proved = unchanged(text, desired, rule=RULE, lookup=lookup)
        assert unchanged(text, desired, rule=RULE, lookup=lookup, texts=texts) is proved
        if proved:
            answered.append(how)
            assert walked_equal(text, desired), (text, desired)

    check()
    assert len(answered) >= 25 and {0, 3} <= set(answered), len(answered)


def _state(urn: str, type_: str, inputs: dict, outputs: dict | None = None, custom: bool = True,
           provider: str | None = None) -> StateResource:
    """A state resource as ``plan --state`` reads it: its inputs kept as compact bytes."""
    return StateResource.packed(urn=urn, type=type_, custom=custom, id="id", parent=None, provider=provider,
                                inputs=orjson.dumps(inputs), outputs=orjson.dumps(outputs or {}), output_keys=None,
                                dependencies=(), protect=False)


def test_the_planner_proves_such_resources_unchanged_without_walking_them() -> None:
    """Planned against a state as the engine writes it, an EventBridge target with input paths and a component with
    an unset member are NOOPs proved from text (no walk); the plan is the one with every resource walked."""
    from tests.plan.test_normalize import _walk_only

    provider = make_urn(S, P, ["pulumi:providers:aws"], "aws")
    topic, target = make_urn(S, P, [TOPIC], "team"), make_urn(S, P, [TARGET], "notify")
    monitor = make_urn(S, P, [MONITOR], "ep-0000-latency")
    inputs = dict(EVENT_TARGET, arn=ref(topic, "arn"))
    graph = DesiredGraph(P, S, tuple(sorted([
        DesiredResource(urn=provider, type="pulumi:providers:aws", name="aws", custom=True, parent=None,
                        inputs={"region": "eu-west-1"}),
        DesiredResource(urn=topic, type=TOPIC, name="team", custom=True, parent=None, inputs={"name": "team"},
                        provider=provider),
        DesiredResource(urn=target, type=TARGET, name="notify", custom=True, parent=None, inputs=inputs,
                        provider=provider, dependencies=(topic,)),
        DesiredResource(urn=monitor, type=MONITOR, name="ep-0000-latency", custom=False, parent=None,
                        inputs=MONITOR_INPUTS)], key=lambda r: r.urn)))
    prior = PriorState(resources={r.urn: r for r in (
        _state(provider, "pulumi:providers:aws", {"region": "eu-west-1"}),
        _state(topic, TOPIC, {"__defaults": [], "name": "team", "region": "eu-west-1"},
               {"arn": "arn:aws:sns:eu-west-1:1:team"}, provider=provider),
        _state(target, TARGET, EVENT_TARGET_STORED, provider=provider),
        _state(monitor, MONITOR, {k: v for k, v in MONITOR_INPUTS.items() if v is not None}, custom=False))},
        source="test", version=3, serial="s" * 64, project=P, stack=S)
    options = PlanOptions(summarize_ml=False, estimate_cost=False)
    real, walked = module.normalize_inputs, []
    module.normalize_inputs = lambda *args, **kwargs: walked.append(kwargs["name"]) or real(*args, **kwargs)
    import mlops_infra.plan.planner as planner

    planner.normalize_inputs = module.normalize_inputs
    try:
        fast = make_plan(graph, prior, options=options)
    finally:
        module.normalize_inputs = planner.normalize_inputs = real
    with _walk_only(module):
        slow = make_plan(graph, prior, options=options)
    assert {c.name: c.action for c in fast.changes} == dict.fromkeys(("aws", "team", "notify", "ep-0000-latency"),
                                                                     Action.NOOP)
    assert "notify" not in walked and "ep-0000-latency" not in walked, walked
    assert repr(fast.changes) == repr(slow.changes) and fast.warnings == slow.warnings


def test_an_archive_whose_stored_text_is_ours_is_hashed_once() -> None:
    """A Lambda's code (our ``$archive``) against a stored Pulumi archive of text assets: the walk gives the trees
    it always gave (the prior side as ``prior_only`` reads it), computing each file's SHA-256 once when the stored
    text is ours (a changed or path-based asset is still read as stored)."""
    import hashlib

    from mlops_infra.graph import archive
    from mlops_infra.plan.normalize import ARCHIVE_SIG, ASSET_SIG

    files = {"forwarder.py": "x = 1\n" * 500, "util.py": "y = 2\n"}
    stored = {"code": {SECRET_SIG: ARCHIVE_SIG, "assets": {
        "forwarder.py": {SECRET_SIG: ASSET_SIG, "hash": "h", "text": files["forwarder.py"]},
        "util.py": {SECRET_SIG: ASSET_SIG, "text": "y = 3\n"}, "data.bin": {SECRET_SIG: ASSET_SIG, "path": "d"}}}}
    real, hashed = hashlib.sha256, []

    def counted(data: bytes = b""):
        hashed.append(data)
        return real(data)

    module.hashlib.sha256 = counted
    try:
        found = normalize_inputs(stored, {"code": archive(files)}, name="fn", rule=RULE, lookup=lookup)
    finally:
        module.hashlib.sha256 = real
    walker = module._Walker("fn", RULE, lookup, (), None)
    assert found.prior == {"code": walker.prior_only(stored["code"], ("code",))}
    assert found.desired == {"code": module.archive_hashes(files)} and found.differs
    assert sorted(hashed) == sorted([files["forwarder.py"].encode(), b"y = 2\n", b"y = 3\n"])  # ours once each


def test_a_types_rule_is_looked_up_once_per_plan() -> None:
    """``_plan`` reads a type's rule, its mutable flag and whether its provider fills its region once per type,
    not once per resource."""
    import mlops_infra.plan.planner as planner

    provider = make_urn(S, P, ["pulumi:providers:aws"], "aws")
    topics = [make_urn(S, P, [TOPIC], f"t{i}") for i in range(5)]
    graph = DesiredGraph(P, S, tuple(sorted([
        DesiredResource(urn=provider, type="pulumi:providers:aws", name="aws", custom=True, parent=None,
                        inputs={"region": "eu-west-1"}),
        *(DesiredResource(urn=u, type=TOPIC, name=u[-2:], custom=True, parent=None, inputs={"name": u[-2:]},
                          provider=provider) for u in topics)], key=lambda r: r.urn)))
    prior = PriorState(resources={r.urn: r for r in (
        _state(provider, "pulumi:providers:aws", {"region": "eu-west-1"}),
        *(_state(u, TOPIC, {"__defaults": [], "name": u[-2:], "region": "eu-west-1"}, provider=provider)
          for u in topics))}, source="test", version=3, serial="s" * 64, project=P, stack=S)
    real, asked = planner.rule_for, []
    planner.rule_for = lambda type_, custom=True: asked.append(type_) or real(type_, custom)
    try:
        result = make_plan(graph, prior, options=PlanOptions(summarize_ml=False, estimate_cost=False))
    finally:
        planner.rule_for = real
    assert {c.action for c in result.changes} == {Action.NOOP}
    assert asked.count(TOPIC) == 1, asked
