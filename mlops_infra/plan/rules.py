"""Replacement rules per resource type: which input changes force a replace, which are secret, which
are engine- or provider-managed and never compared.

Contract:
- :data:`RULES` maps a type token to a :class:`ReplaceRule`; :func:`rule_for` adds the family rules
  (every Kubernetes kind, every provider, every ``mlops:*`` component) and a permissive default for
  unknown types (``known=False``: the planner warns that the provider may replace where we say
  update).
- Paths use the plan's notation: dots for keys, ``[*]`` for any list index (``productionVariants[*]
  .instanceType``); ``"*"`` alone means every input. A change forces replacement when its path and a
  rule path are on the same branch (one is a prefix of the other), so adding a whole list item that
  contains a forcing field forces too; ``keep`` paths (tags) never force, even under ``"*"``.
- The registry is data, reviewed like code: each entry says *why* in ``why`` (shown in the plan's
  reason). Sources: the Terraform AWS provider schemas (``ForceNew``) that pulumi-aws bridges, the
  Kubernetes API's immutable fields, pulumi-kubernetes' replace-on-change kinds, CRD
  ``x-kubernetes-validations: self == oldSelf`` rules (``tests/shared/fixtures/crds``).
- ``options.replace_on_changes`` of a desired resource adds paths at plan time (see
  :func:`replace_matcher`); the planner reports those with the reason code ``replace-on-changes``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

Path = tuple[str | int, ...]
"""A concrete property path: keys (str) and list indices (int), outermost first."""

_ANY = "*"
_TOKEN = re.compile(r'\[(\*|\d+|"(?:[^"\\]|\\.)*")\]|\.?([^.\[\]]+)')


@dataclass(frozen=True, slots=True)
class ReplaceRule:
    """What a type's provider does with changed inputs.

    ``replace``: paths whose change forces a replace (``"*"`` = every input). ``keep``: paths that
    never force (updated in place even under ``"*"``). ``sensitive``: paths whose values are secret
    (shown as ``(sensitive)``). ``ignore``: inputs the engine/provider manages (never compared).
    ``stringify``: a provider resource, whose state keeps config scalars as strings. ``why``: one
    sentence for the plan's reason. ``known``: False for the fallback of unregistered types.
    ``read_back``: inputs the provider reads back from the cloud after it creates or updates the
    resource, so the recorded *output* is what the cloud took: one that differs from the recorded
    input means the cloud did not keep it (the planner shows an update; Pulumi's bridged providers
    diff the desired inputs against the recorded outputs, so ``pulumi up`` sends it again).
    ``named_by``: the input that names the resource, which decides the order of a replace the
    provider itself forces (:func:`provider_deletes_first`); "" when none does.
    ``provider_replace``: the paths of ``replace`` the provider's own ``Diff`` forces (None: all of
    them). A CRD's immutable fields are the API server's rule, not pulumi-kubernetes' (its
    ``forceNewProperties``, provider/pkg/provider/diff.go, knows only built-in kinds): the provider
    answers them with an update, so a replace there comes only from ``replaceOnChanges``.
    ``loses``: what deleting the resource discards beyond itself (said on every planned replace or
    delete of it); "" when nothing.
    ``replace_changed_only``: a ``replace`` path forces only when it changes from one value to another;
    added or removed, it is an update (pulumi-kubernetes ``DiffConfig`` and ``clusterIdentifier``).
    ``stack_config``: a provider's top-level inputs that the stack configuration may set at apply
    (``pulumi config set <package>:<key>``, which the program copies into every explicit provider of the
    package: :mod:`mlops_infra.program.providers`, whose ``OVERRIDE_KEYS`` are these). A prior value of
    one the desired side does not set came from that config, not from the graph: it is not compared,
    or every plan would show a change (removing it) that ``pulumi up`` never makes (audit secrets-7).
    ``sdk_filled``: a provider's top-level inputs that the typed SDK class the program registers it with sends
    whatever the program's environment when the program leaves them unset, with the value it sends (JSON-encoded,
    as the engine stores it). A prior value of one the desired side does not set is not compared when it is that
    value: the engine
    stores what the SDK sent (the provider's checked inputs: pulumi/pulumi
    ``pkg/resource/deploy/providers/registry.go`` ``Check``; pulumi-terraform-bridge
    ``pkg/tfbridge/provider.go`` ``CheckConfig`` returns the news it was given), and the next ``pulumi up``
    sends it again, so ``pulumi preview`` shows nothing (audit provvers-2). Checked against the installed
    SDKs by tests/plan/test_provider_versions.py. Inputs an SDK reads from an environment variable are not here:
    the planner adds what they send from the program's environment to the desired provider
    (``PlanOptions.program_env``, :mod:`mlops_infra.plan.provider_env`), so a stored one is compared (closing-43b-1).
    ``sets``: paths of lists whose schema type is ``TypeSet`` in terraform-provider-aws: their order is not
    part of their value, so a reordered one is no change (:func:`mlops_infra.plan.unordered.align_set`; a
    member added or removed still is). ``policies``: top-level inputs holding an IAM policy document whose
    schema suppresses equivalent-policy diffs (``verify.SuppressEquivalentPolicyDiffs``): compared as
    :func:`mlops_infra.plan.unordered.align_policy` reads them (audit awsinputs-1 and -2). ``json_text``:
    top-level string inputs holding JSON whose schema suppresses equivalent-JSON diffs
    (``verify.SuppressEquivalentJSONDiffs``): two texts of one document are no change. Every other string is
    compared as text, JSON or not, as the provider does (audit typesets44-1).
    """

    replace: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()
    sensitive: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    stringify: bool = False
    why: str = ""
    known: bool = True
    read_back: tuple[str, ...] = ()
    named_by: str = ""
    provider_replace: tuple[str, ...] | None = None
    loses: str = ""
    replace_changed_only: bool = False
    stack_config: tuple[str, ...] = ()
    sdk_filled: tuple[tuple[str, str], ...] = ()
    sets: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()
    json_text: tuple[str, ...] = ()


_TAGS = ("tags", "tagsAll")
REGION = "region"
"""The top-level input of a region-aware AWS resource (pulumi-aws >= 7, terraform-provider-aws >= 6): the region
it is managed in. terraform-provider-aws, website/docs/guides/enhanced-region-support.html.markdown, "How
`region` works": it "defaults to the Region specified in the provider configuration" and "Changing the value
of `region` will force resource replacement" (so it is a replace path of every AWS rule). pulumi-aws sets it
in the inputs of every such resource whose program leaves it unset, from the provider's ``region``, before
``Check`` (provider/region.go ``applyRegion``, a ``PreCheckCallback``, pulumi/pulumi-aws#5521; the bridge runs
it on the news before it computes inputs and defaults: pulumi-terraform-bridge pkg/tfbridge/provider.go
``Check``), so it is stored as an input the program set, not listed in ``__defaults`` (which names only the
bridge's own defaults: pkg/tfbridge/schema.go, "Pulumi Inputs -> TF Config Conversion"). Which types are
region-aware: :func:`region_aware`."""
_ENGINE = ("__defaults", "__meta", "__internal", "tagsAll")


def _aws(*replace_paths: str, why: str, everything: bool = False, sensitive: tuple[str, ...] = (),
         read_back: tuple[str, ...] = (), named_by: str = "name", loses: str = "", sets: tuple[str, ...] = (),
         policies: tuple[str, ...] = (), json_text: tuple[str, ...] = ()) -> ReplaceRule:
    """An AWS type's rule. ``region`` always forces a replace (:data:`REGION`)."""
    return ReplaceRule(replace=("*",) if everything else (*replace_paths, REGION), keep=_TAGS if everything else (),
                       sensitive=sensitive, ignore=("tagsAll",), why=why, read_back=read_back, named_by=named_by,
                       loses=loses, sets=sets, policies=policies, json_text=json_text)


_POLICY = ("policy",)
"""The ``policy`` input of a type whose terraform-provider-aws schema is ``sdkv2.IAMPolicyDocumentSchemaRequired()``
or ``...OptionalComputed()`` (``DiffSuppressFunc: verify.SuppressEquivalentPolicyDiffs``): aws_iam_role_policy
(internal/service/iam/role_policy.go), aws_s3_bucket_policy (s3/bucket_policy.go), aws_sns_topic_policy
(sns/topic_policy.go), aws_kms_key (kms/key.go)."""


_BUCKET_LOSES = ("every object in it, with all their versions (S3 deletes only an empty bucket: "
                 "until it is emptied, the delete fails)")
"""What deleting a bucket discards (``ReplaceRule.loses`` of the bucket types)."""

RULES: dict[str, ReplaceRule] = {
    # --- SageMaker -------------------------------------------------------------------------------
    "aws:sagemaker/model:Model": _aws(
        everything=True, why="SageMaker models are immutable: any change creates a new model"),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": _aws(
        everything=True, why="endpoint configurations are immutable (and named by a content hash)"),
    # deployment_config.auto_rollback_configuration is ForceNew in terraform-provider-aws
    # (internal/service/sagemaker/endpoint.go), so changing the rollback alarms replaces the endpoint (B9).
    # endpointConfigName is read back: terraform-provider-aws's update waits for the endpoint to be
    # InService again, then reads it (internal/service/sagemaker/endpoint.go resourceEndpointUpdate ->
    # resourceEndpointRead: d.Set("endpoint_config_name", ...)), so an update SageMaker rolled back
    # (its alarms fired, or the new fleet failed) is recorded with the old config as its output.
    "aws:sagemaker/endpoint:Endpoint": _aws(
        "name", "deploymentConfig.autoRollbackConfiguration",
        why="an endpoint's name is its identity, and its rollback alarms cannot be changed in place; its "
            "configuration is switched in place", read_back=("endpointConfigName",),
        # endpoint.go: deployment_config.auto_rollback_configuration.alarms is "Type: schema.TypeSet" (awsinputs-1)
        sets=("deploymentConfig.autoRollbackConfiguration.alarms",)),
    # model_package_group.go: name and description ForceNew; the group holds the model's versions
    # (botocore DeleteModelPackageGroup deletes "the specified model group")
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": _aws(
        "modelPackageGroupName", "modelPackageGroupDescription",
        why="a model package group's name and description cannot be updated",
        loses="every model version registered in it (the versions the endpoints pin)"),
    "aws:sagemaker/pipeline:Pipeline": _aws("pipelineName", why="a pipeline's name is its identity"),
    "aws:sagemaker/notebookInstance:NotebookInstance": _aws(
        "name", "subnetId", "securityGroups", "kmsKeyId", "directInternetAccess", "rootAccess",
        why="a notebook instance's name, network and encryption settings cannot be updated"),
    # --- Storage, keys, registries ---------------------------------------------------------------
    # pulumi-aws gives the bucket's "bucket" its AutoName (provider/resources.go aws_s3_bucket Fields).
    # loses (audit finding removal-2): botocore s3 DeleteBucket, "All objects (including all object versions and
    # delete markers) in the bucket must be deleted before the bucket itself can be deleted"; the compiled
    # buckets have forceDestroy: false, so the delete fails (BucketNotEmpty) until someone empties it
    "aws:s3/bucket:Bucket": _aws("bucket", "bucketPrefix", "objectLockEnabled", named_by="bucket",
                                 why="a bucket's name is global and permanent", loses=_BUCKET_LOSES),
    "aws:s3/bucketV2:BucketV2": _aws("bucket", "bucketPrefix", "objectLockEnabled", named_by="bucket",
                                     why="a bucket's name is global and permanent", loses=_BUCKET_LOSES),
    **{f"aws:s3/{mod}:{cls}": _aws("bucket", "expectedBucketOwner", policies=_POLICY if cls == "BucketPolicy" else (),
                                   why="a bucket setting belongs to one bucket")
       for mod, cls in [("bucketVersioning", "BucketVersioning"), ("bucketVersioningV2", "BucketVersioningV2"),
                        ("bucketServerSideEncryptionConfiguration", "BucketServerSideEncryptionConfiguration"),
                        ("bucketServerSideEncryptionConfigurationV2", "BucketServerSideEncryptionConfigurationV2"),
                        ("bucketLifecycleConfiguration", "BucketLifecycleConfiguration"),
                        ("bucketLifecycleConfigurationV2", "BucketLifecycleConfigurationV2"),
                        ("bucketPublicAccessBlock", "BucketPublicAccessBlock"),
                        ("bucketPolicy", "BucketPolicy"), ("bucketOwnershipControls", "BucketOwnershipControls"),
                        ("bucketNotification", "BucketNotification"), ("bucketLogging", "BucketLogging"),
                        ("bucketLoggingV2", "BucketLoggingV2")]},
    # object.go (aws_s3_object): bucket and key ForceNew; content, kms_key_id, ... re-upload in place
    # (resourceObjectUpdate -> resourceObjectUpload); the drift job's contract file (compile/aws/monitoring.py)
    "aws:s3/bucketObjectv2:BucketObjectv2": _aws("bucket", "key", why="an object is its bucket and key"),
    "aws:kms/key:Key": _aws("customerMasterKeySpec", "keySpec", "keyUsage", "multiRegion",
                            "customKeyStoreId", "xksKeyId",
                            why="a KMS key's spec, usage and multi-region setting are fixed at creation",
                            policies=_POLICY),
    "aws:kms/alias:Alias": _aws("name", "namePrefix", why="an alias name is its identity (its target updates)"),
    "aws:ecr/repository:Repository": _aws("name", "encryptionConfigurations",
                                          why="a repository's name and encryption are fixed at creation"),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": _aws("repository", why="a lifecycle policy belongs to one repository"),
    "aws:secretsmanager/secret:Secret": _aws("name", "namePrefix", why="a secret's name is its identity"),
    "aws:secretsmanager/secretVersion:SecretVersion": _aws(
        "secretId", "secretString", "secretBinary", why="a secret version's value cannot change",
        sensitive=("secretString", "secretBinary")),
    # --- IAM -------------------------------------------------------------------------------------
    # role.go: assume_role_policy has DiffSuppressFunc: verify.SuppressEquivalentPolicyDiffs
    "aws:iam/role:Role": _aws("name", "namePrefix", "path", why="a role's name and path are its identity",
                              policies=("assumeRolePolicy",)),
    "aws:iam/policy:Policy": _aws("name", "namePrefix", "path", "description",
                                  why="a managed policy's name, path and description cannot be updated"),
    "aws:iam/rolePolicy:RolePolicy": _aws("name", "namePrefix", "role", policies=_POLICY,
                                          why="an inline policy is identified by its role and name"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _aws(
        "role", "policyArn", why="an attachment is the pair (role, policy)"),
    "aws:iam/instanceProfile:InstanceProfile": _aws("name", "namePrefix", "path",
                                                    why="an instance profile's name and path are its identity"),
    # --- Messaging, alarms, events, functions ----------------------------------------------------
    "aws:sns/topic:Topic": _aws("name", "namePrefix", "fifoTopic", why="a topic's name and type are its identity"),
    "aws:sns/topicSubscription:TopicSubscription": _aws(
        "topic", "protocol", "endpoint", why="a subscription is the triple (topic, protocol, endpoint)",
        sensitive=("endpoint",)),
    "aws:sns/topicPolicy:TopicPolicy": _aws("arn", why="a topic policy belongs to one topic", policies=_POLICY),
    # metric_alarm.go: alarm_actions, ok_actions, insufficient_data_actions and metric_query are
    # "Type: schema.TypeSet" (awsinputs-1: the alert's notify order is not the alarm's)
    "aws:cloudwatch/metricAlarm:MetricAlarm": _aws(
        "name", why="an alarm's name is its identity; renaming creates a second alarm",
        sets=("alarmActions", "okActions", "insufficientDataActions", "metricQueries")),
    "aws:cloudwatch/dashboard:Dashboard": _aws(
        "dashboardName", why="a dashboard's name is its identity (its body updates in place)",
        # internal/service/cloudwatch/dashboard.go: dashboard_body "DiffSuppressFunc: verify.SuppressEquivalentJSONDiffs"
        json_text=("dashboardBody",)),
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": _aws("alarmName", why="an alarm's name is its identity"),
    "aws:cloudwatch/logGroup:LogGroup": _aws("name", "namePrefix", why="a log group's name is its identity"),
    "aws:cloudwatch/eventRule:EventRule": _aws("name", "namePrefix", "eventBusName",
                                               why="a rule is identified by its bus and name"),
    "aws:cloudwatch/eventTarget:EventTarget": _aws("rule", "targetId", "eventBusName",
                                                   why="a target is identified by its rule and id"),
    "aws:scheduler/schedule:Schedule": _aws("name", "namePrefix", "groupName",
                                            why="a schedule is identified by its group and name"),
    "aws:lambda/function:Function": _aws("name", "packageType", why="a function's name and package type are fixed"),
    "aws:lambda/permission:Permission": _aws(everything=True, why="a Lambda permission statement is immutable"),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": _aws(
        "functionName", "qualifier", why="an invoke config belongs to one function and qualifier"),
    "aws:sqs/queue:Queue": _aws("name", "namePrefix", "fifoQueue", why="a queue's name and type are its identity"),
    "aws:appautoscaling/target:Target": _aws(
        "resourceId", "scalableDimension", "serviceNamespace",
        why="a scalable target is identified by its resource and dimension"),
    "aws:appautoscaling/policy:Policy": _aws(
        "name", "resourceId", "scalableDimension", "serviceNamespace",
        why="a scaling policy is identified by its name and target",
        # terraform-provider-aws internal/service/appautoscaling/policy.go: "dimensions": {Type: schema.TypeSet}
        sets=("targetTrackingScalingPolicyConfiguration.customizedMetricSpecification.dimensions",)),
    # --- EKS -------------------------------------------------------------------------------------
    "aws:eks/nodeGroup:NodeGroup": _aws(
        "clusterName", "nodeGroupName", "nodeGroupNamePrefix", "nodeRoleArn", "subnetIds", "instanceTypes",
        "amiType", "capacityType", "diskSize", "remoteAccess",
        why="a node group's shape, network and role are fixed; its scaling updates in place"),
}
"""Type token -> rule. Unlisted ``aws:*`` types fall back to a permissive rule (``known=False``)."""

# --- Kubernetes ----------------------------------------------------------------------------------
# pulumi-kubernetes' Diff replaces exactly on its forceNewProperties (provider/pkg/provider/provider.go Diff l. 1560-1568:
# forceNewFields = k.forceNewProperties(newInputs), matched against the patch of the changed fields): the table of
# provider/pkg/provider/diff.go @ K8S_PROVIDER_COMMIT, written out below per type token in the plan's notation
# (tests/plan/test_rules_k8s_force_new.py parses a verbatim copy of that diff.go and compares). A field the Kubernetes
# API refuses to change but the provider does not list (PVC volumeMode/dataSource, Job completionMode, StorageClass
# reclaimPolicy/volumeBindingMode, ConfigMap/Secret immutable, a Service's type) is sent as an update by `pulumi up`,
# so it is one here too (audit k8sstate-2).
K8S_PROVIDER_COMMIT = "94977969d64112b04e19945818a7d5d5f38f631d"
"""The pulumi/pulumi-kubernetes commit whose diff.go ``forceNew`` table :data:`K8S_KINDS` follows."""

K8S_BASE = ReplaceRule(
    replace=("apiVersion", "kind", "metadata.name", "metadata.namespace"),
    ignore=("metadata.annotations[\"pulumi.com/autonamed\"]",),
    why="a Kubernetes object's kind, name and namespace are its identity",
    named_by="metadata.name",
)


def _selector(prefix: str) -> tuple[str, ...]:
    """diff.go ``labelSelectorForceNewProperties``."""
    return (prefix, f"{prefix}.matchExpressions", f"{prefix}.matchExpressions.key", f"{prefix}.matchExpressions.operator",
            f"{prefix}.matchExpressions.values", f"{prefix}.matchLabels")


def _containers(*prefixes: str) -> tuple[str, ...]:
    """diff.go ``containerForceNewProperties``."""
    return tuple(f"{prefix}.{field}" for prefix in prefixes for field in (
        "args", "command", "env", "env.value", "image", "imagePullPolicy", "lifecycle", "livenessProbe", "ports",
        "readinessProbe", "resources", "securityContext", "stdin", "stdinOnce", "terminationMessagePath",
        "terminationMessagePolicy", "tty", "volumeDevices", "volumeMounts", "workingDir"))


_SELECTOR_ONLY = _selector("spec.selector")
_JOB = ("spec.completions", "spec.parallelism", *_SELECTOR_ONLY, "spec.template")
_STATEFUL_SET = ("spec.podManagementPolicy", "spec.revisionHistoryLimit", *_SELECTOR_ONLY, "spec.serviceName",
                 "spec.volumeClaimTemplates")
_POD = ("spec.affinity", "spec.automountServiceAccountToken", "spec.dnsConfig", "spec.dnsPolicy",
        "spec.enableServiceLinks", "spec.hostAliases", "spec.hostIPC", "spec.hostNetwork", "spec.hostPID", "spec.hostname",
        "spec.imagePullSecrets", "spec.nodeName", "spec.nodeSelector", "spec.overhead", "spec.preemptionPolicy",
        "spec.priority", "spec.priorityClassName", "spec.readinessGates", "spec.restartPolicy", "spec.runtimeClassName",
        "spec.schedulerName", "spec.securityContext", "spec.serviceAccount", "spec.serviceAccountName",
        "spec.shareProcessNamespace", "spec.subdomain", "spec.terminationGracePeriodSeconds", "spec.volumes",
        *_containers("spec.containers[*]", "spec.initContainers[*]"))
_PERSISTENT_VOLUME = tuple(f"spec.{source}" for source in (
    "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "csi", "fc", "flexVolume", "flocker",
    "gcePersistentDisk", "glusterfs", "hostPath", "iscsi", "local", "nfs", "photonPersistentDisk", "portworxVolume",
    "quobyte", "rbd", "scaleIO", "storageos", "vsphereVolume"))
_SECRET_DATA = ("type", "stringData", "data")
"""diff.go l. 28-29: a Secret's replace paths unless the provider's ``enableSecretMutable`` is on (and the Secret
not ``immutable``); then only ``type`` (its kind entry, core/v1 ``Secret``)."""
_CONFIG_MAP_DATA = ("binaryData", "data")
"""diff.go l. 32-33: a ConfigMap's replace paths unless the provider's ``enableConfigMapMutable`` is on (and the
ConfigMap not ``immutable``); then none."""

_WHY_SELECTOR = "pulumi-kubernetes replaces a {kind} whose selector changes"
_WHY_JOB = "pulumi-kubernetes replaces a Job whose pod template, selector, completions or parallelism change"
_WHY_STATEFUL_SET = ("pulumi-kubernetes replaces a StatefulSet whose selector, service, claim templates, pod management "
                     "policy or revision history limit change")
_WHY_BINDING = "pulumi-kubernetes replaces a binding whose roleRef changes (it is immutable)"


def _versions(kind: str, rule: ReplaceRule, *group_versions: str) -> dict[str, ReplaceRule]:
    return {f"{gv}:{kind}": rule for gv in group_versions}


K8S_KINDS: dict[str, ReplaceRule] = {
    "core/v1:Secret": ReplaceRule(replace=_SECRET_DATA, sensitive=("data", "stringData", "binaryData"),
                                  why="pulumi-kubernetes replaces Secrets on change (immutable by default)"),
    # deleting a Namespace deletes every object in it (Kubernetes "Namespaces" task, "Deleting a namespace":
    # "This deletes everything under the namespace!", https://kubernetes.io/docs/tasks/administer-cluster/
    # namespaces/): the old graphs' Namespace, now a NamespacePatch (below)
    "core/v1:Namespace": ReplaceRule(why="a Kubernetes object's kind, name and namespace are its identity",
                                     loses="every object in the namespace, the platform team's Secrets included"),
    # a Patch resource (compile/kubernetes/platform.py): pulumi-kubernetes' Diff forces a replace only for
    # .metadata.name/.metadata.namespace (provider.go Diff), and its delete only relinquishes the fields it
    # applied (await.go Deletion -> ssa.Relinquish): the namespace and its objects stay
    "core/v1:NamespacePatch": ReplaceRule(
        why="a Patch resource's name is its identity; it applies its labels in place and its delete only drops "
            "them (the namespace stays)"),
    "core/v1:ConfigMap": ReplaceRule(replace=_CONFIG_MAP_DATA,
                                     why="pulumi-kubernetes replaces ConfigMaps on change (immutable by default)"),
    "core/v1:Service": ReplaceRule(replace=("spec.clusterIP",), why="a Service's cluster IP cannot change"),
    "core/v1:PersistentVolumeClaim": ReplaceRule(
        replace=("spec.accessModes", *_selector("spec.selector"), "spec.storageClassName", "spec.volumeName"),
        why="pulumi-kubernetes replaces a claim whose access modes, class, selector or volume change"),
    "core/v1:PersistentVolume": ReplaceRule(replace=_PERSISTENT_VOLUME,
                                            why="pulumi-kubernetes replaces a volume whose source changes"),
    "core/v1:Pod": ReplaceRule(replace=_POD, why="pulumi-kubernetes replaces a Pod whose spec changes (apart from "
                                                 "its tolerations and deadline)"),
    "core/v1:ResourceQuota": ReplaceRule(replace=("spec.scopes",),
                                         why="pulumi-kubernetes replaces a ResourceQuota whose scopes change"),
    **_versions("Job", ReplaceRule(replace=_JOB, why=_WHY_JOB), "batch/v1", "batch/v1beta1", "batch/v2alpha1"),
    **_versions("Deployment", ReplaceRule(replace=_SELECTOR_ONLY, why=_WHY_SELECTOR.format(kind="Deployment")),
                "apps/v1", "apps/v1beta2"),
    **_versions("DaemonSet", ReplaceRule(replace=_SELECTOR_ONLY, why=_WHY_SELECTOR.format(kind="DaemonSet")),
                "apps/v1", "apps/v1beta2"),
    **_versions("StatefulSet", ReplaceRule(replace=_STATEFUL_SET, why=_WHY_STATEFUL_SET),
                "apps/v1", "apps/v1beta2", "apps/v1beta1"),
    "policy/v1beta1:PodDisruptionBudget": ReplaceRule(
        replace=("spec",), why="pulumi-kubernetes replaces a policy/v1beta1 PodDisruptionBudget whose spec changes"),
    **_versions("RoleBinding", ReplaceRule(replace=("roleRef",), why=_WHY_BINDING), "rbac.authorization.k8s.io/v1",
                "rbac.authorization.k8s.io/v1beta1", "rbac.authorization.k8s.io/v1alpha1"),
    **_versions("ClusterRoleBinding", ReplaceRule(replace=("roleRef",), why=_WHY_BINDING),
                "rbac.authorization.k8s.io/v1", "rbac.authorization.k8s.io/v1beta1",
                "rbac.authorization.k8s.io/v1alpha1"),
    "storage.k8s.io/v1:StorageClass": ReplaceRule(
        replace=("parameters", "provisioner"),
        why="pulumi-kubernetes replaces a StorageClass whose provisioner or parameters change"),
    "trainer.kubeflow.org/v1alpha1:TrainJob": ReplaceRule(
        replace=("spec.trainer", "spec.initializer", "spec.runtimeRef", "spec.managedBy",
                 "spec.activeDeadlineSeconds", "spec.runtimePatches[*].manager"),
        why="the TrainJob CRD marks these fields immutable (self == oldSelf)", provider_replace=()),
    "kubeflow.org/v1:PyTorchJob": ReplaceRule(replace=("spec.runPolicy.schedulingPolicy.queue",),
                                              why="the PyTorchJob CRD marks its queue immutable", provider_replace=()),
    # The compiler writes Kueue at v1beta2 (compile/kubernetes/queues.py). Kueue still serves v1beta1, where the
    # LocalQueue's clusterQueue is immutable too (kueue apis/kueue/v1beta1/localqueue_types.go: self == oldSelf).
    "kueue.x-k8s.io/v1beta1:LocalQueue": ReplaceRule(replace=("spec.clusterQueue",),
                                                     why="a LocalQueue's cluster queue is immutable", provider_replace=()),
    "kueue.x-k8s.io/v1beta2:LocalQueue": ReplaceRule(replace=("spec.clusterQueue",),
                                                     why="a LocalQueue's cluster queue is immutable", provider_replace=()),
    "helm.sh/v3:Release": ReplaceRule(replace=("name", "namespace"), why="a release's name and namespace are its identity"),
}
"""Kubernetes ``<group/version>:<Kind>`` -> extra rule, merged with :data:`K8S_BASE`."""

MUTABLE_FLAGS: dict[str, str] = {"kubernetes:core/v1:ConfigMap": "enableConfigMapMutable",
                                  "kubernetes:core/v1:Secret": "enableSecretMutable"}
"""Type token -> the kubernetes provider input that makes its data mutable (:func:`with_provider_flags`)."""


def with_provider_flags(type_token: str, rule: ReplaceRule, provider_inputs: dict | None,
                        inputs: dict) -> ReplaceRule:
    """``rule`` of a ConfigMap or Secret under the provider that applies it (``provider_inputs``: the flag as
    ``up`` configures the provider, from the desired provider's inputs and this run's ``PULUMI_K8S_*``
    variables, else, without a desired provider, the stored provider's inputs: the planner's ``_flags_of``,
    audit closing-43b-1): with the provider's
    ``enableConfigMapMutable`` (``enableSecretMutable``) "true" and the object not ``immutable: true``,
    pulumi-kubernetes updates its ``data``/``binaryData`` (``stringData``) in place; only a Secret's ``type`` still
    replaces. diff.go ``forceNewProperties`` l. 26-33 (@ :data:`K8S_PROVIDER_COMMIT`): ``if clients.IsSecret(obj) &&
    (!k.enableSecretMutable || clients.IsImmutable(obj))`` ... ``else if clients.IsConfigMap(obj) &&
    (!k.enableConfigMapMutable || clients.IsImmutable(obj))``; the flag is the provider input or, unset, the
    ``PULUMI_K8S_ENABLE_CONFIGMAP_MUTABLE`` variable of the process running ``up``, compared with "true"
    (provider.go ``Configure`` l. 696-727), and the SDK stores that variable as the provider's input
    (pulumi_kubernetes/provider.py ``get_env_bool``): a stored "true" is what the last ``up`` ran with
    (audit k8sstate-1), and the next ``up`` runs with what its own environment sends. Other types: ``rule``
    unchanged."""
    flag = MUTABLE_FLAGS.get(type_token)
    if flag is None or not provider_inputs or str(provider_inputs.get(flag)).lower() != "true" or (
            inputs.get("immutable") is True):
        return rule
    kept = ("type",) if type_token.endswith(":Secret") else ()
    return replace(rule, replace=K8S_BASE.replace + kept)


# --- Providers and components --------------------------------------------------------------------
PROVIDERS: dict[str, ReplaceRule] = {
    "aws": ReplaceRule(sensitive=("accessKey", "secretKey", "token"),
                       ignore=("version", "pluginDownloadURL", "__internal"), stringify=True,
                       stack_config=("endpoints", "skipCredentialsValidation", "skipRequestingAccountId",
                                     "skipMetadataApiCheck", "s3UsePathStyle", "insecure"),
                       # pulumi_aws/provider.py (7.51.1) Provider._internal_init: "if skip_credentials_validation
                       # is None: skip_credentials_validation = False", "if skip_region_validation is None:
                       # skip_region_validation = True", each sent through pulumi.runtime.to_json
                       sdk_filled=(("skipCredentialsValidation", "false"), ("skipRegionValidation", "true")),
                       # No replace key: pulumi-aws 7 dropped the provider-level cascading replace on a region
                       # change (pulumi/pulumi-aws#5656, "removes the feature from the next upcoming major release as
                       # it is not compatible with [terraform-provider-aws 6] enhanced-region-support"; #5652: "AWS
                       # v7 ... removes the cascading replace logic entirely"). A changed region is an update of the
                       # provider; each region-aware resource moves through its own ``region`` input (:data:`REGION`),
                       # and the global types (IAM), which have none, stay.
                       why="the provider's settings change; pulumi-aws 7 replaces none of its resources for it (a "
                           "region-aware resource is replaced through its own region input)"),
    # pulumi-kubernetes provider/pkg/provider/provider.go DiffConfig: with clusterIdentifier set and
    # unchanged nothing replaces (Replaces cleared); a changed one replaces; adding it is an update. The
    # compiled provider always sets it (compile/kubernetes/provider.py), and has no kubeconfig input, for
    # which the context/cluster heuristics never find an active cluster, so they never replace.
    "kubernetes": ReplaceRule(replace=("clusterIdentifier",), sensitive=("kubeconfig",),
                              ignore=("version", "pluginDownloadURL", "__internal"), stringify=True,
                              # its PULUMI_K8S_* options are sent from the program's environment, and compared:
                              # plan/provider_env.py (PlanOptions.program_env), not sdk_filled
                              replace_changed_only=True, stack_config=("kubeconfig", "context"),
                              why="the provider's clusterIdentifier changes: it now manages another cluster, so "
                                  "every object it manages is created there and deleted from the old one"),
}
"""Provider package -> rule for ``pulumi:providers:<package>``; a provider replace cascades."""

PROVIDER_DEFAULT = ReplaceRule(ignore=("version", "pluginDownloadURL", "__internal"), stringify=True,
                               why="provider configuration", known=False)
COMPONENT = ReplaceRule(why="a component holds ML facts only; it is never replaced")
UNKNOWN_TYPE = ReplaceRule(ignore=("tagsAll",), known=False,
                           why="no replacement rules are registered for this type")
UNKNOWN_AWS = replace(UNKNOWN_TYPE, replace=(REGION,))
"""The fallback of an unregistered ``aws:*`` type: its ``region`` forces a replace too (:data:`REGION`)."""

_REGIONLESS: dict[str, str] = {
    "account": "alternativeContact:AlternativeContact primaryContact:PrimaryContact region:Region",
    "arcregionswitch": "plan:Plan",
    "backup": "globalSettings:GlobalSettings",
    "bcmdata": "export:Export",
    "bedrock": "useCaseForModelAccess:UseCaseForModelAccess",
    "billing": "view:View",
    "budgets": "budget:Budget budgetAction:BudgetAction",
    "cfg": "aggregateAuthorization:AggregateAuthorization",
    "chime": "sdkvoiceGlobalSettings:SdkvoiceGlobalSettings",
    "cloudformation": "stackSetInstance:StackSetInstance",
    "cloudfront": "anycastIpList:AnycastIpList cachePolicy:CachePolicy "
                  "connectionFunction:ConnectionFunction connectionGroup:ConnectionGroup "
                  "continuousDeploymentPolicy:ContinuousDeploymentPolicy distribution:Distribution "
                  "distributionTenant:DistributionTenant "
                  "fieldLevelEncryptionConfig:FieldLevelEncryptionConfig "
                  "fieldLevelEncryptionProfile:FieldLevelEncryptionProfile function:Function "
                  "keyGroup:KeyGroup keyValueStore:KeyValueStore keyvaluestoreKey:KeyvaluestoreKey "
                  "keyvaluestoreKeysExclusive:KeyvaluestoreKeysExclusive "
                  "monitoringSubscription:MonitoringSubscription "
                  "multitenantDistribution:MultitenantDistribution originAccessControl:OriginAccessControl "
                  "originAccessIdentity:OriginAccessIdentity originRequestPolicy:OriginRequestPolicy "
                  "publicKey:PublicKey realtimeLogConfig:RealtimeLogConfig "
                  "responseHeadersPolicy:ResponseHeadersPolicy trustStore:TrustStore vpcOrigin:VpcOrigin",
    "cloudtrail": "organizationDelegatedAdminAccount:OrganizationDelegatedAdminAccount",
    "costexplorer": "anomalyMonitor:AnomalyMonitor anomalySubscription:AnomalySubscription "
                    "costAllocationTag:CostAllocationTag costCategory:CostCategory",
    "costoptimizationhub": "enrollmentStatus:EnrollmentStatus preferences:Preferences",
    "cur": "reportDefinition:ReportDefinition",
    "directconnect": "gateway:Gateway hostedConnection:HostedConnection",
    "ec2": "vpcIpamOrganizationAdminAccount:VpcIpamOrganizationAdminAccount",
    "fms": "adminAccount:AdminAccount",
    "globalaccelerator": "accelerator:Accelerator crossAccountAttachment:CrossAccountAttachment "
                         "customRoutingAccelerator:CustomRoutingAccelerator "
                         "customRoutingEndpointGroup:CustomRoutingEndpointGroup "
                         "customRoutingListener:CustomRoutingListener endpointGroup:EndpointGroup "
                         "listener:Listener",
    "iam": "accessKey:AccessKey accountAlias:AccountAlias accountPasswordPolicy:AccountPasswordPolicy "
           "group:Group groupMembership:GroupMembership groupPoliciesExclusive:GroupPoliciesExclusive "
           "groupPolicy:GroupPolicy groupPolicyAttachment:GroupPolicyAttachment "
           "groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive "
           "instanceProfile:InstanceProfile openIdConnectProvider:OpenIdConnectProvider "
           "organizationsFeatures:OrganizationsFeatures "
           "outboundWebIdentityFederation:OutboundWebIdentityFederation policy:Policy "
           "policyAttachment:PolicyAttachment role:Role rolePoliciesExclusive:RolePoliciesExclusive "
           "rolePolicy:RolePolicy rolePolicyAttachment:RolePolicyAttachment "
           "rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive samlProvider:SamlProvider "
           "securityTokenServicePreferences:SecurityTokenServicePreferences "
           "serverCertificate:ServerCertificate serviceLinkedRole:ServiceLinkedRole "
           "serviceSpecificCredential:ServiceSpecificCredential signingCertificate:SigningCertificate "
           "sshKey:SshKey user:User userGroupMembership:UserGroupMembership "
           "userLoginProfile:UserLoginProfile userPoliciesExclusive:UserPoliciesExclusive "
           "userPolicy:UserPolicy userPolicyAttachment:UserPolicyAttachment "
           "userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive "
           "virtualMfaDevice:VirtualMfaDevice",
    "invoicing": "invoiceUnit:InvoiceUnit",
    "networkmanager": "attachmentAccepter:AttachmentAccepter "
                      "attachmentRoutingPolicyLabel:AttachmentRoutingPolicyLabel "
                      "connectAttachment:ConnectAttachment connectPeer:ConnectPeer connection:Connection "
                      "coreNetwork:CoreNetwork coreNetworkPolicyAttachment:CoreNetworkPolicyAttachment "
                      "customerGatewayAssociation:CustomerGatewayAssociation device:Device "
                      "dxGatewayAttachment:DxGatewayAttachment globalNetwork:GlobalNetwork link:Link "
                      "linkAssociation:LinkAssociation prefixListAssociation:PrefixListAssociation "
                      "site:Site siteToSiteVpnAttachment:SiteToSiteVpnAttachment "
                      "transitGatewayConnectPeerAssociation:TransitGatewayConnectPeerAssociation "
                      "transitGatewayPeering:TransitGatewayPeering "
                      "transitGatewayRegistration:TransitGatewayRegistration "
                      "transitGatewayRouteTableAttachment:TransitGatewayRouteTableAttachment "
                      "vpcAttachment:VpcAttachment",
    "notifications": "channelAssociation:ChannelAssociation contactsEmailContact:ContactsEmailContact "
                     "eventRule:EventRule "
                     "managedNotificationAccountContactAssociation:ManagedNotificationAccountContactAssociation "
                     "managedNotificationAdditionalChannelAssociation:ManagedNotificationAdditionalChannelAssociation "
                     "notificationConfiguration:NotificationConfiguration notificationHub:NotificationHub "
                     "organizationalUnitAssociation:OrganizationalUnitAssociation "
                     "organizationsAccess:OrganizationsAccess",
    "organizations": "account:Account awsServiceAccess:AwsServiceAccess "
                     "delegatedAdministrator:DelegatedAdministrator organization:Organization "
                     "organizationalUnit:OrganizationalUnit policy:Policy "
                     "policyAttachment:PolicyAttachment resourcePolicy:ResourcePolicy tag:Tag",
    "pricingplanmanager": "subscription:Subscription",
    "ram": "sharingWithOrganization:SharingWithOrganization",
    "rolesanywhere": "profile:Profile trustAnchor:TrustAnchor",
    "route53": "cidrCollection:CidrCollection cidrLocation:CidrLocation delegationSet:DelegationSet "
               "healthCheck:HealthCheck hostedZoneDnsSec:HostedZoneDnsSec keySigningKey:KeySigningKey "
               "queryLog:QueryLog record:Record recordsExclusive:RecordsExclusive "
               "trafficPolicy:TrafficPolicy trafficPolicyInstance:TrafficPolicyInstance "
               "vpcAssociationAuthorization:VpcAssociationAuthorization zone:Zone "
               "zoneAssociation:ZoneAssociation",
    "route53domains": "delegationSignerRecord:DelegationSignerRecord domain:Domain "
                      "registeredDomain:RegisteredDomain",
    "route53recoverycontrol": "cluster:Cluster controlPanel:ControlPanel routingControl:RoutingControl "
                              "safetyRule:SafetyRule",
    "route53recoveryreadiness": "cell:Cell readinessCheck:ReadinessCheck recoveryGroup:RecoveryGroup "
                                "resourceSet:ResourceSet",
    "s3": "accountPublicAccessBlock:AccountPublicAccessBlock",
    "servicecatalog": "organizationsAccess:OrganizationsAccess",
    "servicequotas": "template:Template",
    "shield": "applicationLayerAutomaticResponse:ApplicationLayerAutomaticResponse "
              "drtAccessLogBucketAssociation:DrtAccessLogBucketAssociation "
              "drtAccessRoleArnAssociation:DrtAccessRoleArnAssociation "
              "proactiveEngagement:ProactiveEngagement protection:Protection "
              "protectionGroup:ProtectionGroup "
              "protectionHealthCheckAssociation:ProtectionHealthCheckAssociation subscription:Subscription",
    "ssmincidents": "replicationSet:ReplicationSet",
    "uxc": "accountCustomizations:AccountCustomizations",
    "waf": "byteMatchSet:ByteMatchSet geoMatchSet:GeoMatchSet ipSet:IpSet rateBasedRule:RateBasedRule "
           "regexMatchSet:RegexMatchSet regexPatternSet:RegexPatternSet rule:Rule ruleGroup:RuleGroup "
           "sizeConstraintSet:SizeConstraintSet sqlInjectionMatchSet:SqlInjectionMatchSet webAcl:WebAcl "
           "xssMatchSet:XssMatchSet",
}
"""Module of the SDK -> its classes (``<name>:<Class>``, space-separated) listed in :data:`REGIONLESS_AWS`."""
REGIONLESS_AWS: frozenset[str] = frozenset(f"aws:{module}/{entry}" for module, entries in _REGIONLESS.items()
                                           for entry in entries.split())
"""The ``aws:*`` resource types of the installed pulumi_aws SDK (7.51.1) that are not region-aware: their class has
no ``region`` input (global services: IAM, CloudFront, Route 53, Organizations, ...: terraform-provider-aws
enhanced-region-support guide, "Non-region-aware resources") or has a deprecated one of its own meaning
(``aws:cloudformation/stackSetInstance:StackSetInstance``), which pulumi-aws does not fill (provider/resources.go
applies ``applyRegionPreCheckCallback`` only when ``metadata.HasUsableRegion``). Generated from the SDK and
checked against it by tests/plan/test_provider_versions.py."""


def region_aware(type_token: str) -> bool:
    """Whether pulumi-aws fills a resource of this type's ``region`` from its provider (:data:`REGION`): an
    ``aws:*`` type not in :data:`REGIONLESS_AWS` (a type the SDK does not know, e.g. a later one, counts as
    region-aware: most are)."""
    return type_token.startswith("aws:") and type_token not in REGIONLESS_AWS


def rule_for(type_token: str, custom: bool = True) -> ReplaceRule:
    """The rule of a type: registered, family (Kubernetes, provider, component) or the fallback."""
    found = RULES.get(type_token)
    if found is not None:
        return found
    if not custom:
        return COMPONENT
    if type_token.startswith("pulumi:providers:"):
        return PROVIDERS.get(type_token.rsplit(":", 1)[1], PROVIDER_DEFAULT)
    if type_token.startswith("kubernetes:"):
        kind = K8S_KINDS.get(type_token.split(":", 1)[1])
        if kind is None:
            return K8S_BASE
        return replace(K8S_BASE, replace=K8S_BASE.replace + kind.replace, keep=kind.keep,
                       sensitive=kind.sensitive, ignore=K8S_BASE.ignore + kind.ignore, why=kind.why, loses=kind.loses,
                       provider_replace=None if kind.provider_replace is None
                       else K8S_BASE.replace + kind.provider_replace)
    return UNKNOWN_AWS if type_token.startswith("aws:") else UNKNOWN_TYPE


# --- The order of a replace ---------------------------------------------------------------------


def provider_deletes_first(type_token: str, named: bool, name_kept: bool) -> bool:
    """Whether the provider asks for delete-before-replace when it forces a replace itself (its own
    replace paths; not a replace only from ``replaceOnChanges`` or a new provider, for which the engine
    asks no provider and creates first: pulumi pkg/resource/deploy/step_generator.go, the replace step
    takes ``diff.DeleteBeforeReplace`` unless the program sets the option). ``named``: the desired inputs
    set the rule's ``named_by`` input; ``name_kept``: it (and a Kubernetes object's namespace) is unchanged.

    - AWS (pulumi-terraform-bridge pkg/tfbridge/schema.go ``nameRequiresDeleteBeforeReplace``, called by
      provider.go ``Diff`` for every replace): true when the desired inputs set a field that has an
      AutoName default explicitly, whether or not it changes. pulumi-aws gives that default to every
      resource's input ``name`` (provider/autonaming.go ``setAutonaming``; the Pulumi ``name`` of a
      function or alarm too, provider/resources.go) and to a bucket's ``bucket``.
    - Kubernetes (pulumi-kubernetes provider/pkg/provider/provider.go ``Diff``): true when the object is
      named explicitly (``metadata.name`` set, so not autonamed) and its new name and namespace equal
      the old ones.
    """
    if type_token.startswith("kubernetes:"):
        return named and name_kept
    return named


# --- Paths ---------------------------------------------------------------------------------------


def parse_path(text: str) -> Path:
    """``a.b[0]["x.y"][*]`` -> ``("a", "b", 0, "x.y", "*")``; ``"*"`` -> ``("*",)``."""
    tokens: list[str | int] = []
    for bracket, plain in _TOKEN.findall(text):
        if plain:
            tokens.append(plain)
        elif bracket == _ANY:
            tokens.append(_ANY)
        elif bracket.startswith('"'):
            tokens.append(bracket[1:-1].replace('\\"', '"').replace("\\\\", "\\"))
        else:
            tokens.append(int(bracket))
    return tuple(tokens)


_IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")


def format_path(path: Path) -> str:
    """The display form of a path: ``productionVariants[0].instanceType``, ``tags["team/x"]``."""
    out: list[str] = []
    for token in path:
        if isinstance(token, int):
            out.append(f"[{token}]")
        elif _IDENT.match(token):
            out.append(f".{token}" if out else token)
        else:
            escaped = token.replace("\\", "\\\\").replace('"', '\\"')
            out.append(f'["{escaped}"]')
    return "".join(out)


def _token_match(pattern: str | int, token: str | int) -> bool:
    return pattern in (_ANY, token)


class PathMatcher:
    """A compiled set of rule paths. ``touches`` is the same-branch test used for replacement;
    ``covers`` is the under-a-pattern test used for sensitivity and ``keep``."""

    __slots__ = ("_covers", "_touches", "everything", "patterns")

    def __init__(self, patterns: Sequence[str]) -> None:
        parsed = [parse_path(p) for p in patterns]
        self.everything = any(p == (_ANY,) for p in parsed)
        self.patterns = tuple(p for p in parsed if p != (_ANY,))
        self._covers: dict[Path, bool] = {}  # answers for one-token paths (top-level inputs), remembered
        self._touches: dict[Path, bool] = {}

    def __bool__(self) -> bool:
        return self.everything or bool(self.patterns)

    def covers(self, path: Path) -> bool:
        """Whether ``path`` lies under (or at) one of the patterns."""
        if self.everything:
            return True
        if len(path) == 1:
            known = self._covers.get(path)
            if known is None:
                known = self._covers[path] = any(len(p) <= 1 and all(map(_token_match, p, path))
                                                 for p in self.patterns)
            return known
        return any(len(p) <= len(path) and all(map(_token_match, p, path)) for p in self.patterns)

    def touches(self, path: Path) -> bool:
        """Whether ``path`` and a pattern are on one branch (either is a prefix of the other)."""
        if self.everything:
            return True
        if len(path) == 1:
            known = self._touches.get(path)
            if known is None:
                known = self._touches[path] = any(all(map(_token_match, p, path)) for p in self.patterns)
            return known
        return any(all(map(_token_match, p, path)) for p in self.patterns)

    def first(self, path: Path) -> str | None:
        """The first pattern that ``touches`` ``path`` (display form), for reasons."""
        if self.everything:
            return "*"
        for p in self.patterns:
            if all(map(_token_match, p, path)):
                return format_path(p)
        return None


@lru_cache(maxsize=1024)
def matcher(patterns: tuple[str, ...]) -> PathMatcher:
    """A cached :class:`PathMatcher` for a tuple of rule paths."""
    return PathMatcher(patterns)


def replace_matcher(rule: ReplaceRule) -> PathMatcher:
    return matcher(rule.replace)


def option_matcher(replace_on_changes: tuple[str, ...]) -> PathMatcher:
    """The matcher of a resource's ``options.replace_on_changes`` (Pulumi's path syntax)."""
    return matcher(replace_on_changes)
