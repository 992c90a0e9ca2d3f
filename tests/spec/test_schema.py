"""The JSON Schema: fresh, documented, and in agreement with the models on real documents."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml_rs
from pydantic_core import SchemaValidator, ValidationError, core_schema

from mlops_infra.spec import parse_system
from mlops_infra.spec.schema import SCHEMA_FILE, build_schema, render_schema

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "schemas" / SCHEMA_FILE
EXAMPLES = sorted((ROOT / "examples").glob("*/mlsystem.yaml"))
CORPUS = Path(__file__).parent / "corpus" / "bad"


def load_yaml(path: Path) -> Any:
    return yaml_rs.loads(path.read_text(), parse_datetime=False)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(COMMITTED.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_committed_schema_is_fresh() -> None:
    assert COMMITTED.read_text() == render_schema(), (
        f"{COMMITTED} is stale. Regenerate it with: mlops-infra schema --out schemas/{SCHEMA_FILE}")


def test_schema_header() -> None:
    schema = build_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "mlops-infra/v1" in schema["title"]
    assert schema["description"]


def _ids(node: Any) -> list[str]:
    """Every ``$id`` (and draft-04 ``id``) string in a schema."""
    if isinstance(node, dict):
        own = [node[k] for k in ("$id", "id") if isinstance(node.get(k), str)]
        return own + [i for value in node.values() for i in _ids(value)]
    if isinstance(node, list):
        return [i for value in node for i in _ids(value)]
    return []


def _refs(node: Any) -> list[str]:
    """Every ``$ref`` in a schema."""
    if isinstance(node, dict):
        return ([node["$ref"]] if isinstance(node.get("$ref"), str) else []) + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_the_schema_has_no_id_an_editor_cannot_resolve() -> None:
    """No ``$id`` (its base is the file's own URL, JSON Schema 2020-12 Core "Initial Base URI") and every
    ``$ref`` a local pointer, so it resolves offline: the ``urn:mlops-infra:`` id made yaml-language-server
    >= 1.20 throw on Node.js 25 (``url.resolve``, DEP0170 End-of-Life) and check nothing (audit schemas-5)."""
    schema = json.loads(COMMITTED.read_text())
    assert _ids(schema) == []
    refs = _refs(schema)
    assert refs
    assert [ref for ref in refs if not (ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in schema["$defs"])] == []


def test_the_schema_loads_in_node_url_resolve_without_a_deprecation() -> None:
    """What yaml-language-server does with the schema's ids and refs: Node's legacy ``url.resolve`` against
    the schema's file URL, with deprecations thrown (DEP0170 is a warning before Node 25, an error from 25)
    (skipped without Node.js)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed")
    schema = json.loads(COMMITTED.read_text())
    script = ("const url = require('url'); const refs = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "for (const r of refs) url.resolve('file:///x/schemas/s.json', r);")
    run = subprocess.run([node, "--throw-deprecation", "-e", script], input=json.dumps(_ids(schema) + _refs(schema)),
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr


def _objects(schema: dict) -> list[tuple[str, dict]]:
    found = [("(root)", schema)]
    found += [(name, definition) for name, definition in schema.get("$defs", {}).items()]
    return [(name, obj) for name, obj in found if "properties" in obj]


def test_every_model_and_field_has_a_description() -> None:
    missing = []
    for name, obj in _objects(build_schema()):
        if not obj.get("description"):
            missing.append(name)
        missing += [f"{name}.{field}" for field, prop in obj["properties"].items() if not prop.get("description")]
    assert not missing, f"fields without a description: {missing}"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.parent.name)
def test_examples_validate_against_the_schema(validator, path: Path) -> None:
    errors = [e.message for e in validator.iter_errors(load_yaml(path))]
    assert not errors


def test_reference_validates_against_the_schema(validator, shared_dir: Path) -> None:
    assert not list(validator.iter_errors(load_yaml(shared_dir / "spec" / "reference-mlsystem.yaml")))


STRUCTURAL = ["unknown-field-typo", "endpoint-missing-replicas", "unsupported-api-version", "wrong-kind",
              "invalid-item-name", "quoted-number", "invalid-channel-kind", "aws-account-not-quoted",
              "unknown-gate", "duration-without-unit-letter", "plaintext-secret-webhook", "cron-with-four-fields"]


@pytest.mark.parametrize("name", STRUCTURAL)
def test_schema_rejects_what_the_models_reject(validator, name: str) -> None:
    path = CORPUS / f"{name}.yaml"
    assert not parse_system(path.read_text()).ok
    assert list(validator.iter_errors(load_yaml(path))), f"the schema accepts {name}"


@pytest.mark.parametrize(("field", "value"), [
    ("for_", "5m"), ("api_version", "mlops-infra/v1"),
])
def test_field_names_are_not_accepted_in_place_of_aliases(validator, field: str, value: str) -> None:
    document = {"apiVersion": "mlops-infra/v1", "kind": "MLSystem", "metadata": {"name": "x"}, field: value}
    assert list(validator.iter_errors(document))
    assert not parse_system(json.dumps(document)).ok


@pytest.mark.parametrize("duration", ["0m", "10 m", "٣m", "-1h", "10"])
def test_durations_agree(validator, duration: str) -> None:
    document = {"apiVersion": "mlops-infra/v1", "kind": "MLSystem", "metadata": {"name": "x"},
                "data_sources": [{"name": "d", "kind": "object_store", "retention": duration}]}
    assert list(validator.iter_errors(document)), duration
    assert not parse_system(json.dumps(document)).ok


def test_environment_names_are_checked(validator) -> None:
    document = {"apiVersion": "mlops-infra/v1", "kind": "MLSystem", "metadata": {"name": "x"},
                "environments": {"Prod_1": {"target": {"kind": "kubernetes", "context": "c", "namespace": "n"}}}}
    assert list(validator.iter_errors(document))
    assert not parse_system(json.dumps(document)).ok


def test_override_values_are_free_form(validator) -> None:
    document = {"apiVersion": "mlops-infra/v1", "kind": "MLSystem", "metadata": {"name": "x"},
                "environments": {"dev": {"target": {"kind": "kubernetes", "context": "c", "namespace": "n"},
                                         "overrides": {"metadata.labels": {"a": "b"}, "x.y.z": [1, {"q": None}]}}}}
    assert not list(validator.iter_errors(document))


def _patterns(node: Any) -> set[str]:
    """Every regular expression in a schema: ``pattern`` values and ``patternProperties`` keys."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                found.add(value)
            elif key == "patternProperties" and isinstance(value, dict):
                found |= set(value)
            found |= _patterns(value)
    elif isinstance(node, list):
        for item in node:
            found |= _patterns(item)
    return found


def test_no_pattern_uses_a_class_whose_meaning_differs_between_editors_and_validate() -> None:
    r"""JSON Schema patterns are ECMA-262 (2020-12 Core, section 6.4), where ``\w``, ``\d`` and
    ``\b`` are ASCII; in Python's ``re`` and pydantic's Rust ``regex`` they are Unicode, and ``\s``
    is a different set in each engine, so an editor and ``validate`` would disagree (``\w`` in the
    Slack channel pattern did; ``\s`` in the email, URL, threshold and cron patterns did on U+0085,
    U+001C-U+001F and U+FEFF)."""
    patterns = _patterns(build_schema())
    assert patterns
    assert not [p for p in patterns if re.search(r"(?<!\\)(?:\\\\)*\\[wWdDbBsS]", p)]


SAMPLES = ["a", "ab", "#ml-oncall", "ml-team@example.com", "a@b.c", "https://hooks.example.com/x", "250ms", "250 ms",
           "1%", "0.2", "0 3 * * 1", "5m", "6h", "90d", "us-east-1", "123456789012", "prefix/", "a-b", "Ab_9",
           "données", "雑談", "Ω", "٣", "é" * 81]
WHITESPACE_SAMPLES = ["\t", "\n", "\v", "\f", "\r", " ", "\x1c", "\x1f", "\x85", "\xa0", "\u1680", "\u2000",
                      "\u200b", "\u2028", "\u202f", "\u205f", "\u3000", "\ufeff", "\U0001f600"]


def _pydantic_accepts(pattern: str, value: str) -> bool:
    try:
        SchemaValidator(core_schema.str_schema(pattern=pattern)).validate_python(value)
    except ValidationError:
        return False
    return True


def test_every_schema_pattern_means_the_same_in_ecma_262_and_the_models() -> None:
    """Each pattern of the committed schema accepts the same strings in JavaScript's RegExp (with and
    without ``u``) as in pydantic-core's engine, which runs the models' ``pattern=`` fields (Python's
    ``re`` is not the yardstick: its ``$`` also matches before a final newline): samples of every
    field, each also with every kind of whitespace in it and around it (skipped without Node.js)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the ECMA-262 engine this test runs")
    patterns = sorted(_patterns(json.loads(COMMITTED.read_text())))
    values = list(SAMPLES)
    for sample in SAMPLES[:12]:
        for space in WHITESPACE_SAMPLES:
            values += [sample + space, space + sample, sample[:1] + space + sample[1:]]
    script = ("const [patterns, values] = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "console.log(JSON.stringify(patterns.map(p => values.map(v => "
              "[new RegExp(p).test(v), new RegExp(p, 'u').test(v)]))));")
    run = subprocess.run([node, "-e", script], input=json.dumps([patterns, values]), capture_output=True,
                         text=True, timeout=60, check=True)
    expected = [[[_pydantic_accepts(p, v)] * 2 for v in values] for p in patterns]
    disagree = [(p, ascii(v)) for p, got, want in zip(patterns, json.loads(run.stdout), expected, strict=True)
                for v, g, w in zip(values, got, want, strict=True) if g != w]
    assert not disagree


@pytest.mark.parametrize("space", ["\x1c", "\x85", "\ufeff", "\u3000", "\xa0"], ids=ascii)
def test_whitespace_is_the_same_to_the_schema_and_the_models(validator, space: str) -> None:
    """Email, webhook URL, threshold and cron: a value with any whitespace character is valid to the
    schema exactly when it is valid to ``validate``."""
    base = {"apiVersion": "mlops-infra/v1", "kind": "MLSystem", "metadata": {"name": "x"}}
    documents = [
        {**base, "channels": [{"name": "c", "kind": "email", "address": f"ml{space}team@example.com"}]},
        {**base, "channels": [{"name": "c", "kind": "webhook", "url": f"https://hooks.example.com/{space}x"}]},
        {**base, "data_sources": [{"name": "d", "kind": "object_store"}],
         "endpoints": [{"name": "e", "model": {"name": "m", "version": 1}, "instance_type": "ml.m5.xlarge",
                        "replicas": {"min": 1, "max": 1}}],
         "models": [{"name": "m", "framework": "sklearn"}],
         "monitors": [{"name": "l", "endpoint": "e", "metric": "latency_p99", "threshold": f"250{space}ms"}]},
        {**base, "clusters": [{"name": "c", "instance_type": "ml.m5.xlarge", "nodes": {"min": 0, "max": 1}}],
         "training_jobs": [{"name": "t", "cluster": "c", "image": "registry.example.com/t:1",
                            "triggers": {"schedule": f"0{space}3 * * 1"}}]},
        {**base, "clusters": [{"name": "c", "instance_type": "ml.m5.xlarge", "nodes": {"min": 0, "max": 1}}],
         "training_jobs": [{"name": "t", "cluster": "c", "image": "registry.example.com/t:1",
                            "triggers": {"schedule": f"0 3 * * 1{space}"}}]},
    ]
    for document in documents:
        structural = not list(validator.iter_errors(document))
        result = parse_system(json.dumps(document))
        shape_errors = [d for d in result.diagnostics if d.is_error and d.code in ("invalid-format", "invalid-value")]
        assert structural is (not shape_errors), (ascii(json.dumps(document)), [d.summary for d in shape_errors])


SLACK_CHANNELS = {
    "#ml-oncall": True, "@first.last": True, "C0123ABCD": True, "#données": True, "#雑談": True, "#канал_1": True,
    "#" + "é" * 80: True, "#" + "é" * 81: False, "#" + "x" * 81: False, "#": False, "#a b": False,
    "#a\u00a0b": False, "#a\u200bb": False, "#a\u202eb": False, "#a\u3000b": False, "#a\ufeffb": False,
    "#a\u00adb": False, "#\U0001f600": False, "#{{x}}": False, "#a$b": False, "#a'b": False, "##x": False,
}
"""Slack channel values -> whether they are valid (the Unicode letters Slack allows in names; no
invisible, template or shell characters; an emoji is two UTF-16 units in ECMA-262)."""


def _slack_document(channel: str) -> dict:
    return {"apiVersion": "mlops-infra/v1", "kind": "MLSystem", "metadata": {"name": "x"},
            "channels": [{"name": "c", "kind": "slack", "webhook_url": {"secret": "hook"}, "channel": channel}]}


@pytest.mark.parametrize("channel", list(SLACK_CHANNELS), ids=ascii)
def test_slack_channels_agree(validator, channel: str) -> None:
    assert parse_system(json.dumps(_slack_document(channel))).ok is SLACK_CHANNELS[channel]
    assert (not list(validator.iter_errors(_slack_document(channel)))) is SLACK_CHANNELS[channel]


def test_slack_channel_pattern_means_the_same_in_ecma_262() -> None:
    """What an editor does with the committed schema's pattern: JavaScript's RegExp, with and without
    the ``u`` flag, accepts exactly the channels the models accept (skipped without Node.js)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the ECMA-262 engine this test runs")
    schema = json.loads(COMMITTED.read_text())
    pattern = schema["$defs"]["SlackChannel"]["properties"]["channel"]["anyOf"][0]["pattern"]
    script = ("const [p, values] = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "console.log(JSON.stringify(values.map(v => [new RegExp(p).test(v), new RegExp(p, 'u').test(v)])));")
    run = subprocess.run([node, "-e", script], input=json.dumps([pattern, list(SLACK_CHANNELS)]),
                         capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(run.stdout) == [[valid, valid] for valid in SLACK_CHANNELS.values()]


ROLLOUTS = {
    "canary-0": ({"strategy": "canary", "steps": [0, 100]}, False),
    "canary-101": ({"strategy": "canary", "steps": [10, 101]}, False),
    "canary-empty": ({"strategy": "canary", "steps": []}, False),
    "canary-no-steps": ({"strategy": "canary"}, False),
    "canary-ok": ({"strategy": "canary", "steps": [1, 10, 100]}, True),
    "rolling-out-of-range": ({"strategy": "rolling", "steps": [-5, 1000]}, False),
    "rolling-0": ({"strategy": "rolling", "steps": [0]}, False),
    "rolling-ok": ({"strategy": "rolling", "steps": [25]}, True),
    "rolling-no-steps": ({"strategy": "rolling"}, True),
    "blue-green-steps": ({"strategy": "blue_green", "steps": [50]}, False),
    "all-at-once-steps": ({"strategy": "all_at_once", "steps": [100]}, False),
    "all-at-once-empty": ({"strategy": "all_at_once", "steps": []}, True),
}
"""Rollouts -> whether they are valid (audit schemas-6: the schema published unbounded integer steps, and
validate took any rolling steps)."""


@pytest.mark.parametrize("name", list(ROLLOUTS))
def test_rollout_steps_agree(validator, name: str) -> None:
    rollout, valid = ROLLOUTS[name]
    document = {"apiVersion": "mlops-infra/v1", "kind": "MLSystem", "metadata": {"name": "x"},
                "models": [{"name": "m", "framework": "sklearn"}],
                "endpoints": [{"name": "e", "model": {"name": "m", "version": 1}, "instance_type": "ml.m5.xlarge",
                               "replicas": {"min": 1, "max": 1}, "rollout": rollout}]}
    assert parse_system(json.dumps(document)).ok is valid, parse_system(json.dumps(document)).diagnostics
    assert (not list(validator.iter_errors(document))) is valid


WEBHOOK_URLS = {
    "https://hooks.slack.com/services/T0/B0/XXXXXXXXXXXXXXXX": False,
    "https://HOOKS.Slack.com/Services/T0000/B0000/abcdefghij": False,
    "https://hooks.slack.com/workflows/T0123/A0123/4567/abcdefgh": False,
    "https://hooks.slack.com/triggers/T0123/4567/abcdefghijkl": False,
    "https://discord.com/api/webhooks/123456789/abcdefghijklmnop": False,
    "https://discordapp.com/api/webhooks/1/abcdefghij_-klm": False,
    "https://acme.webhook.office.com/webhookb2/abc-def/IncomingWebhook/123/456": False,
    "https://hooks.example.com/x": True,
    "https://hooks.slack.com/": True,
    "https://hooks.slack.com/services/": True,
    "https://discord.com/api/webhooks/": True,
    "https://example.com/services/hooks/slack": True,
    "https://alerts.example.com/discord/notify": True,
    "https://webhook.office.com/": True,
}
"""Webhook ``url`` values -> whether they are valid: Slack, Discord and Teams webhook URLs carry their token
in the path, so validate refuses them as plaintext secrets and the schema must too (audit schemas-2); a
URL merely naming those hosts is valid to both."""


def _webhook_document(url: str) -> dict:
    return {"apiVersion": "mlops-infra/v1", "kind": "MLSystem", "metadata": {"name": "x"},
            "channels": [{"name": "c", "kind": "webhook", "url": url}]}


@pytest.mark.parametrize("url", list(WEBHOOK_URLS))
def test_token_webhook_urls_agree(validator, url: str) -> None:
    result = parse_system(json.dumps(_webhook_document(url)))
    assert result.ok is WEBHOOK_URLS[url], [d.summary for d in result.diagnostics]
    if not WEBHOOK_URLS[url]:
        assert [d.code for d in result.diagnostics if d.is_error] == ["plaintext-secret"]
    assert (not list(validator.iter_errors(_webhook_document(url)))) is WEBHOOK_URLS[url]


def test_token_webhook_url_pattern_means_the_same_in_ecma_262() -> None:
    """The committed ``not`` pattern in JavaScript's RegExp (with and without ``u``) matches exactly the
    webhook URLs validate refuses (skipped without Node.js)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the ECMA-262 engine this test runs")
    schema = json.loads(COMMITTED.read_text())
    pattern = schema["$defs"]["WebhookChannel"]["properties"]["url"]["anyOf"][1]["not"]["pattern"]
    script = ("const [p, values] = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "console.log(JSON.stringify(values.map(v => [new RegExp(p).test(v), new RegExp(p, 'u').test(v)])));")
    run = subprocess.run([node, "-e", script], input=json.dumps([pattern, list(WEBHOOK_URLS)]),
                         capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(run.stdout) == [[not valid, not valid] for valid in WEBHOOK_URLS.values()]


SECRET_KEYS = {"": False, "a b": False, "x/y": False, "k" * 300: False, "k" * 254: False, ".": False, "..": False,
               "..a": False, "é": False, "k" * 253: True, ".a": True, "a..b": True, "a.": True,
               "ok.key_1-2": True, "value": True, "-": True, "_": True}
"""Secret ``key`` values -> whether they are valid (a Kubernetes Secret data key: apimachinery
``IsConfigMapKey``; audit schemas-8: the schema took any string). A final newline is left to the ECMA-262
test above: Python's ``re``, which ``jsonschema`` runs, lets ``$`` match before it."""


@pytest.mark.parametrize("key", list(SECRET_KEYS), ids=lambda k: ascii(k) if len(k) < 20 else f"{len(k)}-chars")
def test_secret_keys_agree(validator, key: str) -> None:
    document = _slack_document("#ml-oncall")
    document["channels"][0]["webhook_url"] = {"secret": "hook", "key": key}
    assert parse_system(json.dumps(document)).ok is SECRET_KEYS[key]
    assert (not list(validator.iter_errors(document))) is SECRET_KEYS[key]


def _object_schemas(node: Any) -> list[dict]:
    """Every schema of ``type: object`` in a schema."""
    if isinstance(node, dict):
        own = [node] if node.get("type") == "object" else []
        return own + [o for value in node.values() for o in _object_schemas(value)]
    if isinstance(node, list):
        return [o for value in node for o in _object_schemas(value)]
    return []


def test_every_closed_object_refuses_a_merge_key() -> None:
    """yaml-language-server applies ``<<`` as a YAML 1.1 merge key and checks the merged fields, never the key
    against ``additionalProperties`` (audit schemas-7); it does check ``propertyNames``. validate refuses
    merge keys (``merge-key``) and, in a model, any unknown field."""
    closed = [o for o in _object_schemas(json.loads(COMMITTED.read_text())) if o.get("additionalProperties") is False]
    assert len(closed) > 30
    assert [o.get("title", "?") for o in closed if o.get("propertyNames") != {"not": {"const": "<<"}}] == []


def test_a_quoted_angle_key_in_a_free_form_map_is_valid_to_both(validator) -> None:
    """The schema cannot tell a quoted ``"<<"`` (an ordinary key, which validate takes in a label map) from a
    merge key: free-form maps stay open."""
    document = {"apiVersion": "mlops-infra/v1", "kind": "MLSystem", "metadata": {"name": "x", "labels": {"<<": "x"}}}
    assert parse_system(json.dumps(document)).ok
    assert not list(validator.iter_errors(document))


@pytest.mark.parametrize("value", ["3.0", "3e0"])
def test_a_whole_number_with_a_fraction_is_validate_only_and_documented(validator, value: str) -> None:
    """JSON Schema counts 3.0 as an integer (2020-12 Validation, "type": "integer" matches "any number with
    a zero fractional part"), so the schema cannot refuse what validate refuses (values are not coerced):
    the docs list it with what only validate checks (audit schemas-3)."""
    text = (ROOT / "examples" / "quickstart" / "mlsystem.yaml").read_text().replace(
        "replicas: {min: 1, max: 3}", f"replicas: {{min: 1, max: {value}}}", 1)
    assert f"max: {value}" in text
    assert not parse_system(text).ok
    assert not list(validator.iter_errors(yaml_rs.loads(text, parse_datetime=False)))
    assert "whole numbers written with a fraction (`max: 3.0`, `3e0`" in " ".join(
        (ROOT / "docs" / "spec.md").read_text().split())
