"""What each spec construct becomes on Kubernetes (the VARIETY document and focused documents)."""

from __future__ import annotations

import json

import pytest

from mlops_infra.compile.kubernetes import labels as lbl
from mlops_infra.compile.kubernetes import routing, scripts
from mlops_infra.compile.kubernetes.monitoring import cron_every
from mlops_infra.graph import DesiredGraph
from tests.support.kube_cases import VARIETY, by_kind, compile_text, graph_of

CASE = "variety-dev"


def named(graph: DesiredGraph, kind: str, name: str) -> dict:
    found = [o for o in by_kind(graph, kind) if o["metadata"].get("name") == name]
    assert len(found) == 1, (kind, name)
    return found[0]


def predictor(name: str) -> dict:
    return named(graph_of(CASE), "InferenceService", name)["spec"]["predictor"]


def test_labels_are_made_label_safe():
    labels = named(graph_of(CASE), "Namespace", "variety-dev")["metadata"]["labels"]
    assert labels["team"] == "Risk-Team-EMEA"
    assert labels["Cost-Center"] == "cc-1234"
    assert len(labels["long"]) <= 63 and lbl.is_label_value(labels["long"])
    assert labels["app.kubernetes.io/managed-by"] == "mlops-infra" and "managed-by" not in labels


@pytest.mark.parametrize(("text", "valid"), [("", True), ("a", True), ("a.b_c-d", True), ("-a", False),
                                             ("a-", False), ("a b", False), ("x" * 64, False)])
def test_label_value_rule(text, valid):
    assert lbl.is_label_value(text) is valid


def test_label_helpers_always_produce_valid_labels():
    for text in ["Risk Team/EMEA", "  ", "ÄÖÜ", "a" * 200, "-x-", "ok"]:
        assert lbl.is_label_value(lbl.label_value(text))
        assert lbl.is_label_key(lbl.label_key(text))
    assert lbl.label_key("Example.COM/Team Name") == "example.com/Team-Name"


def test_autoscaling_maps_to_kserve_metrics():
    assert (predictor("ranker")["scaleMetric"], predictor("ranker")["scaleTarget"]) == ("concurrency", 4)
    assert (predictor("churn")["scaleMetric"], predictor("churn")["scaleTarget"]) == ("cpu", 70)
    # KServe admits scaleMetric cpu in Serverless mode only with Knative's HPA class (serving.py autoscaling)
    churn = named(graph_of(CASE), "InferenceService", "churn")["metadata"]["annotations"]
    assert churn["autoscaling.knative.dev/class"] == "hpa.autoscaling.knative.dev"
    ranker = named(graph_of(CASE), "InferenceService", "ranker")["metadata"]["annotations"]
    assert "autoscaling.knative.dev/class" not in ranker  # concurrency: KServe's default KPA class
    assert "scaleMetric" not in predictor("bespoke")
    annotations = named(graph_of(CASE), "InferenceService", "bespoke")["metadata"]["annotations"]
    assert "gpu_utilization" in annotations["mlops-infra/autoscaling"]


def test_invocations_per_minute_become_requests_per_second():
    graph = graph_of("reference-dev")
    assert named(graph, "InferenceService", "scorer")["spec"]["predictor"]["scaleMetric"] == "rps"
    assert named(graph, "InferenceService", "scorer")["spec"]["predictor"]["scaleTarget"] == 1  # 50/min


def test_rollout_strategies():
    graph = graph_of(CASE)
    assert predictor("ranker")["canaryTrafficPercent"] == 0
    # the blue revision is tested through KServe's "latest" tag, which needs this annotation (serving.py annotations)
    assert named(graph, "InferenceService", "ranker")["metadata"]["annotations"][
        "serving.kserve.io/enable-tag-routing"] == "true"
    assert graph.rollouts["endpoints.ranker"]["strategy"] == "blue_green"
    assert graph.rollouts["endpoints.ranker"]["steps"] == [0, 100]
    assert graph.rollouts["endpoints.ranker"]["bakeSeconds"] == 300
    assert "canaryTrafficPercent" not in predictor("churn") and "endpoints.churn" not in graph.rollouts
    assert "endpoints.bespoke" not in graph.rollouts
    for plan in graph.rollouts.values():
        assert plan["resource"] in graph.by_urn() and plan["trafficField"] == "spec.predictor.canaryTrafficPercent"


def test_model_formats_and_storage():
    assert predictor("ranker")["model"]["modelFormat"] == {"name": "huggingface"}
    assert predictor("churn")["model"]["modelFormat"] == {"name": "sklearn"}
    assert predictor("bespoke")["model"]["modelFormat"] == {"name": "mlflow"}
    assert predictor("ranker")["model"]["storageUri"] == "s3://variety-dev-models/ranker/3/"


def test_predictor_resources_come_from_the_replicas_shape():
    """8 x H100 is a p5.48xlarge (192 vCPUs, 2,048 GiB): 90% / 85%, as a training pod on it; an
    m5.xlarge (4 vCPUs, 16 GiB): 3 CPUs, 13 GiB. Requests equal limits (serving.py resources)."""
    ranker = predictor("ranker")["model"]["resources"]
    assert ranker == {"limits": {"cpu": "172", "memory": "1740Gi", "nvidia.com/gpu": "8"},
                      "requests": {"cpu": "172", "memory": "1740Gi"}}
    assert predictor("churn")["model"]["resources"] == {"limits": {"cpu": "3", "memory": "13Gi"},
                                                        "requests": {"cpu": "3", "memory": "13Gi"}}


def test_gpu_and_cpu_endpoints_select_nodes():
    ranker = predictor("ranker")
    assert ranker["model"]["resources"]["limits"]["nvidia.com/gpu"] == "8"  # cpu/memory: test_predictor_resources_...
    assert ranker["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
    assert ranker["tolerations"] == [{"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"}]
    churn = predictor("churn")
    assert "nvidia.com/gpu" not in churn["model"]["resources"]["limits"] and "tolerations" not in churn
    assert churn["nodeSelector"] == {"node.kubernetes.io/instance-type": "m5.xlarge"}


def test_capture_posts_to_the_sink_with_the_sample_rate():
    assert predictor("ranker")["logger"] == {
        "mode": "all", "url": "http://mlops-capture.variety-dev.svc.cluster.local:8080/v1/capture/ranker?sample_percent=5"}
    assert "logger" not in predictor("bespoke")
    sink = named(graph_of(CASE), "Deployment", "mlops-capture")["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "CAPTURE_BUCKET", "value": "variety-dev-capture"} in sink["env"]


def quotas(name: str) -> dict[str, str]:
    queue = named(graph_of(CASE), "ClusterQueue", f"variety-dev-{name}")
    return {r["name"]: r["nominalQuota"] for r in queue["spec"]["resourceGroups"][0]["flavors"][0]["resources"]}


def test_cluster_quotas():
    assert quotas("a100")["nvidia.com/gpu"] == "24"  # ml.p4d.24xlarge: 8 x A100, 3 nodes
    assert quotas("t4") == {"cpu": "6", "memory": "26Gi", "nvidia.com/gpu": "2"}  # g4dn.xlarge 4 vCPU 16 GiB, 2 nodes
    assert "nvidia.com/gpu" not in quotas("cpu")
    flavor = named(graph_of(CASE), "ResourceFlavor", "variety-dev-t4")["spec"]
    assert flavor["nodeLabels"] == {"karpenter.sh/capacity-type": "on-demand", "nvidia.com/gpu.product": "Tesla-T4"}
    cpu_flavor = named(graph_of(CASE), "ResourceFlavor", "variety-dev-cpu")["spec"]
    assert cpu_flavor == {"nodeLabels": {"karpenter.sh/capacity-type": "on-demand",
                                         "node.kubernetes.io/instance-type": "m5.xlarge"}}


def template(job: str) -> dict:
    config = named(graph_of(CASE), "ConfigMap", f"train-{job}")
    return json.loads(config["data"]["pytorchjob.json"])


def test_run_template_shape():
    pretrain = template("pretrain")["spec"]
    # no command (the image's entry point): not known to be torchrun, so left to the operator's "auto" and
    # WORLD_SIZE = 3 pods (audit k8strain-1); a torchrun command gets "8" (tests/compile/kubernetes/test_training_world_size.py)
    assert "nprocPerNode" not in pretrain
    assert (pretrain["pytorchReplicaSpecs"]["Master"]["replicas"], pretrain["pytorchReplicaSpecs"]["Worker"]["replicas"]) == (1, 2)
    pod = pretrain["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["name"] == "pytorch" and container["args"] == ["--fast"]
    assert container["resources"]["limits"] == {"nvidia.com/gpu": "8"}
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}  # MLOPS_RUN_NAME: valueFrom
    assert env["MLOPS_INPUT_EVENTS"] == "s3://variety-dev-data-events/"
    assert env["MLOPS_MODEL_URI_PREFIX"] == "s3://variety-dev-models/ranker/"
    assert env["MLOPS_MODEL_APPROVAL"] == "automatic"
    assert env["MLFLOW_TRACKING_URI"] == "http://mlops-mlflow.variety-dev.svc.cluster.local:5000"
    assert pod["automountServiceAccountToken"] is False and pod["serviceAccountName"] == "mlops-training"
    tabular = template("tabular")["spec"]
    assert "nprocPerNode" not in tabular and "Worker" not in tabular["pytorchReplicaSpecs"]
    assert "limits" not in tabular["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]["resources"]


def test_launchers_schedules_and_alert_triggers():
    graph = graph_of(CASE)
    assert named(graph, "CronJob", "train-pretrain")["spec"]["suspend"] is True
    assert named(graph, "CronJob", "train-tiny")["spec"]["schedule"] == "*/30 * * * *"
    route = named(graph, "AlertmanagerConfig", "retrain-tabular")["spec"]
    assert route["route"]["matchers"][0] == {"matchType": "=~", "name": "alertname", "value": "ranker-accuracy"}
    assert route["receivers"][0]["webhookConfigs"][0]["url"].endswith("/v1/alerts/tabular")
    trigger = named(graph, "Deployment", "mlops-retrain-trigger")["spec"]["template"]["spec"]
    command = trigger["containers"][0]["command"]
    assert command[command.index("--routes-file") + 1] == "/etc/mlops-infra/routes/routes.json"
    assert {"mountPath": "/etc/mlops-infra/routes", "name": "routes", "readOnly": True} in trigger["containers"][0][
        "volumeMounts"]
    assert {"name": "routes", "configMap": {"name": "mlops-retrain-trigger-routes"}} in trigger["volumes"]
    routes = named(graph, "ConfigMap", "mlops-retrain-trigger-routes")["data"]["routes.json"]
    assert json.loads(routes) == {"tabular": ["ranker-accuracy"]}
    sources = trigger["volumes"][-1]["projected"]["sources"]
    assert [s["configMap"]["name"] for s in sources] == ["train-tabular"]


def test_only_the_launcher_and_the_rollout_runner_may_call_the_api():
    graph = graph_of(CASE)
    callers = {"mlops-training-launcher", "mlops-rollout-runner"}
    accounts = {a["metadata"]["name"]: a for a in by_kind(graph, "ServiceAccount")}
    assert {n for n, a in accounts.items() if a["automountServiceAccountToken"]} == callers
    assert accounts["mlops-serving"]["secrets"] == [{"name": "mlops-object-store"}]
    roles = {r["metadata"]["name"]: r["rules"] for r in by_kind(graph, "Role")}
    assert roles == {
        "mlops-training-launcher": [{"apiGroups": ["kubeflow.org"], "resources": ["pytorchjobs"],
                                     "verbs": ["create", "delete", "get", "list"]}],
        "mlops-rollout-runner": [{"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"],
                                  "resourceNames": sorted(a.split(".", 1)[1] for a in graph.rollouts),
                                  "verbs": ["get", "patch"]},
                                 {"apiGroups": [""], "resources": ["configmaps"],
                                  "resourceNames": sorted(f"rollout-{a.split('.', 1)[1]}" for a in graph.rollouts),
                                  "verbs": ["get", "patch"]},
                                 {"apiGroups": ["serving.knative.dev"], "resources": ["revisions"], "verbs": ["get"]}]}
    bindings = {b["metadata"]["name"]: (b["roleRef"]["name"], b["subjects"]) for b in by_kind(graph, "RoleBinding")}
    assert bindings["mlops-rollout-runner"] == ("mlops-rollout-runner", [
        {"kind": "ServiceAccount", "name": "mlops-rollout-runner", "namespace": accounts["mlops-serving"]["metadata"][
            "namespace"]}])
    assert not by_kind(graph, "ClusterRole") and not by_kind(graph, "ClusterRoleBinding")
    pods = [d["spec"]["template"]["spec"] for d in by_kind(graph, "Deployment")]
    pods += [c["spec"]["jobTemplate"]["spec"]["template"]["spec"] for c in by_kind(graph, "CronJob")]
    for pod in pods:
        assert pod["automountServiceAccountToken"] is (pod["serviceAccountName"] in callers)


def test_monitor_rules_and_jobs():
    graph = graph_of(CASE)
    rules = {r["metadata"]["name"]: r["spec"]["groups"][0]["rules"][0] for r in by_kind(graph, "PrometheusRule")}
    assert rules["monitor-ranker-latency"]["expr"].startswith("histogram_quantile(0.99,")
    assert 'service_name="ranker-predictor"' in rules["monitor-ranker-latency"]["expr"]
    assert rules["alert-ranker-latency"]["expr"].endswith("> 2")
    assert rules["alert-ranker-accuracy"]["expr"].endswith("< 0.9")
    assert rules["alert-ranker-accuracy"]["expr"].startswith("min without (revision_name) (")  # lower is worse
    assert rules["alert-ranker-latency"]["expr"].startswith("max without (revision_name) (")
    assert rules["alert-churn-quality"]["labels"]["severity"] == "info"
    assert rules["alert-churn-quality"]["labels"]["namespace"] == "variety-dev"
    assert rules["alert-ranker-latency"]["for"] == "10m"
    schedules = {c["metadata"]["name"]: c["spec"]["schedule"] for c in by_kind(graph, "CronJob")}
    assert schedules["monitor-churn-quality"] == "*/15 * * * *"
    assert schedules["monitor-churn-drift"] == "0 */6 * * *"
    assert schedules["monitor-ranker-accuracy"] == "0 0 * * *"
    assert schedules["monitor-churn-features"] == "0 * * * *"
    assert "monitor-ranker-latency" not in schedules
    job = named(graph, "CronJob", "monitor-churn-features")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    env = {e["name"]: e["value"] for e in job["containers"][0]["env"]}
    assert env["BASELINE_URI"] == "s3://variety-dev-data-events/"
    assert json.loads(env["COLUMNS"]) == ["x", "y"]  # the contract's names in its order (compile/drift_job.py)
    assert env["PUSHGATEWAY_URL"] == "http://mlops-pushgateway.variety-dev.svc.cluster.local:9091"


def test_channels_become_receivers_with_secret_references():
    graph = graph_of(CASE)
    receiver = {c["metadata"]["name"]: c["spec"]["receivers"][0] for c in by_kind(graph, "AlertmanagerConfig")}
    assert receiver["channel-pager"]["pagerdutyConfigs"][0]["routingKey"] == {"key": "routing_key", "name": "pd-routing"}
    hook = receiver["channel-hook"]["webhookConfigs"][0]
    assert hook["urlSecret"] == {"key": "value", "name": "hook-url"} and "url" not in hook
    assert hook["httpConfig"]["authorization"] == {"credentials": {"key": "token", "name": "hook-token"}, "type": "Bearer"}
    assert receiver["channel-hook-open"]["webhookConfigs"][0]["url"] == "https://hooks.example.com/ml"
    assert receiver["channel-mail"]["emailConfigs"] == [{"sendResolved": True, "to": "ml@example.com"}]
    assert receiver["channel-chat"]["slackConfigs"][0] == {"apiURL": {"key": "value", "name": "slack-url"},
                                                          "channel": "#ml", "sendResolved": True,
                                                          "text": routing.SLACK_TEXT, "title": routing.SLACK_TITLE}
    # no spec alert notifies chat: its route carries only the silent-monitor alerts of the monitors without alerts
    # (told to every channel: compile/monitor_silence.py), the other channels' notify-failure alerts, those of
    # the other integrations (slack's own go to the other kinds) and the guard (alerting.notify_failure_rules)
    chat_route = named(graph, "AlertmanagerConfig", "channel-chat")["spec"]["route"]
    assert chat_route["matchers"][0]["value"].split("|") == [
        "monitor_silent_churn-drift", "monitor_silent_churn-features", "notify_failed_email_receivers", "notify_failed_hook", "notify_failed_hook-open", "notify_failed_mail",
        "notify_failed_pager", "notify_failed_pagerduty_receivers", "notify_failed_webhook_receivers",
        "notify_failures_unobserved"]
    hook_route = named(graph, "AlertmanagerConfig", "channel-hook")["spec"]["route"]
    told = set(hook_route["matchers"][0]["value"].split("|"))
    assert {"ranker-latency", "rolled_back_ranker"} <= told  # and ranker's rollbacks
    assert "notify_failed_chat" in told and "notify_failed_hook" not in told  # never its own failure
    assert "notify_failed_webhook_receivers" not in told  # its own kind's: other kinds are told


def test_scripts_config_ships_the_helper_programs_as_written():
    data = named(graph_of(CASE), "ConfigMap", "mlops-scripts")["data"]
    assert sorted(data) == sorted(scripts.SCRIPTS)
    for name, text in data.items():
        assert text == scripts.source(name)


def test_a_system_of_data_only_has_no_workloads():
    graph = compile_text("""
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: lake}
data_sources: [{name: raw, kind: object_store}]
environments:
  dev: {target: {kind: kubernetes, context: c, namespace: lake-dev}}
""")
    kinds = sorted({r.inputs["kind"] for r in graph.resources if r.type.startswith("kubernetes:")})
    assert kinds == ["ConfigMap", "Namespace"]
    declaration = named(graph, "ConfigMap", "data-raw")["data"]
    assert declaration["bucket"] == "lake-dev-data-raw"
    assert json.loads(declaration["requirements.json"]) == {"encryption": "kms", "retentionDays": None, "versioning": True}


@pytest.mark.parametrize(("seconds", "cron"), [(60, "*/1 * * * *"), (900, "*/15 * * * *"), (3600, "0 * * * *"),
                                               (7200, "0 */2 * * *"), (86400, "0 0 * * *"), (604800, "0 0 * * 1"),
                                               (3 * 86400, "0 0 */3 * *"), (30, "*/1 * * * *")])
def test_cron_every(seconds, cron):
    assert cron_every(seconds) == cron


def test_variety_document_is_valid_for_its_aws_environment_too():
    from mlops_infra.spec import parse_system

    assert parse_system(VARIETY, env="prod").ok


def test_only_alertmanager_with_the_token_and_the_endpoints_pods_reach_the_trigger_and_the_capture_sink():
    """Finding C5 (rules and sources in mlops_infra/compile/kubernetes/ingress.py): a NetworkPolicy
    selecting a pod isolates it for ingress, so the trigger admits only prometheus-operator's
    Alertmanager pods and the capture sink only this namespace's InferenceService pods, each on its
    port; Alertmanager sends the trigger's bearer token from Secret mlops-retrain-trigger-token."""
    from tests.support.kube_cases import REFERENCE, compiled

    graph = compiled(REFERENCE, "dev")
    objects = {(r.inputs["kind"], r.inputs["metadata"]["name"]): r.inputs for r in graph.resources if r.custom
               and "kind" in r.inputs}
    for name, port in (("mlops-retrain-trigger", 8080), ("mlops-capture", 8080)):
        policy = objects[("NetworkPolicy", name)]["spec"]
        pods = objects[("Deployment", name)]["spec"]["template"]["metadata"]["labels"]
        assert policy["policyTypes"] == ["Ingress"]
        assert policy["podSelector"]["matchLabels"].items() <= pods.items()  # it selects the helper's pods
        (rule,) = policy["ingress"]
        assert rule["ports"] == [{"port": port, "protocol": "TCP"}]
    (source,) = objects[("NetworkPolicy", "mlops-retrain-trigger")]["spec"]["ingress"][0]["from"]
    assert source == {"namespaceSelector": {}, "podSelector": {"matchLabels": {
        "app.kubernetes.io/managed-by": "prometheus-operator", "app.kubernetes.io/name": "alertmanager"}}}
    (source,) = objects[("NetworkPolicy", "mlops-capture")]["spec"]["ingress"][0]["from"]
    assert source == {"podSelector": {"matchExpressions": [
        {"key": "serving.kserve.io/inferenceservice", "operator": "Exists"}]}}
    pod = objects[("Deployment", "mlops-retrain-trigger")]["spec"]["template"]["spec"]
    assert {"name": "trigger-token", "secret": {"items": [{"key": "value", "path": "token"}], "optional": True,
                                                "secretName": "mlops-retrain-trigger-token"}} in pod["volumes"]
    (container,) = pod["containers"]
    assert {"mountPath": "/etc/mlops-infra/trigger-token", "name": "trigger-token", "readOnly": True} in container[
        "volumeMounts"]
    assert container["command"][-2:] == ["--token-file", "/etc/mlops-infra/trigger-token/token"]
    route = objects[("AlertmanagerConfig", "retrain-retrain")]["spec"]
    (webhook,) = route["receivers"][0]["webhookConfigs"]
    assert webhook["httpConfig"]["authorization"] == {
        "credentials": {"key": "value", "name": "mlops-retrain-trigger-token"}, "type": "Bearer"}
