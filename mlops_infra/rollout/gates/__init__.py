"""Gate readers: the endpoint's ``rollback_on`` alerts, read for the current step.

- :mod:`.cloudwatch` (AWS): CloudWatch alarm state, and the alarm's metric over the step's window
  through GetMetricData;
- :mod:`.prometheus` (Kubernetes): the alerting rules Prometheus evaluates and their alerts
  (``GET /api/v1/rules?type=alert``); a gate whose rule that Prometheus does not load is ``unreadable``.

A reader never raises for what the monitoring system answers: anything it cannot read is an
``unreadable`` :class:`~mlops_infra.rollout.model.GateReading`, which holds the rollout (and rolls it
back after the gate timeout) instead of advancing blind.
"""
