"""The tags the rollout controller keeps on a SageMaker endpoint: their names and how many there can be.

Contract: constants only, no imports. The SageMaker driver (``rollout/drivers/sagemaker.py``, whose
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
