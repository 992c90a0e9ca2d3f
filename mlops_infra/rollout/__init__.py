"""Progressive delivery: a level-triggered rollout reconciler and its drivers.

- :mod:`.model`: the data the reconciler reads and writes (:class:`RolloutSpec` from the graph,
  :class:`Observed` endpoint state, :class:`GateReading`, the persisted :class:`RolloutStatus`, the
  :class:`Decision`);
- :mod:`.reconcile`: the one pure decision function (no clock, no I/O: ``now`` is passed in);
- :mod:`.schedule`: the dry-run schedule (steps, bake, total time, worst-case overlap cost);
- :mod:`.gates`: gate readers (CloudWatch alarms, Prometheus alerts);
- :mod:`.drivers`: where the status lives and how traffic moves (SageMaker, KServe);
- :mod:`.runner`: one reconcile pass (observe, decide, act) and the loop around it.

Kubernetes controllers are the model: level-triggered (the decision depends on what is observed now,
not on events), idempotent, status kept on the object itself, so a killed driver loses nothing and
two drivers at once converge (one wins each step; the loser observes again).
"""
