"""Monitors: every monitor records one series, ``mlops:monitor_value``; alerts compare it.

Contract:
- Monitor ``<name>`` -> PrometheusRule ``monitor-<name>`` with a recording rule producing
  ``mlops:monitor_value{mlops_system, mlops_environment, mlops_endpoint, mlops_monitor, mlops_metric,
  namespace}`` in the monitor's unit: seconds for ``latency_p99``, a fraction for ``error_rate``, the job's
  score for drift and quality metrics.
- ``latency_p99`` and ``error_rate`` measure the model container, as seen by the Knative
  queue-proxy right in front of it (the same span as SageMaker's ``ModelLatency`` and
  ``Invocation5XXErrors`` on AWS: queueing in front of the container and the routing layer are not
  counted). Knative documents these queue-proxy metrics ("Service metrics",
  https://knative.dev/docs/serving/services/service-metrics/): ``revision_app_request_latencies``
  (milliseconds, histogram) and ``revision_app_request_count`` ("the number of requests that are
  routed to user-container"), labelled ``namespace_name``, ``service_name``,
  ``response_code_class``; KServe's Serverless mode names the Knative Service of an endpoint's
  predictor ``<endpoint>-predictor``. The value is the p99 (or the 5xx share) over
  :data:`WINDOW` (1 minute, CloudWatch's period for the same alarms on AWS), so an alert's ``for``
  means "every minute for that long" on both targets and a spike shorter than ``for`` does not fire.
- Per revision: the latency and error-rate values are recorded once per Knative revision (the
  series carry ``revision_name``; the queue-proxy tags every request metric with it, knative/docs
  ``docs/serving/metrics.md`` "Queue proxy": ``configuration_name, namespace_name, pod_name,
  response_code, response_code_class, revision_name, service_name``). During a canary the new
  version runs as its own revision next to the stable one, so its errors and latency are not
  diluted by the stable revision's traffic (30 % errors at 2 % of the traffic would read 0.6 % over
  the whole endpoint, under a 1 % threshold). A revision without a 5xx series counts 0 errors
  (its request rate times 0); a revision without requests in the window records **no sample**
  (the NaN of ``0/0`` and of ``histogram_quantile`` over empty buckets is dropped by ``>= 0``, which
  NaN fails): a minute without requests is no evidence (see "Sparse traffic"). Drift and quality
  values are pushed per monitor and carry no revision.
- Sparse traffic (latency and error rate): a minute in which a revision served no request neither
  breaks nor ends the alert's ``for`` streak, up to a bound. Prometheus resets a pending alert
  whose expression returns no sample for its labels (prometheus/prometheus ``rules/alerting.go``,
  ``AlertingRule.Eval``: an active alert absent from the result is deleted while pending, resolved
  while firing), and a NaN value fails every comparison, so a canary at one request per 75 s (each
  request visible to ``rate`` over :data:`WINDOW` for under a minute) restarted its ``for`` at every
  gap and never fired. :func:`unhealthy_expr` therefore reads each revision's latest value within
  :func:`hold_seconds` (``last_over_time``; a range selector skips the staleness marker Prometheus
  writes when a recorded series ends: ``promql/engine.go`` ``matrixIterSlice`` drops
  ``value.IsStaleNaN`` samples) and the last evidence
  stands through a gap shorter than that. The hold is the alert's ``for`` minus :data:`WINDOW`
  minus :data:`SCRAPE_INTERVAL`, at most :data:`MAX_HOLD_SECONDS` (5 minutes, Prometheus' default
  lookback delta: the horizon after which Prometheus itself treats a series as gone), none when
  that is not positive (``for`` of 75 s or less reads as before). Why shorter than ``for``:
  Prometheus' ``for`` is wall-clock time since the alert turned pending (``rules/alerting.go``:
  firing once ``ts - ActiveAt >= holdDuration``), nothing pauses it, so the held time counts; a
  single bad minute (visible at most :data:`WINDOW`) plus the hold stays under ``for``, so one
  failed request followed by silence never fires, while a revision failing every request at one
  per 75 s (gaps of 15-30 s without a sample) fires within about ``for`` plus the gap. A silence
  longer than the hold ends the pending state (and resolves a firing alert): the streak needs
  fresh evidence. With a sample every evaluation (dense traffic) the latest value within the hold
  is the current one, so dense traffic fires and resolves exactly as before; a healthy value
  breaks the streak at once. The AWS alarms mean the same (``compile/aws/monitoring.py``).
- Nothing scrapes those metrics by default (kube-prometheus-stack scrapes no Knative pod), so every
  endpoint gets a PodMonitor ``metrics-<endpoint>`` (:func:`compile_serving_scrape`) selecting its
  predictor's pods (label ``serving.knative.dev/service``) on the queue-proxy's user-metrics port,
  which Knative names ``http-usermetric`` (9091; knative/serving
  ``pkg/apis/serving/v1/revision_helpers.go``, ``UserQueueMetricsPortName``), every
  :data:`SCRAPE_INTERVAL` (a quarter of the window: ``rate`` needs at least two samples in it).
- ``feature_drift``, ``prediction_drift``, ``data_quality`` and ``accuracy`` are computed by a
  CronJob ``monitor-<name>`` (at most 52 characters, :func:`names.cronjob`) running the drift job (Evidently image, scripts/drift_job.py) every
  ``schedule`` (default 1h) over the captured traffic of that window against the ``baseline``
  data source. Its deadline (``activeDeadlineSeconds``) and container resources come from
  ``compile/drift_job.py``, as do the monitor's facts, so the plan prices what runs. It pushes
  ``mlops_monitor_value`` to the platform's Pushgateway (batch jobs are short-lived, which is what
  the Pushgateway is for) under the grouping key ``job=mlops-monitor, system, environment,
  monitor``, scraped through a ServiceMonitor with ``honorLabels``.
- One namespace's series only: every selector over a pushed series (``mlops_monitor_value``,
  ``push_time_seconds``, ``mlops_monitor_last_success_timestamp_seconds`` and the rollback notice)
  and over ``mlops:monitor_value`` names the environment's namespace (:func:`pushed_labels` says
  where a pushed series gets it), so two namespaces holding the same system and environment in one
  cluster neither fire on nor hide each other's values (audit k8smon-3). The Pushgateway keeps a value
  forever, so the recording rule only takes it while the group's ``push_time_seconds`` (which the
  Pushgateway sets on every successful push) is younger than
  :func:`~mlops_infra.compile.drift_job.stale_after_seconds`: a job that stops pushing leaves no
  current value and its alert resolves instead of firing forever.
- A drift monitor that stops measuring is heard: its rule group also holds :func:`silence_rule`,
  ``monitor_silent_<monitor>``, firing once the job's last success (or, before one, its CronJob's
  creation) is older than two schedules plus a deadline and a margin
  (``compile/monitor_silence.py`` has who is told and why that long).
- The Pushgateway (:func:`ensure_pushgateway`) exists when a drift monitor or a rollback notice
  (``rollout_runner.py``) pushes to it; no NetworkPolicy selects it, so any pod of the cluster
  reaches its Service (Kubernetes "Network Policies": a pod no policy selects is not isolated).
  What it holds survives a restart (:func:`ensure_pushgateway`: a persistence file on a
  PersistentVolumeClaim): a drift value and its ``push_time_seconds`` lost with the pod would
  resolve a firing drift alert, which fires again (with a new ``startsAt``) at the next push and
  can start one more retraining run, and a lost rollback notice ends its alert early.
- :func:`unhealthy_expr` is the condition alerts use: the worst revision's value (``max without
  (revision_name)``; ``min`` for ``accuracy``, where lower is worse; latency and error rate held
  through gaps, see "Sparse traffic") above the threshold (below it for ``accuracy``), so the alert
  fires when any revision breaches and keeps the labels it had (no ``revision_name``; a pushed
  value has none to drop). Thresholds: times in seconds, percentages as fractions, numbers as
  written.
"""

from __future__ import annotations

from typing import Any

from mlops_infra.compile import drift_job, facts
from mlops_infra.compile import monitor_silence as silence
from mlops_infra.compile.kubernetes import images, ingress, names, scripts
from mlops_infra.compile.kubernetes import labels as lbl
from mlops_infra.compile.kubernetes import workloads as wl
from mlops_infra.compile.kubernetes.objects import KubeTarget, env, object_store_env_from
from mlops_infra.compile.kubernetes.rbac import compile_service_account
from mlops_infra.spec.monitoring import DRIFT_METRICS, LOWER_IS_WORSE, Monitor

PROMETHEUS_RULE = "monitoring.coreos.com/v1"
RECORD = "mlops:monitor_value"
PUSHED = "mlops_monitor_value"
WINDOW_SECONDS = 60
WINDOW = f"{WINDOW_SECONDS // 60}m"
"""Range of the latency and error-rate rates."""
SCRAPE_INTERVAL_SECONDS = 15
SCRAPE_INTERVAL = f"{SCRAPE_INTERVAL_SECONDS}s"
"""How often the endpoint's queue-proxy metrics are scraped (four samples per window)."""
MAX_HOLD_SECONDS = 300
"""Longest gap without requests a latency or error-rate alert's streak survives (Prometheus' default
lookback delta, 5 minutes; see the module contract, "Sparse traffic")."""
POD_MONITOR_PORT = "http-usermetric"
"""The queue-proxy container port serving the user metrics (Knative, 9091)."""
PUSH_JOB = "mlops-monitor"
"""The Pushgateway job the drift jobs push to."""


def _selector(kube: KubeTarget, monitor: Monitor, extra: str = "") -> str:
    return f'{{namespace_name="{kube.namespace}", service_name="{monitor.endpoint}-predictor"{extra}}}'


REVISION = "revision_name"
"""The queue-proxy label naming the Knative revision a request was served by."""


def value_expr(kube: KubeTarget, monitor: Monitor) -> str:
    """PromQL of the monitor's value: one series per revision for latency and error rate (labelled
    ``revision_name``; see the module contract), one series for a pushed value."""
    if monitor.metric == "latency_p99":
        return (f"histogram_quantile(0.99, sum by (le, {REVISION}) (rate(revision_app_request_latencies_bucket"
                f"{_selector(kube, monitor)}[{WINDOW}]))) / 1000 >= 0")
    if monitor.metric == "error_rate":
        failed = _selector(kube, monitor, ', response_code_class="5xx"')
        errors = f"sum by ({REVISION}) (rate(revision_app_request_count{failed}[{WINDOW}]))"
        requests = f"sum by ({REVISION}) (rate(revision_app_request_count{_selector(kube, monitor)}[{WINDOW}]))"
        return f"({errors} or {requests} * 0) / {requests} >= 0"
    group = push_group(kube, monitor)
    value = pushed_selector(kube, {k: v for k, v in group.items() if k != "job"})
    return (f"max({PUSHED}{{{value}}}) and on () "
            f"(time() - max(push_time_seconds{{{pushed_selector(kube, group)}}}) < "
            f"{drift_job.stale_after_seconds(monitor)})")


def push_group(kube: KubeTarget, monitor: Monitor) -> dict[str, str]:
    """The Pushgateway grouping key of a drift monitor's pushes (job first, then labels)."""
    return {"job": PUSH_JOB, "system": kube.ctx.system.metadata.name, "environment": kube.ctx.env,
            "monitor": monitor.name}


NAMESPACE_LABEL = "namespace"
"""The label naming the namespace a series belongs to: on a pushed series, the namespace of the
Pushgateway it was scraped from; on the recorded ``mlops:monitor_value``, the environment's."""


def pushed_labels(kube: KubeTarget, group: dict[str, str]) -> dict[str, str]:
    """The labels a series pushed under ``group`` (a grouping key, or part of one) carries in
    Prometheus once scraped from this environment's Pushgateway: ``group`` plus ``namespace``.

    A system's name and environment are unique only within a namespace (docs/compile-kubernetes.md
    section 2): two namespaces of one cluster may hold the same ``system``/``environment``, and a
    shared Prometheus sees both Pushgateways' groups, so a selector by the grouping key alone takes
    the other namespace's values too (audit k8smon-3). The namespace is the scrape's target label:
    prometheus-operator writes for every ServiceMonitor endpoint the relabeling
    ``source_labels: [__meta_kubernetes_namespace], target_label: namespace`` ("Relabel namespace
    and pod and service labels into proper labels", ``pkg/prometheus/promcfg.go``
    ``generateServiceMonitorConfig``, v0.89.0), the namespace of the Service it discovered, i.e.
    this environment's: ServiceMonitor ``mlops-pushgateway`` sets no ``namespaceSelector``, and "By
    default, the services are discovered in the same namespace as the ``ServiceMonitor`` object"
    (``pkg/apis/monitoring/v1/servicemonitor_types.go``, ``NamespaceSelector``, v0.89.0).
    ``honorLabels: true`` keeps a *scraped* label over a target label of the same name only on a
    conflict (Prometheus ``scrape_config``, ``honor_labels``: "label conflicts are resolved by keeping
    label values from the scraped data"); the pushed groups carry no ``namespace`` (the drift job's
    grouping key is :func:`push_group`, the rollout runner's ``alerting.rollback_push_group``), so
    the target label stands. With the operator's ``overrideHonorLabels`` the target label wins
    outright, so the selector holds there too. Nothing pushed from another namespace can name this
    one: only this namespace's Pushgateway is scraped with it."""
    return {NAMESPACE_LABEL: kube.namespace, **group}


def pushed_selector(kube: KubeTarget, group: dict[str, str]) -> str:
    """The matchers (without braces) of :func:`pushed_labels`: ``namespace`` first, then ``group``."""
    return ", ".join(f'{k}="{v}"' for k, v in pushed_labels(kube, group).items())


def series_labels(kube: KubeTarget, monitor: Monitor) -> dict[str, str]:
    """The labels the recording rule gives ``mlops:monitor_value`` (besides ``revision_name``), the
    environment's namespace among them: the series of two namespaces holding the same system and
    environment stay apart (:func:`pushed_labels`), and :func:`unhealthy_expr` selects its own."""
    return {"mlops_endpoint": monitor.endpoint, "mlops_environment": kube.ctx.env, "mlops_metric": monitor.metric,
            "mlops_monitor": monitor.name, "mlops_system": kube.ctx.system.metadata.name,
            NAMESPACE_LABEL: kube.namespace}


def recorded_selector(kube: KubeTarget, monitor: Monitor) -> str:
    """``mlops:monitor_value`` of ``monitor`` in this environment's namespace (alerts, dashboards)."""
    ctx = kube.ctx
    return (f'{RECORD}{{{NAMESPACE_LABEL}="{kube.namespace}", mlops_system="{ctx.system.metadata.name}", '
            f'mlops_environment="{ctx.env}", mlops_monitor="{monitor.name}"}}')


def threshold_value(monitor: Monitor) -> float:
    threshold = monitor.threshold
    return threshold.seconds if threshold.is_time else threshold.fraction


def hold_seconds(monitor: Monitor, for_seconds: int) -> int:
    """How long an alert with ``for`` of ``for_seconds`` on ``monitor`` keeps a revision's last value
    through a gap without requests (module contract, "Sparse traffic"); 0 for pushed values (their
    staleness is the push age) and when ``for`` leaves no room."""
    if monitor.metric in DRIFT_METRICS:
        return 0
    return max(0, min(MAX_HOLD_SECONDS, for_seconds - WINDOW_SECONDS - SCRAPE_INTERVAL_SECONDS))


def unhealthy_expr(kube: KubeTarget, monitor: Monitor, for_seconds: int = 0) -> str:
    """The condition under which the monitor is unhealthy, for an alert whose ``for`` is
    ``for_seconds`` (the hold through gaps without requests, :func:`hold_seconds`)."""
    series = recorded_selector(kube, monitor)
    hold = hold_seconds(monitor, for_seconds)
    if hold:
        series = f"last_over_time({series}[{hold}s])"
    worst, compare = ("min", "<") if monitor.metric in LOWER_IS_WORSE else ("max", ">")
    return f"{worst} without ({REVISION}) ({series}) {compare} {format(threshold_value(monitor), 'g')}"


def cron_every(seconds: int) -> str:
    """A cron schedule running every ``seconds`` (rounded to what cron can express, minute 0 anchored)."""
    minutes = max(1, seconds // 60)
    if minutes < 60:
        return f"*/{minutes} * * * *"
    hours = minutes // 60
    if hours < 24:
        return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
    days = hours // 24
    if days == 7:
        return "0 0 * * 1"
    return "0 0 * * *" if days == 1 else f"0 0 */{min(days, 31)} * *"


def drift_env(kube: KubeTarget, monitor: Monitor) -> dict[str, str]:
    ctx = kube.ctx
    baseline = ctx.system.item("data_sources", monitor.baseline) if monitor.baseline else None
    baseline_uri = f"s3://{names.data_bucket(ctx, monitor.baseline)}/{monitor.baseline_prefix or ''}"
    return {"BASELINE_URI": baseline_uri if drift_job.reads_baseline(monitor) else "", **drift_job.baseline_env(monitor),
            "CAPTURE_FORMAT": "kserve", "CAPTURE_URI": f"s3://{names.capture_bucket(ctx)}/",
            **drift_job.contract_env(baseline), "DO_NOT_TRACK": "1", "SINK": "pushgateway",
            "ENDPOINT": monitor.endpoint, "ENVIRONMENT": ctx.env, "HOME": "/tmp", "METRIC": monitor.metric,
            "MONITOR": monitor.name, "PUSHGATEWAY_URL": names.service_url(ctx, names.PUSHGATEWAY, names.PUSHGATEWAY_PORT),
            "SYSTEM": ctx.system.metadata.name,
            "WINDOW_SECONDS": str(drift_job.schedule_seconds(monitor))}


def drift_cronjob(kube: KubeTarget, monitor: Monitor, address: str) -> dict[str, Any]:
    seconds = drift_job.schedule_seconds(monitor)
    container = wl.helper_container("drift", images.EVIDENTLY, command=["python", f"{scripts.MOUNT}/drift_job.py"],
                                    env=env(drift_env(kube, monitor)), envFrom=object_store_env_from(),
                                    mounts=[wl.SCRIPTS_MOUNT], resources=drift_job.KUBERNETES_RESOURCES)
    pod = wl.pod_spec(names.SERVICE_ACCOUNTS["monitor"], [container], volumes=[wl.SCRIPTS_VOLUME],
                      restart_policy="Never")
    pod_labels = lbl.labels(kube.ctx, address)
    spec = {"concurrencyPolicy": "Forbid", "failedJobsHistoryLimit": 3,
            "jobTemplate": {"metadata": {"labels": pod_labels},
                            "spec": {"activeDeadlineSeconds": drift_job.max_runtime_seconds(monitor), "backoffLimit": 1,
                                     "template": {"metadata": {"labels": pod_labels}, "spec": pod}}},
            "schedule": cron_every(seconds), "startingDeadlineSeconds": 600, "successfulJobsHistoryLimit": 3,
            "timeZone": "Etc/UTC"}
    return kube.obj("batch/v1", "CronJob", names.cronjob("monitor", monitor.name), address, {"spec": spec})


def serving_scrape(kube: KubeTarget, endpoint: str) -> dict[str, Any]:
    """The PodMonitor scraping the queue-proxy user metrics of the endpoint's predictor pods."""
    spec = {"podMetricsEndpoints": [{"interval": SCRAPE_INTERVAL, "path": "/metrics", "port": POD_MONITOR_PORT}],
            "selector": {"matchLabels": {"serving.knative.dev/service": f"{endpoint}-predictor"}}}
    return kube.obj(PROMETHEUS_RULE, "PodMonitor", names.item("metrics", endpoint), f"endpoints.{endpoint}",
                    {"spec": spec})


def compile_serving_scrape(kube: KubeTarget, endpoint: str, parent: str) -> None:
    """The endpoint's PodMonitor (see the module contract), under the endpoint's component."""
    kube.add(serving_scrape(kube, endpoint), parent=parent, address=f"endpoints.{endpoint}", role="metrics-scrape")


def compile_monitor(kube: KubeTarget, monitor: Monitor) -> None:
    """The monitor's component, its recording rule and (drift/quality metrics) its job."""
    address = f"monitors.{monitor.name}"
    parent = kube.ctx.component("monitors", monitor.name, facts.monitor_facts(monitor, "kubernetes"))
    rule = {"record": RECORD, "expr": value_expr(kube, monitor), "labels": series_labels(kube, monitor)}
    silent = kube.ctx.silent_channels()
    rules = [rule, silence_rule(kube, monitor, silent[monitor.name])] if monitor.name in silent else [rule]
    spec = {"groups": [{"name": names.item("monitor", monitor.name), "rules": rules}]}
    kube.add(kube.obj(PROMETHEUS_RULE, "PrometheusRule", names.item("monitor", monitor.name), address, {"spec": spec}),
             parent=parent, address=address, role="recording-rule")
    if monitor.metric in DRIFT_METRICS:
        kube.add(drift_cronjob(kube, monitor, address), parent=parent, address=address, role="monitor-job",
                 depends_on=kube.needs("scripts", "service-account/monitor", "pushgateway"))


LAST_SUCCESS = "mlops_monitor_last_success_timestamp_seconds"
"""Gauge the drift job pushes with every value: the start of the run that computed it (Unix seconds)."""
CRONJOB_CREATED = "kube_cronjob_created"
"""kube-state-metrics' gauge of a CronJob's creation time (Unix seconds), labels ``namespace`` and
``cronjob`` (kubernetes/kube-state-metrics ``docs/cronjob-metrics.md``, STABLE)."""
SILENCE_FOR_SECONDS = 600
"""``for`` of the silent-monitor alert: a Pushgateway restart (a ``Recreate`` Deployment, the volume
possibly moving node) leaves its series stale for a few scrapes, during which the rule falls back to
the CronJob's creation time; 10 minutes, as ``alerting.KEEP_FIRING_FOR``, outlasts such a gap."""


def silence_expr(kube: KubeTarget, monitor: Monitor) -> str:
    """The silent-monitor condition (:mod:`~mlops_infra.compile.monitor_silence`): the monitor's last
    success, or, before its first one, its CronJob's creation, is older than
    :func:`~mlops_infra.compile.monitor_silence.silent_after_seconds` minus :data:`SILENCE_FOR_SECONDS`
    (the ``for`` makes up the rest).

    - ``max(A) or max(B)``: both aggregate to an empty label set, so ``or`` keeps the last success
      when the Pushgateway has one and the creation time otherwise (Prometheus "Operators", ``or``:
      "elements of vector2 that do not have matching label sets in vector1" are added). A creation
      is older than any success of its CronJob, so this is the latest of the two.
    - The pushed series stays on the Pushgateway after the job stops pushing (it keeps a group until
      it is deleted or replaced: the module contract), so its age grows; nothing depends on a sample
      going missing.
    - First apply: no success yet, so the age is the CronJob's; its first run starts within one
      schedule (its cron) and pushes within a deadline, well under the horizon: no alert before a
      run could have succeeded. Without kube-state-metrics (kube-prometheus-stack installs it) a
      monitor that never succeeded has no series here and cannot fire; one that succeeded once can."""
    series = pushed_selector(kube, push_group(kube, monitor))
    created = f'namespace="{kube.namespace}", cronjob="{names.cronjob("monitor", monitor.name)}"'
    horizon = silence.silent_after_seconds(monitor) - SILENCE_FOR_SECONDS
    return f"time() - (max({LAST_SUCCESS}{{{series}}}) or max({CRONJOB_CREATED}{{{created}}})) > {horizon}"


def silence_rule(kube: KubeTarget, monitor: Monitor, channels: list[str]) -> dict[str, Any]:
    """The monitor's ``monitor_silent_<monitor>`` alerting rule (:mod:`~mlops_infra.compile.monitor_silence`),
    labelled as an alert (``mlops_alert``, ``mlops_system``, ``mlops_environment``, ``namespace``,
    ``severity``), so the routes of ``channels`` (``routing.channel_route``) deliver it."""
    ctx = kube.ctx
    name = silence.silent_alert(monitor.name)
    every = silence.duration_text(drift_job.schedule_seconds(monitor))
    after = silence.duration_text(silence.silent_after_seconds(monitor))
    job = f"CronJob {names.cronjob('monitor', monitor.name)} in namespace {kube.namespace}"
    return {"alert": name, "expr": silence_expr(kube, monitor), "for": f"{SILENCE_FOR_SECONDS // 60}m",
            "labels": {"mlops_alert": name, "mlops_endpoint": monitor.endpoint, "mlops_environment": ctx.env,
                       "mlops_monitor": monitor.name, "mlops_system": ctx.system.metadata.name,
                       "namespace": kube.namespace, "severity": silence.SEVERITY},
            "annotations": {"summary": f"{ctx.system.metadata.name}/{ctx.env}: monitor {monitor.name} is not measuring "
                                       f"({monitor.metric} of endpoint {monitor.endpoint})",
                            "description": f"Monitor {monitor.name} ({monitor.metric} of endpoint {monitor.endpoint}, "
                                           f"run every {every}) has published no value for {after}: its alerts "
                                           f"cannot fire. {silence.what_to_check(job)}",
                            "mlops_notify": ",".join(channels)}}


PUSHGATEWAY_DATA_MOUNT = "/data"
"""Where the Pushgateway's volume is mounted (the image's root filesystem is read-only here)."""
PUSHGATEWAY_PERSISTENCE_FILE = f"{PUSHGATEWAY_DATA_MOUNT}/pushgateway.data"
PUSHGATEWAY_PERSISTENCE_INTERVAL = "1m"
"""``--persistence.interval``: the least time between two writes of the persistence file."""
PUSHGATEWAY_STORAGE = "1Gi"
"""The Pushgateway volume's request: the file holds one group per drift monitor and per endpoint
with rollback notices (kilobytes); 1 GiB is the smallest volume common provisioners make (EC2
``CreateVolume`` ``Size``: gp2 and gp3 ``1 - 16,384``/``65,536`` GiB, botocore ec2 2016-11-15)."""


def pushgateway_args() -> list[str]:
    """The Pushgateway's flags: keep the pushed groups in :data:`PUSHGATEWAY_PERSISTENCE_FILE`."""
    return [f"--persistence.file={PUSHGATEWAY_PERSISTENCE_FILE}",
            f"--persistence.interval={PUSHGATEWAY_PERSISTENCE_INTERVAL}"]


def pushgateway_claim(kube: KubeTarget) -> dict[str, Any]:
    """The PersistentVolumeClaim of the Pushgateway's persistence file (ReadWriteOnce, default class)."""
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": PUSHGATEWAY_STORAGE}}}
    return kube.obj("v1", "PersistentVolumeClaim", names.PUSHGATEWAY, "platform", {"spec": spec})


def compile_pushgateway(kube: KubeTarget) -> None:
    """Platform part: Pushgateway Deployment, Service and ServiceMonitor; the monitor jobs' account."""
    compile_service_account(kube, "monitor")
    ensure_pushgateway(kube)


def ensure_pushgateway(kube: KubeTarget) -> str:
    """The Pushgateway's volume claim, Deployment, Service and ServiceMonitor, once (drift monitors and
    the rollout runner's rollback notices both push to it); returns the Service's URN.

    What it holds survives a restart (the module contract says why that matters):

    - ``--persistence.file`` on a PersistentVolumeClaim ``mlops-pushgateway`` mounted at
      :data:`PUSHGATEWAY_DATA_MOUNT`. Pushgateway README, "Run it": "By default, Pushgateway does not
      persist metrics. However, the ``--persistence.file`` flag allows you to specify a file in which
      the pushed metrics will be persisted (so that they survive restarts of the Pushgateway)". The
      file is read at start and written "upon shutdown and after every write action, but the latter
      will only happen persistenceDuration after the previous persisting" (prometheus/pushgateway
      v1.11.2 ``storage/diskmetricstore.go``, ``NewDiskMetricStore``; ``loop``: a write after a quiet
      ``--persistence.interval`` is persisted at once, a burst at most once per interval). On SIGTERM,
      which the kubelet sends first, ``main.go`` ``shutdownServerOnQuit`` stops the server and
      ``ms.Shutdown()`` writes the file (``loop``: ``drain`` -> ``persist``), well within the default
      30 s grace period. ``persist`` writes a temporary file in the file's directory and renames it,
      so the directory must be writable: the volume, not the read-only root filesystem. A crash or a
      node loss (no SIGTERM) loses at most the pushes of the last :data:`PUSHGATEWAY_PERSISTENCE_INTERVAL`
      ("the Pushgateway doesn't provide any strong guarantees that the pushed metrics are persisted
      to disk", README "PUT method").
    - ``ReadWriteOnce`` and the Deployment strategy ``Recreate``. Kubernetes "Persistent Volumes",
      "Access Modes": ReadWriteOnce is "mounted as read-write by a single node" and "still can allow
      multiple pods to access the volume when the pods are running on the same node". A rolling
      update would start the new pod beside the old one: on another node it cannot attach the
      volume while the old pod holds it (and the old pod is only stopped once the new one is ready),
      on the same node the new pod would read the file before the old one writes its last state,
      then overwrite it. "Deployments", "Recreate Deployment": "All existing Pods are killed before
      new ones are created when ``.spec.strategy.type==Recreate``", so the new pod reads what the
      old one wrote on SIGTERM (a pod deleted by hand is replaced at once: the replacement can read
      the file up to one interval old).
    - Writable by the container's user: the prom/pushgateway image runs as ``USER 65534`` (nobody;
      its ``Dockerfile`` at v1.11.2), as the container security context does (``runAsUser: 65534``,
      ``objects.container_security``), and the pod's ``fsGroup: 65534`` (``workloads.pod_spec``)
      makes the volume "owned and writable by the GID specified in fsGroup" (Kubernetes "Configure a
      Security Context for a Pod or Container", "Discussion"), the process being in that group.
    - :data:`PUSHGATEWAY_STORAGE` (1 GiB) with no ``storageClassName``: the cluster's default
      StorageClass provisions it (docs/compile-kubernetes.md section 4 lists it as a prerequisite).
      Not protected: what it holds is recent pushes, which the next pushes replace; a destroy of
      the Pushgateway takes the claim with it.
    """
    if "pushgateway" in kube.shared:
        return kube.shared["pushgateway"]
    account = compile_service_account(kube, "pushgateway")
    claim = kube.add(pushgateway_claim(kube), parent=kube.platform, address="platform", role="pushgateway-volume")
    container = wl.helper_container("pushgateway", images.PUSHGATEWAY, args=pushgateway_args(),
                                    port=names.PUSHGATEWAY_PORT,
                                    mounts=[{"mountPath": PUSHGATEWAY_DATA_MOUNT, "name": "data"}])
    container["readinessProbe"] = {"httpGet": {"path": "/-/ready", "port": "http"}, "periodSeconds": 10}
    container.pop("env")
    pod = wl.pod_spec(names.SERVICE_ACCOUNTS["pushgateway"], [container],
                      volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": names.PUSHGATEWAY}}])
    deployment = kube.add(wl.deployment(kube, names.PUSHGATEWAY, "pushgateway", pod, address="platform",
                                        strategy="Recreate"),
                          parent=kube.platform, address="platform", role="pushgateway", depends_on=[account, claim])
    service = kube.add(wl.service(kube, names.PUSHGATEWAY, "pushgateway", names.PUSHGATEWAY_PORT, address="platform"),
                       parent=kube.platform, address="platform", role="pushgateway-service", depends_on=[deployment])
    monitor = {"endpoints": [{"honorLabels": True, "interval": "30s", "port": "http"}],
               "selector": {"matchLabels": lbl.selector(kube.ctx, "pushgateway")}}
    kube.add(kube.obj(PROMETHEUS_RULE, "ServiceMonitor", names.PUSHGATEWAY, "platform", {"spec": monitor}),
             parent=kube.platform, address="platform", role="pushgateway-scrape", depends_on=[service])
    kube.add(ingress.pushgateway_policy(kube), parent=kube.platform, address="platform", role="pushgateway-ingress")
    kube.shared["pushgateway"] = service
    return service
