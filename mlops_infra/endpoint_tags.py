"""The tags the rollout controller keeps on a SageMaker endpoint: their names and how many there can be.

Contract: constants and pure functions of the standard library only. The SageMaker driver (``rollout/drivers/sagemaker.py``, whose
module docstring says what each tag means) writes these tags; label validation
(``spec/labels.py``: room on an endpoint) and the AWS provider (``compile/aws/provider.py``:
``ignoreTags``) read the same names and budget from here, so they are spelled once. The module sits
at the package's lowest layer, which spec, compile and rollout may all import, and it ships with the
AWS rollout runner (``compile/rollout_code.py``).

:data:`DRIVER_MAX_TAGS` is the most tags the driver holds on one endpoint at once, as the sum of its
three kinds:

- status: one ``mlops-infra:rollout:<field>`` per field of ``RolloutStatus.to_fields``, at most
  :data:`STATUS_MAX` of the :data:`STATUS_FIELDS` at once: ``in-effect`` (when the step was observed
  in effect) only while progressing and ``reason`` only in the other phases; ``blind-since`` only
  while a gate is unreadable, ``pending-since`` (when a gate was first read pending after the bake)
  only while a readable gate holds a baked step, ``notice`` (the rollback notice, pending or sent)
  only once rolled back: at most one of the three (``rollout/model.py``);
- :data:`SCALING_TAG`, while a rollout holds the primary variant's scale-in suspended or a finish has
  autoscaling to put back;
- kept entries (``mlops-infra:kept:config:<name>``, ``mlops-infra:kept:model:<name>``), at most
  :data:`KEPT_MAX`. A version's own entries are at most 6: its start leaves the serving config and,
  when that config is a rolled-back version's rollout config, that version's canary model (2); its
  finish leaves its rollout config and the previous version's model (2); a later move of the serving
  version to a new config of it leaves the config and model it moved off (2), and replaces what the
  version's earlier such move left. A version's start deletes the entries of every version other than
  itself and the one whose status it replaces (a superseded rollout's), and a settled pass (tidy)
  those of earlier versions, so at most two versions' entries are on the endpoint: a finished or
  rolled-back version's and the next one's. Once a version has finished, the endpoint is on its
  single-variant config, so the next version's start leaves 1 entry, and its finish 2: 6 + 1 + 2. (A
  rolled-back version has at most 2, the next one 4.)
"""

ROLLOUT_TAG_PREFIX = "mlops-infra:rollout:"
"""The rollout status: ``<prefix><field>`` per field of ``RolloutStatus.to_fields``."""
STATUS_FIELDS = ("phase", "revision", "previous", "step", "since", "in-effect", "reason", "blind-since",
                 "pending-since", "notice")
"""Every field ``RolloutStatus.to_fields`` can write (a test compares them)."""
STATUS_MAX = 7
"""The most status fields stored at once: ``in-effect`` and ``reason`` are never both written (progressing
or not), and at most one of ``blind-since``, ``pending-since`` and ``notice``: 5 + 1 + 1."""
KEPT_TAG_PREFIX = "mlops-infra:kept:"
"""What a move of the endpoint left unused: ``<prefix>config:<name>``, ``<prefix>model:<name>``."""
SCALING_TAG = "mlops-infra:autoscaling:restore"
"""Set while a rollout holds the primary variant's scale-in suspended (``rollout/drivers/sagemaker.py``,
"The stable fleet during a rollout") or a finish has its autoscaling to put back."""

TAG_PREFIXES = (ROLLOUT_TAG_PREFIX, KEPT_TAG_PREFIX)
"""Key prefixes of the driver's tags (with :data:`SCALING_TAG`, a key of its own: every tag it writes)."""

KEPT_MAX = 6 + 1 + 2
"""The most kept entries on an endpoint at once (see the module contract)."""
DRIVER_MAX_TAGS = STATUS_MAX + 1 + KEPT_MAX
"""The most tags the driver holds on one endpoint at once: status, scaling tag, kept entries (17)."""


TAG_SYMBOLS = frozenset("_.:/=+-@")
"""The characters besides Unicode letters, separators and digits a tag key or value may hold: botocore
``sagemaker`` ``TagKey``/``TagValue`` (and ``iam`` ``tagKeyType``, ``lambda``, ``logs``) pattern
``([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)``, which AWS checks on the server (moto does not)."""
ESCAPE = "="
"""The escape of :func:`tag_value`: ``=XX`` is one UTF-8 byte in hex."""


def is_tag_char(c: str) -> bool:
    """Whether AWS takes ``c`` in a tag key or value (see :data:`TAG_SYMBOLS`)."""
    import unicodedata

    return c in TAG_SYMBOLS or unicodedata.category(c)[0] in "LZN"


def tag_value(text: str, limit: int = 256) -> str:
    """``text`` as a tag value AWS takes, reversibly (:func:`from_tag_value`; audit closing-39a-4): each
    character the pattern refuses, and the escape ``=`` itself, becomes ``=XX`` per UTF-8 byte; cut at
    ``limit`` characters (``TagValue`` max 256) between whole characters. The rollout status' ``reason``
    (``aborted by the operator at step 5 (75%)``, a quoted SageMaker ``FailureReason``) is what this is for: the
    SageMaker driver stores it so and reads it back to the same text."""
    out: list[str] = []
    size = 0
    for c in text:
        piece = c if c != ESCAPE and is_tag_char(c) else "".join(f"={b:02X}" for b in c.encode())
        if size + len(piece) > limit:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)


def from_tag_value(value: str) -> str:
    """The text :func:`tag_value` stored; a value stored before it (no ``=XX``) reads as it is."""
    import re

    if ESCAPE not in value:
        return value
    return re.sub(r"(?:=[0-9A-F]{2})+", lambda m: bytes.fromhex(m.group(0).replace("=", "")).decode(
        "utf-8", "replace"), value)
