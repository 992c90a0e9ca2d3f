"""The measured value in a monitor alert's ``description``: the Prometheus template, and what it renders.

Contract (audit observe-4):
- A monitor alert's ``description`` (``alerting.alert_rule``) ends in ``(now <value>)``, the value
  the alert fired on, written by Prometheus when it evaluates the rule. Prometheus "Alerting rules",
  "Templating" (https://prometheus.io/docs/prometheus/latest/configuration/alerting_rules/#templating):
  "The ``$value`` variable holds the evaluated value of an alert instance"; prometheus/prometheus
  v2.42.0 ``rules/alerting.go`` ``AlertingRule.Eval`` expands each annotation with the defs
  ``{{$labels := .Labels}}{{$externalLabels := ...}}{{$value := .Value}}`` over the sample's value,
  at every evaluation the alert is in the result. An alert kept firing by ``keep_firing_for`` after
  its value went away keeps the annotations of its last evaluation (``Eval`` only re-expands alerts
  present in the result), so a drift alert held through a Pushgateway restart says the last score.
- The value is the alert expression's: the worst revision's recorded ``mlops:monitor_value``
  (``monitoring.unhealthy_expr``), in the recording rule's unit (``monitoring`` contract): seconds
  for ``latency_p99``, a fraction for ``error_rate``, the drift job's score for drift and quality
  metrics. Written in the unit of the monitor's threshold (:func:`value_unit`) with Prometheus' own
  template functions (https://prometheus.io/docs/prometheus/latest/configuration/template_reference/,
  "Numbers"; all in v2.42.0 ``template/template.go`` ``NewTemplateExpander``'s ``funcMap``):

  - ``latency_p99`` -> ``humanizeDuration`` (seconds: ``992.5ms``, ``1.5s``, ``2m 0s``);
  - ``error_rate`` with a percentage threshold (``1%``) -> ``humanizePercentage`` (the fraction
    times 100: ``2%``);
  - ``error_rate`` with a plain fraction (``0.01``), drift and quality scores -> ``printf "%.4g"``
    (text/template's builtin ``printf``, Go's ``fmt.Sprintf``; ``humanize`` would write a score of
    0.6 as ``600m``).

  Four significant digits throughout, as the ``humanize*`` functions write them (``%.4g``).
- A value that moves between evaluations starts no new notification: Alertmanager identifies an
  alert by its labels (prometheus/common ``model/alert.go`` ``Alert.Fingerprint``: "the fingerprint
  of the alert's label set"), and its dedup stage decides whether to notify from hashes of the labels
  only (alertmanager ``notify/notify.go`` ``hashAlert``); a notification sent anyway (a new alert in
  the group, ``repeat_interval``) carries the latest value.
- :func:`render_value` is what Prometheus writes for a value: a Python copy of those v2.42.0 Go
  functions for the values the recording rules produce (never NaN: ``>= 0`` drops it), so the
  generated ``promtool test rules`` files (``rule_tests.py``) can expect the exact rendered text
  (promtool compares ``exp_annotations`` with the expanded annotations, ``cmd/promtool/unittest.go``).
"""

from __future__ import annotations

import math

from mlops_infra.spec.monitoring import Monitor

TEMPLATES = {"duration": "{{ $value | humanizeDuration }}",
             "percentage": "{{ $value | humanizePercentage }}",
             "number": '{{ $value | printf "%.4g" }}'}
"""Unit -> the Go template writing ``$value`` in it."""


def value_unit(monitor: Monitor) -> str:
    """``duration`` (a time threshold: latency, recorded in seconds), ``percentage`` (a percentage
    threshold: error rate, recorded as a fraction) or ``number`` (as written: a plain fraction, a score)."""
    if monitor.threshold.is_time:
        return "duration"
    return "percentage" if monitor.threshold.is_percent else "number"


def value_template(monitor: Monitor) -> str:
    """The template of the monitor alert's value (module contract)."""
    return TEMPLATES[value_unit(monitor)]


def _g4(value: float) -> str:
    """Go's ``fmt.Sprintf("%.4g", v)`` (``%e`` below 1e-4 or from 1e4, trailing zeros dropped; Go
    writes NaN and infinities as ``NaN``, ``+Inf``, ``-Inf``)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return format(value, ".4g")


def _humanize_duration(v: float) -> str:
    """v2.42.0 ``humanizeDuration``: from a second up, whole ``d h m s`` units (seconds alone with
    four digits); under a second, ``ms``, ``us``, ``ns``... with four digits."""
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    if v == 0:
        return _g4(v) + "s"
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        v = abs(v)
        whole = int(v)
        seconds, minutes, hours, days = whole % 60, whole // 60 % 60, whole // 3600 % 24, whole // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_g4(v)}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return f"{_g4(v)}{prefix}s"


def render_value(monitor: Monitor, value: float) -> str:
    """What Prometheus writes for ``value`` with :func:`value_template` (module contract)."""
    unit = value_unit(monitor)
    if unit == "duration":
        return _humanize_duration(value)
    if unit == "percentage":
        return _g4(value * 100) + "%"
    return _g4(value)
