"""The system's labels on each target: AWS tag rules, Kubernetes label syntax, and what may not be lost.

``metadata.labels`` is copied onto every resource: as tags on AWS, as labels on Kubernetes
(compile/kubernetes/labels.py). This module owns what each target takes and checks it where the
user wrote it.

AWS (:func:`check_aws_tags`, AWS environments). The rules the tagged services share
(https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html, "Tag naming limits and
requirements"; the same list in every service's ``Tag`` shape documentation, e.g. botocore
``ecs`` ``Tag``):

- at most 50 tags per resource (:data:`AWS_MAX_TAGS`); mlops-infra puts :data:`AWS_OWN_TAGS` on every
  resource, so at most 46 labels fit; in an environment where an endpoint is rolled out by the
  controller (``rollout.strategy: canary``, the one strategy ``compile/aws/serving.py`` hands to the
  SageMaker rollout driver), the driver keeps its state in up to ``DRIVER_MAX_TAGS`` tags of that
  endpoint (``mlops_infra/endpoint_tags.py``), so fewer fit (:func:`label_room`); without that room
  every rollout's first ``AddTags`` fails ("at most 50 tags") before any traffic moves;
- a label may not use the driver's tag names (``mlops-infra:rollout:``, ``mlops-infra:kept:``,
  ``mlops-infra:autoscaling:restore``): the driver would overwrite it, and the provider ignores them;
- a key has 1 to 128 characters, a value at most 256 (botocore ``sagemaker`` ``TagKey``
  ``min 1 max 128`` / ``TagValue`` ``max 256``; ``iam`` ``tagKeyType``; ``lambda``, ``logs``,
  ``cloudwatch``, ``kms``, ``sns``, ``events``, ``application-autoscaling`` the same bounds);
- keys and values are made of Unicode letters, separators, digits and ``_ . : / = + - @``
  (botocore ``sagemaker``/``lambda``/``logs`` ``TagKey`` and ``iam`` ``tagKeyType`` pattern
  ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*``, the strictest of the tagged services), so no newline, quote,
  brace, ``#``, ``$`` or parenthesis;
- ``aws:`` in any case is reserved as a prefix of keys and values.

Kubernetes (:func:`check_kubernetes_labels`, Kubernetes environments). Label keys are
``[prefix/]name`` (name at most 63 characters of ``[A-Za-z0-9._-]``, starting and ending
alphanumeric; prefix a DNS subdomain of at most 253), values at most 63 of the same characters
(https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set;
apimachinery ``pkg/util/validation`` ``IsQualifiedName``/``IsValidLabelValue``). Labels are
*cleaned* to fit (:func:`label_key`, :func:`label_value`: other characters become ``-``, long ones
are cut and hashed). Two labels that clean to the same key would silently lose one value: that
is an error at the second. A key whose prefix is ``kubernetes.io`` or ``k8s.io`` or one of their
subdomains (``node.kubernetes.io``, ``topology.kubernetes.io``...) is an error: "The kubernetes.io/
and k8s.io/ prefixes are reserved for Kubernetes core components" (same page, "Syntax and character
set"; "Kubernetes reserves all labels, annotations and taints in the kubernetes.io and k8s.io
namespaces", Reference > Well-Known Labels, Annotations and Taints). The exceptions are the
recommended labels Kubernetes defines for applications to set (Concepts > Overview > Working with
Kubernetes Objects > Recommended Labels) that mlops-infra does not set itself:
:data:`KUBERNETES_RECOMMENDED_LABELS`.

Both targets: keys mlops-infra sets itself (:data:`OWN_KEYS`, the ``mlops-infra/`` prefix, and on
Kubernetes :data:`KUBERNETES_OWN_KEYS`) would be overwritten: a label may not use them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

from mlops_infra.diagnostics import Diagnostic, error
from mlops_infra.endpoint_tags import DRIVER_MAX_TAGS, SCALING_TAG, TAG_PREFIXES, is_tag_char
from mlops_infra.name_lists import join_names
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.environments import Environment
from mlops_infra.spec.errors import KEY

AWS_MAX_TAGS = 50
AWS_TAG_KEY_MAX = 128
AWS_TAG_VALUE_MAX = 256
AWS_RESERVED_PREFIX = "aws:"
"""With Unicode letters (L), separators (Z) and numbers (N): the characters a tag may hold."""

OWN_KEYS = ("managed-by", "mlops-infra/system", "mlops-infra/environment", "mlops-infra/item")
"""Tags/labels mlops-infra puts on every resource (``CompileContext.tags``, ``AwsContext.tags``)."""
AWS_OWN_TAGS = len(OWN_KEYS)
OWN_PREFIX = "mlops-infra/"
KUBERNETES_OWN_KEYS = frozenset({
    "app.kubernetes.io/managed-by", "app.kubernetes.io/part-of", "app.kubernetes.io/name",
    "app.kubernetes.io/instance", "kueue.x-k8s.io/queue-name", "grafana_dashboard", "networking.knative.dev/visibility"})
"""Labels the Kubernetes compiler sets (recommended labels, selectors, the Kueue queue, the label
Grafana's dashboard sidecar looks for on dashboard ConfigMaps, and KServe's visibility label, which
``endpoints[].exposure`` decides: ``compile/kubernetes/ingress.visibility_labels``; a user's label of that key would
publish or hide every endpoint behind ``exposure``'s back)."""

KUBERNETES_RESERVED_DOMAINS = ("kubernetes.io", "k8s.io")
"""Label key prefixes (and their subdomains) Kubernetes reserves for its core components."""
KUBERNETES_RECOMMENDED_LABELS = frozenset({"app.kubernetes.io/version", "app.kubernetes.io/component"})
"""The recommended labels (``app.kubernetes.io/``) a user may set: the others of the six are mlops-infra's."""

LABEL_MAX = 63
# compiled when first used (re's cache), not at import: see mlops_infra.secrets.rules.CREDENTIAL_NAME
_VALUE_RE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
_NAME_RE = r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
_PREFIX_RE = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_RENAMED = {"managed-by": "app.kubernetes.io/managed-by"}


def is_label_value(value: str) -> bool:
    """Whether ``value`` is a valid Kubernetes label value."""
    return len(value) <= LABEL_MAX and bool(re.match(_VALUE_RE, value))


def is_label_key(key: str) -> bool:
    """Whether ``key`` is a valid Kubernetes label key (``[prefix/]name``)."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not re.match(_PREFIX_RE, prefix)):
        return False
    return 0 < len(name) <= LABEL_MAX and bool(re.match(_NAME_RE, name))


def label_value(text: str) -> str:
    """``text`` made a valid label value (deterministic; over-long values end with a hash of ``text``,
    the first 8 hex digits of its SHA-256, as ``compile.naming.short_hash``)."""
    value = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._")
    if len(value) > LABEL_MAX:
        value = f"{value[:54].rstrip('-._')}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    return value


def label_key(text: str) -> str:
    """``text`` made a valid label key; an invalid prefix is folded into the name. The tag
    ``managed-by`` becomes the recommended ``app.kubernetes.io/managed-by``."""
    if text in _RENAMED:
        return _RENAMED[text]
    prefix, _, name = text.rpartition("/")
    prefix = re.sub(r"[^a-z0-9.-]+", "-", prefix.lower()).strip("-.")
    name = label_value(name) or "label"
    return f"{prefix}/{name}" if prefix and re.match(_PREFIX_RE, prefix) else name


def aws_tag_problem(text: str, limit: int, what: str) -> str:
    """Why AWS refuses ``text`` as a tag key or value (``what``), or ``""``."""
    if what == "key" and not text:
        return "is empty; a tag key has at least 1 character"
    if len(text) > limit:
        return f"is {len(text)} characters; a tag {what} has at most {limit}"
    if text[:len(AWS_RESERVED_PREFIX)].lower() == AWS_RESERVED_PREFIX:
        return f'starts with "{text[:4]}", a prefix AWS reserves for its own tags'
    bad = sorted({c for c in text if not is_tag_char(c)})
    if bad:
        shown = " ".join(repr(c) for c in bad[:5])
        return (f"holds {shown}; a tag {what} takes letters, digits, spaces and _ . : / = + - @ only")
    return ""


def kubernetes_reserved(key: str) -> bool:
    """Whether label key ``key`` (cleaned) has a prefix Kubernetes reserves (see the module docstring)."""
    prefix = key.rpartition("/")[0]
    return key not in KUBERNETES_RECOMMENDED_LABELS and any(
        prefix == domain or prefix.endswith("." + domain) for domain in KUBERNETES_RESERVED_DOMAINS)


def _own_key(key: str) -> bool:
    return key in OWN_KEYS or key.startswith(OWN_PREFIX)


def _driver_key(key: str) -> bool:
    return key == SCALING_TAG or key.startswith(TAG_PREFIXES)


def controlled_endpoints(ctx: CheckContext) -> list[str]:
    """The endpoints of the (effective) system the rollout controller rolls out (strategy ``canary``)."""
    return [e.name for e in ctx.system.endpoints if e.rollout.strategy == "canary"]


def label_room(ctx: CheckContext) -> int:
    """How many labels fit on every resource of an AWS environment: 50 tags less mlops-infra's own,
    less the driver's room (:data:`~mlops_infra.endpoint_tags.DRIVER_MAX_TAGS`) when an endpoint is
    rolled out by the controller."""
    return AWS_MAX_TAGS - AWS_OWN_TAGS - (DRIVER_MAX_TAGS if controlled_endpoints(ctx) else 0)


def _reserved(key: str, where: str) -> Diagnostic:
    return error("reserved-label", f'Label "{key}" is one mlops-infra sets itself',
                 f"mlops-infra puts {where} on every resource and would overwrite this label. Rename it "
                 f'(for example "team/{key.rsplit("/", 1)[-1]}").', ("metadata", "labels", key, KEY), "metadata.labels")


def check_aws_tags(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """The labels are tags AWS takes on every resource of an AWS environment (see the module docstring)."""
    if environment.target.kind != "aws":
        return
    labels = ctx.system.metadata.labels
    for key, value in labels.items():
        if _own_key(key):
            yield _reserved(key, ", ".join(OWN_KEYS))
            continue
        if _driver_key(key):
            yield _driver_reserved(key)
            continue
        for text, limit, what, path in ((key, AWS_TAG_KEY_MAX, "key", ("metadata", "labels", key, KEY)),
                                        (value, AWS_TAG_VALUE_MAX, "value", ("metadata", "labels", key))):
            problem = aws_tag_problem(text, limit, what)
            if problem:
                shown = f'Label key "{_short(key)}"' if what == "key" else f'The value of label "{_short(key)}"'
                yield error("invalid-tag", f"{shown} is not a valid AWS tag {what}",
                            f"In environment {env} (AWS) the labels become tags on every resource, and this "
                            f"{what} {problem} (AWS tag naming rules). Change the {what}.", path, "metadata.labels")
    yield from _too_many(ctx, env, len(labels))


def _too_many(ctx: CheckContext, env: str, count: int) -> Iterator[Diagnostic]:
    """At most :func:`label_room` labels: an error naming how many fit and why."""
    room, anywhere = label_room(ctx), AWS_MAX_TAGS - AWS_OWN_TAGS
    if count <= room:
        return
    own = (f"In environment {env} (AWS) every resource gets the labels as tags plus {AWS_OWN_TAGS} of "
           f"mlops-infra's own ({', '.join(OWN_KEYS)}); AWS allows {AWS_MAX_TAGS} tags per resource, so at "
           f"most {anywhere} labels fit")
    if room == anywhere:
        yield error("invalid-tag", f"{count} labels are more tags than AWS allows on a resource",
                    f"{own}. Remove {count - anywhere}.", ("metadata", "labels"), "metadata.labels")
        return
    names = controlled_endpoints(ctx)
    which = f"endpoint {names[0]}" if len(names) == 1 else f"endpoints {join_names(names)}"
    driver = (f"{which} {'is' if len(names) == 1 else 'are'} rolled out by the controller (rollout.strategy "
              f"canary), which keeps the rollout's state in up to {DRIVER_MAX_TAGS} more tags on the endpoint "
              f"(mlops-infra:rollout:..., mlops-infra:kept:..., {SCALING_TAG}), so at most {room} labels fit here: "
              f"with more, every rollout fails at its first AddTags, before any traffic moves")
    summary = (f"{count} labels are more tags than AWS allows on a resource" if count > anywhere else
               f"{count} labels leave too little room for the rollout controller's tags on {which}")
    fix = f"or roll out {which} with another strategy (blue_green, rolling)."
    detail = (f"{own}. Remove {count - anywhere}. Beyond that, {driver}. Remove {count - room} in all, {fix}"
              if count > anywhere else f"{own}; but {driver}. Remove {count - room}, {fix}")
    # closing-44c-2: every one of them must change strategy; the text names six, --format json all
    yield error("invalid-tag", summary, detail, ("metadata", "labels"), "metadata.labels", names={"endpoints": names})


def _driver_reserved(key: str) -> Diagnostic:
    return error("reserved-label", f'Label "{_short(key)}" is a tag name the rollout controller uses',
                 f"The rollout controller keeps a canary's state in the endpoint's tags named "
                 f"{', '.join(f'{p}...' for p in TAG_PREFIXES)} and {SCALING_TAG}; it would overwrite this label, "
                 f"and the AWS provider ignores these names (ignoreTags). Rename it "
                 f'(for example "team/{key.rsplit(":", 1)[-1] or "label"}").', ("metadata", "labels", key, KEY),
                 "metadata.labels")


def check_kubernetes_labels(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """No two labels clean to the same Kubernetes label key, and none is a key mlops-infra sets."""
    if environment.target.kind != "kubernetes":
        return
    seen: dict[str, str] = {}
    for key in ctx.system.metadata.labels:
        cleaned = label_key(key)
        if _own_key(key) or _own_key(cleaned) or cleaned in KUBERNETES_OWN_KEYS:
            yield _reserved(key, ", ".join(sorted({*OWN_KEYS[1:], *KUBERNETES_OWN_KEYS})) + " and mlops-infra/...")
        elif kubernetes_reserved(cleaned):
            prefix = cleaned.rpartition("/")[0]
            yield error("reserved-label", f'Label "{_short(key)}" has a prefix Kubernetes reserves ({prefix}/)',
                        f"In environment {env} (Kubernetes): the kubernetes.io/ and k8s.io/ prefixes, and their "
                        "subdomains, are reserved for Kubernetes core components (Kubernetes docs, Labels and "
                        "Selectors, \"Syntax and character set\"), which may set or read this label. Rename it "
                        f'(for example "team/{cleaned.rsplit("/", 1)[-1]}"); the recommended labels '
                        f"{' and '.join(sorted(KUBERNETES_RECOMMENDED_LABELS))} may be set.",
                        ("metadata", "labels", key, KEY), "metadata.labels")
        elif cleaned in seen:
            yield error("label-collision", f'Labels "{seen[cleaned]}" and "{key}" become the same Kubernetes label',
                        f'In environment {env} (Kubernetes) both keys become "{cleaned}" (a label key takes letters, '
                        f"digits, - _ . and one prefix/; other characters become -), so one value would be lost. "
                        f"Rename one of them.", ("metadata", "labels", key, KEY), "metadata.labels")
        else:
            seen[cleaned] = key


def _short(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:37]}..."
