"""``plan --refresh`` on AWS: a channel's SNS subscription the recipient has not confirmed (audit observe-1).

SNS delivers nothing to an email (or HTTP/S) subscription until its owner confirms it: botocore ``sns``
``Subscribe``: "If the endpoint type is HTTP/S or email, or if the endpoint and the topic are not in
the same Amazon Web Services account, the endpoint owner must run the ``ConfirmSubscription`` action to
confirm the subscription ... Confirmation tokens are valid for two days"; ``GetSubscriptionAttributes``
``PendingConfirmation``: "``true`` if the subscription hasn't been confirmed"; and the SNS Developer
Guide, "Confirm the subscription": "After you subscribe your endpoint, Amazon SNS will send a
subscription confirmation message to the endpoint ... Amazon SNS will not send messages to the
endpoint until the subscription has been confirmed"
(https://docs.aws.amazon.com/sns/latest/dg/SendMessageToHttp.confirm.html). An email channel
compiles to such a subscription (``compile/aws/alerting.py``), so until someone clicks the link in
AWS's mail every alert routed to it is dropped, while the apply reported success. The live reader
keeps the attribute as the output ``pendingConfirmation`` (``state/aws_live/sns.py``); it is not a
tracked property, because it is no drift: nothing Pulumi applies changes it.

Contract of :func:`unconfirmed_warnings` (pure): one warning per live subscription whose
``pendingConfirmation`` is true, sorted by URN, naming the channel (the desired resource's address,
else the resource's name), the protocol and the endpoint (an email address or URL the spec states in
plain text: channel endpoints are not secrets; a webhook URL with a secret is never an SNS endpoint
here, the forwarder Lambda delivers those), and what to do: follow the link in the confirmation mail
(its token is valid for two days), or, once it expired, subscribe the endpoint again (``aws sns
subscribe`` with the same topic, protocol and endpoint: each Subscribe sends a confirmation message,
as quoted above).
"""

from __future__ import annotations

from collections.abc import Mapping

from mlops_infra.graph import DesiredResource
from mlops_infra.state.model import LiveState

SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"


def unconfirmed_warnings(live: LiveState, desired: Mapping[str, DesiredResource]) -> list[str]:
    """The warnings of the module contract; ``desired`` is the desired graph's resources by URN."""
    pending = [(urn, res) for urn, res in sorted(live.resources.items())
               if res.type == SUBSCRIPTION and res.outputs.get("pendingConfirmation") is True]
    if not pending:
        return []
    out = []
    for urn, res in pending:
        inputs = res.inputs
        target = desired.get(urn)
        where = target.address if target is not None and target.address else urn.rsplit("::", 1)[-1]
        protocol, endpoint = inputs.get("protocol", "?"), inputs.get("endpoint", "?")
        topic = inputs.get("topic", "?")
        out.append(f"{where}: the {protocol} subscription of {endpoint} is not confirmed, so SNS sends it nothing "
                   f"(no alert reaches it) until the recipient follows the link in AWS's confirmation mail, which "
                   f"is valid for two days; after that, subscribe it again for a new mail: aws sns subscribe "
                   f"--topic-arn {topic} --protocol {protocol} --notification-endpoint {endpoint}")
    return out
