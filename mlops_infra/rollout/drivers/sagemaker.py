"""The SageMaker driver: a staged canary with two production variants of one endpoint.

Why not SageMaker's own guardrails: a ``CANARY`` traffic routing does one canary step then all, a
``LINEAR`` one equal steps of 10-50%, and both size the canary in whole instances (botocore
``CapacitySize``, ``TrafficRoutingConfig``). A schedule such as 2, 5, 10, 25, 75, 100% needs weights:
two variants of one endpoint config, whose share of traffic is ``weight / sum of weights`` (botocore
``ProductionVariant.InitialVariantWeight``), moved with ``UpdateEndpointWeightsAndCapacities``.

Contract of :class:`SageMakerDriver` (one endpoint):
- Variants have stable names (A2): ``primary`` always serves the stable version and carries the
  endpoint's Application Auto Scaling target; ``canary`` exists only during a rollout and is never
  autoscaled, so removing it needs no deregistration (AWS "Update or delete endpoints that use auto
  scaling", https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html: "If the
  update would change the instance type for any model that is a target for auto scaling, the update
  fails"; deregistering is only needed to change the instance type of, or remove, an autoscaled
  variant).
- ``observe``: ``DescribeEndpoint`` (status, config, ``CurrentWeight`` per variant), ``ListTags``
  (the status under ``mlops-infra:rollout:<field>``) and the model version of each variant (the
  ``-v<N>-`` part of the model name the compiler gives). The share on the new version is ``canary
  weight / (primary + canary)``, in whole percent. ``ready`` is ``EndpointStatus == InService``,
  which is also when a step is in effect (``Observed.in_effect`` is left True): SageMaker keeps the
  endpoint ``Updating`` until the weights and capacities are applied (botocore
  ``UpdateEndpointWeightsAndCapacities``: "After updating the endpoint, it sets the status to
  ``InService``"), so the first InService pass at the step's share records the step in effect and
  the bake runs from there (``rollout/reconcile.py``, "When a step is in effect"). The token is the
  config name and the stored status.
- The variants' model versions are known without ``DescribeEndpointConfig`` in the two states a
  rollout spends its time in: on the graph's final config, ``primary`` serves the target's model (the
  :class:`EndpointTarget` contract: the compiler's final config has one ``primary`` variant on
  ``model``); on this driver's own rollout config for the target version
  (``<config prefix>-rollout-v<N>-<hash>``, :func:`rollout_config_prefix`) with a stored status of that version, ``primary`` serves
  the status's ``previous`` and ``canary`` the target version (the start writes ``previous`` = the
  version serving, and builds the rollout config from that very serving config after comparing it
  with the observation). Any other config is described (``DescribeEndpointConfig``, cached: configs
  are immutable).
- :meth:`SageMakerDriver.observe_many` observes many endpoints sharing one client in a few calls:
  SageMaker ``Search`` with ``Resource=Endpoint`` returns each endpoint with its status, config name,
  variants (``CurrentWeight``) and ``Tags`` (botocore ``SearchRecord.Endpoint``: ``EndpointName``,
  ``EndpointArn``, ``EndpointConfigName``, ``ProductionVariants``, ``EndpointStatus``, ``Tags``), at
  most 100 per page (botocore ``SearchRequest.MaxResults``: 1-100; ``NextToken`` when more match),
  filtered by ``EndpointName Contains`` the names' common prefix (only one ``Contains`` per
  expression, botocore ``Filter.Operator``) and sorted by name, so endpoints updated during the pass
  do not move between pages. The API reference promises no read-after-write consistency for
  ``Search`` (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_Search.html), so a record
  may be stale: it is only an observation, and ``act`` compares it with consistent reads before
  writing anything. An endpoint missing from the answer is observed alone.
- ``act`` first compares: it describes again (``DescribeEndpoint``, ``ListTags``) and gives up
  (:class:`Lost`) unless the endpoint is still InService on the same config with the same stored
  status. The compare is not skipped: SageMaker's writes take no condition (``AddTags`` and
  ``UpdateEndpointWeightsAndCapacities`` have no expected-version parameter in botocore), and the
  observation may come from ``Search``. SageMaker itself serialises what follows:
  ``UpdateEndpointWeightsAndCapacities`` and ``UpdateEndpoint`` put the endpoint in ``Updating``
  (botocore documentation of both), and a second update while one is in progress is refused with a
  ValidationException, which is also :class:`Lost`. A decision that only writes the status (a
  ``record`` without a traffic share: the scheduled runner recording a rollback notice sent,
  ``rollout/scheduled.py``) needs the same config and stored status but not ``InService``: the pass
  that rolled back has just put the endpoint in ``Updating`` (``UpdateEndpointWeightsAndCapacities``),
  and tagging does not depend on the endpoint's status (botocore ``AddTags``: no status condition and
  no error shapes; the finish already deletes :data:`SCALING_TAG` after its ``UpdateEndpoint``). A
  ``record`` of a step in effect (a share, no traffic call) needs ``InService`` like any decision and
  writes the status only: two passes at once may both write it, since ``AddTags`` takes no condition,
  each the same step in effect at its own pass's time (a few milliseconds apart).
- **A rollback while the endpoint updates** (audit rolloutaws-6). A ``rollback`` decision (``--abort``, a
  gate firing: ``rollout/reconcile.py`` rules 1 and 2) while the endpoint is in a status that ends InService by
  itself (:data:`SETTLING`: ``Updating``, ``SystemUpdating``, ``RollingBack``) is compared like a ``status_only``
  record (same config and stored status) and its status written at once, since tagging does not depend on the
  endpoint's status (botocore ``AddTags``: no status condition and no error shapes); its traffic call is not
  made (SageMaker refuses an update while one is in progress) and ``act`` raises :class:`Lost` saying so. The
  first InService pass finds the status rolled back (or aborted) over a share on the target version and
  moves the traffic back (``rollout/reconcile.py`` rule 4, "completing the rollback"). Before, ``act`` gave
  up before writing anything, ``mlops-infra rollout --abort`` said another pass had changed the rollout, and
  the runner carried the canary on to its bake once the step's update (minutes while SageMaker provisions
  canary instances) ended. Test ``tests/rollout/test_abort_while_updating.py``.
- **A failed update** (audit rolloutaws-1). When the rollout's own update cannot be carried out (the start's
  or the finish's ``UpdateEndpoint``: a container failing its ping health check, no capacity for the
  instance type; a step's ``UpdateEndpointWeightsAndCapacities``), SageMaker leaves the endpoint InService on
  the configuration and weights it had (``EndpointStatus`` ``RollingBack``: "Once the rollback completes,
  endpoint returns to an InService status") and says why: botocore sagemaker ``EndpointMetadata.FailureReason``,
  "If the status of the endpoint is Failed, or the status is InService but update operation fails, this
  provides the reason why it failed" (``DescribeEndpointOutput.FailureReason`` and the ``Search`` record's
  ``Endpoint.FailureReason`` carry it; ``plan/readiness.py`` reads the same). ``observe`` reports it as
  ``Observed.not_ready`` with ``failed`` true while ``ready`` (:meth:`SageMakerDriver._failed_update`), only
  for the target version's ``progressing`` or ``finished`` status and only when it can be this status's own
  update: a ``FailureReason`` stays on the endpoint after later updates (nothing documents when it clears),
  so one whose ``LastModifiedTime`` (botocore: "when the endpoint was last modified", in ``DescribeEndpoint``
  and the ``Search`` record) is before the status' ``since`` (less :data:`CLOCK_SKEW_SECONDS`) is an
  earlier update's and is not reported (a start killed before its ``UpdateEndpoint`` is then made again),
  nor one while the endpoint is where that status's update put it: at a start's result (the rollout config,
  ``canary`` at 0 % at step 1) or, finished, off the rollout config. The reconciler compares the step's
  share and rolls back (cause ``update_failed``, the reason quoted; ``rollout/reconcile.py`` rule 2), notice
  pending. Before, every pass issued the same update again, for ever: a new fleet for each ``UpdateEndpoint``
  (the start deploys primary's count plus the canary anew, botocore ``UpdateEndpoint``: "Deploys the
  EndpointConfig specified in the request to a new fleet of instances"), and no notice. Known limit: a
  step 1 whose weights call fails leaves the rollout config at 0 %, which is also the start's result, so that
  weights-only call (no new instances: the canary keeps its one) is made again by each pass. Test
  ``tests/rollout/test_sagemaker_failed_update.py``.
- **Races** (audit concurrency-6). The status write (``AddTags``) cannot be made conditional, and the traffic
  call that SageMaker serialises comes after it (crash safety, below), so a pass that compared before another
  pass acted and writes after it overwrites that pass's status, then finds its own traffic call refused
  (``UpdateEndpointWeightsAndCapacities``/``UpdateEndpoint`` while the endpoint is ``Updating``: a
  ValidationException, "Cannot update in-progress endpoint"; :class:`Lost`). Harmless when both decided alike;
  not when the winner moved all traffic back to ``primary`` (``--abort``, a gate's rollback) and the loser
  moved the rollout on (a step, the finish): the status would say ``progressing``/``finished`` over a rolled
  back endpoint, and the next pass would put the aborted version back (the crash rule below: a status ahead
  of the traffic is carried out). So the order is: a rollback writes its status, moves the weights, and
  writes its status again once SageMaker accepted them (a loser that compared earlier and wrote in between
  is overwritten); a pass that moved the status on and lost its traffic call, or that only recorded a step
  in effect (no traffic call to lose), reads the endpoint again and, when the stored status is still
  ``progressing``/``finished`` while the weights SageMaker is applying (``DesiredWeight``) give the target
  version 0 % where it observed more, writes the rollback's status again itself: ``aborted`` for an
  ``--abort`` (reason: aborted by the operator, the traffic moved back, the status overwritten by a pass
  moving the version on), ``rolled_back`` with its ``notice`` kept for a gate's rollback (so the scheduled
  runner still announces it). Which one is told by the ``notice`` key the forward write left in place
  (:func:`overwritten_rollback`). Only a rollback gives the target 0 % of a share it had: a step or a finish
  never does. Test ``tests/rollout/test_sagemaker_abort_race.py``. The other order (audit closing-37b-7): the
  finish's ``UpdateEndpoint`` goes through first and the rollback loses its traffic call; the rollback then
  reads back and, when the endpoint is on (or moving to) the graph's final config, keeps its phase and says in
  its reason that the version serves all traffic until the next pass moves it back; that pass carries the
  status out for real: an endpoint with no ``canary`` on the target version goes back (``UpdateEndpoint``) to
  the target version's rollout config the finish left as kept (``primary`` on ``previous`` at full weight,
  ``canary`` at 0), and when there is none (or the autoscaled primary's instance type would change) the pass
  raises :class:`~mlops_infra.rollout.runner.RollbackImpossible` (what happened, the traffic split it serves,
  what to do), never a ``KeyError``; ``--resume`` then keeps the version the finish landed (status
  ``finished``, ``rollout/reconcile.py`` rule 1). Test
  ``tests/rollout/test_sagemaker_abort_lost_to_finish.py``.
- Start: a rollout config (``<config prefix>-rollout-v<N>-<hash>``) with ``primary`` exactly as it serves
  (its ``InitialInstanceCount`` = the count serving now: the rollout config records the stable count)
  and ``canary`` = the new model at weight 0, applied with ``UpdateEndpoint``,
  ``RetainAllVariantProperties`` (primary keeps its autoscaled instance count) and
  ``ExcludeRetainedVariantProperties=[DesiredWeight]``: the weights come from the rollout config, so
  primary serves everything and the canary nothing. Without the exclusion a start that supersedes a
  version still rolling out (the serving config is that version's rollout config, with a ``canary``)
  kept the live canary weight for the new model, up to 100 % on a never gated version (botocore
  sagemaker ``UpdateEndpointInput.ExcludeRetainedVariantProperties``: "If you don't specify a value
  for ExcludeRetainedVariantProperties, no variant properties are overridden"; test
  ``tests/rollout/test_sagemaker_supersede.py``). Before the update the start suspends primary's
  scale-in (see **The stable fleet during a rollout**). Each step:
  weights ``100-p`` / ``p``, primary's count kept at least at the larger of its current count and the
  recorded one, and the canary's ``DesiredInstanceCount`` = ``ceil(p% x that count)`` (at least 1;
  ``canary_size.canary_instances``), so the canary has the capacity for its share (the calls: **Traffic
  calls**). The recorded count is read (``DescribeEndpointConfig``,
  cached) only for an endpoint the graph autoscales; for any other nothing moves primary's count during a
  rollout (only the finish sets it, to the final config's), so the current one is the recorded one and a
  step costs no extra call. On an autoscaled endpoint primary's count only grows during a rollout (its
  scale-in is suspended, scale-out goes on: **The stable fleet during a rollout**), so its current count
  is the best measure of the load the canary takes at 100 %: SageMaker routes by weight whatever the
  counts (botocore ``ProductionVariant.InitialVariantWeight``), and a canary sized from the count at the
  start took the load of a scaled-out fleet on that many instances (audit rolloutaws-5: primary 3 -> 6 at
  10 %, the canary 3 instances at 100 %; test ``tests/rollout/test_canary_follows_scale_out.py``). A step
  sizes it when it is set; a scale-out during a step's bake reaches the canary at the next step. Known
  limit: primary's target tracking sees only primary's share of the traffic, so load that grows once
  most of it is on the canary (75 %, 100 %) scales primary out little or not at all, and the canary
  (not autoscaled) does not follow it.
- **Traffic calls** (audit rolloutaws-2). ``UpdateEndpointWeightsAndCapacities`` "Updates variant weight of one
  or more variants associated with an existing endpoint, or capacity of one variant associated with an existing
  endpoint" (botocore sagemaker 2017-07-24 service-2.json, the operation's documentation; the API reference says
  the same), and in each ``DesiredWeightAndCapacity`` both ``DesiredWeight`` and ``DesiredInstanceCount`` are
  optional. So no call sets ``DesiredInstanceCount`` for two variants (before, every step and every rollback
  did, primary's and the canary's). A step is one call: both weights and the canary's count. Only when
  primary's count must grow first (below the recorded count: scaled in before its scale-in was suspended) does
  it take a call of its own, primary's count alone, before the weights; that call puts the endpoint in
  ``Updating`` until the instances run, and SageMaker refuses the weights meanwhile, so the pass ends there and
  the next one sets the step (its status is already written: ``rollout/reconcile.py`` rule 5, "setting it"),
  sizing the canary from primary's new count. A rollback is one call: both weights, with primary's count only
  when it must grow (the one capacity in that call); the canary's count is left out (it serves nothing; the
  settled pass shrinks it, **Rollback**, in a call naming the canary alone). A weights-only entry leaves the
  variant's count as it is (inferred from the same sentence: a weight update is not a capacity update). The
  tests' moto stand-in refuses two counts in one call (``tests/support/moto_server.py`` patch 22; test
  ``tests/rollout/test_sagemaker_one_capacity.py``).
- The status is written before the traffic, always: a driver killed in between leaves a status one
  step ahead of the traffic, and the next pass sets that step's traffic (restarting its bake), so no
  step is skipped, none repeated, and no bake is shortened.
- Rollback: all weight back to ``primary`` (at least the recorded count); the canary variant stays for
  inspection until a later version's rollout (or ``--resume``), but not at its step's size: SageMaker
  bills every instance of every variant whatever its weight (botocore ``DesiredWeightAndCapacity``: the
  weight and, separately, ``DesiredInstanceCount``, "The variant's capacity"; ``UpdateEndpoint``: "The
  endpoint must be deleted in order to stop incurring charges"), so a rollback at 100 % kept the whole
  fleet twice. Once the rollback has settled (:meth:`tidy`: InService, no traffic on the target
  version), the first such pass sets the ``canary`` variant's ``DesiredInstanceCount`` to
  :data:`IDLE_CANARY_INSTANCES` (1) if it asks for more, in its own ``UpdateEndpointWeightsAndCapacities``
  naming that variant only (its weight sent as it is, 0): one is the fewest a variant of instances runs
  (botocore ``ProductionVariant.InitialInstanceCount``: ``InitialTaskCount``, min 1; AWS "Scale an
  endpoint to zero instances",
  https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-zero-instances.html: "An endpoint
  can scale to and from zero instances only if it hosts inference components", which these endpoints do
  not). The rollback itself stays a weight move (the call documents "weight of one or more variants, or
  capacity of one variant"), compared like ``act`` (InService, same token) and only while the variant's
  weight is 0. An endpoint rolled back by an earlier runner is shrunk by its next settled pass the same
  way. What stays costs one instance of the new version's type per hour (its price: ``mlops-infra plan``'s
  catalog; the runner has none). A ``--resume`` sizes the canary again at its first step
  (``ceil(p% x primary count)``, as each step); a later version's start keeps the variant's count through
  ``RetainAllVariantProperties`` (1) and its first step sizes it.
- Finish: ``UpdateEndpoint`` to the graph's final config (single ``primary`` variant on the new
  model) with ``RetainAllVariantProperties`` and ``ExcludeRetainedVariantProperties=[DesiredWeight]``
  (so primary's autoscaled instance count survives, and its weight comes from the config: it was 0
  while the canary had everything). For an endpoint the graph does not autoscale, ``DesiredInstanceCount``
  is excluded too: its count is the config's ``InitialInstanceCount`` (docs/semantics.md: without
  ``autoscaling`` the endpoint runs at ``replicas.min``, fixed), and a ``replicas`` change reaches the
  fleet only through this finish, since the compiled endpoint ignores changes of its config name
  (botocore ``VariantPropertyType``: ``DesiredInstanceCount`` "Overrides the existing variant instance
  counts using the InitialInstanceCount values"; with ``RetainAllVariantProperties`` and no exclusion,
  "no variant properties are overridden", so the old count stayed and ``plan --refresh`` blamed an
  outside change; test ``tests/rollout/test_sagemaker_finish_count.py``). If the final config changes primary's instance type, the variant's
  scalable target is deregistered first and registered again after, as the AWS page above requires
  ("Before you update the endpoint, delete any scaling policies configured for it and deregister the
  variant [...]. After you update the endpoint, you can register the updated variant as a scalable
  target and attach a scaling policy"): see **A finish that moves autoscaling** below.
- **A finish that moves autoscaling** (issue 8: it must converge whatever instant the driver is
  killed at). The graph is the source of truth: :class:`EndpointTarget` carries the autoscaling the
  graph declares (:class:`DeclaredScaling`: ``RegisterScalableTarget`` min/max and
  ``PutScalingPolicy`` arguments), None when the endpoint is not autoscaled; then the finish makes
  no Application Auto Scaling call at all. With a declared autoscaling and an instance-type change:
  (1) read the live target (``DescribeScalableTargets``) and, if registered, its policies
  (``DescribeScalingPolicies``); (2) tag the endpoint ``mlops-infra:autoscaling:restore`` in the
  same ``AddTags`` that records what the move leaves unused (no extra call); (3)
  ``DeregisterScalableTarget``, which deletes the policies (botocore: "Deregistering a scalable
  target deletes the scaling policies and the scheduled actions that are associated with it"); (4)
  ``UpdateEndpoint``; (5) ``RegisterScalableTarget`` and ``PutScalingPolicy``; (6) delete the tag.
  What (1) read lives in memory only; the tag is what survives a kill. While it is on the endpoint,
  ``observe`` reports ``converged`` false (and the token includes it), so the reconciler decides
  ``finish`` again even when the status already says ``finished`` and the endpoint already runs the
  final config (without the tag, a finish killed after (4) would look settled and never be called
  again: the variant would stay without autoscaling, silently, while Pulumi's state believes it is
  there). A resumed finish on the final config reads the live target (and its policies, if
  registered), registers the declared target if none is, puts each declared policy that is missing,
  and deletes the tag; one still on the rollout config (killed after (3)) finds nothing registered
  and takes the normal path with the declared values. Both are safe to repeat: ``RegisterScalableTarget``
  "Registers or updates a scalable target" and ``PutScalingPolicy`` "Creates or updates a scaling
  policy" (botocore). **What is put back**: an uninterrupted finish puts back what it read live
  (min/max and every policy, so limits or a policy tuned by hand survive, as they would a ``pulumi
  up`` without refresh), plus any declared policy missing from it; after a kill between (3) and (5)
  the live values are gone, and the declared ones are used. The scheduled actions that deregistering
  also deletes are not put back (the compiler declares none). The same tag also records the
  rollout's suspension of scale-in (next item); one ``DeleteTags`` ends both. A finish of an endpoint
  the graph does not autoscale makes no Application Auto Scaling call of its own.
- **The stable fleet during a rollout** (the stable fleet keeps its instances until the finish, so a
  rollback is instant: ``rollout/schedule.py``). ``primary``'s target tracking
  policy keeps running while traffic moves to ``canary``: as primary's weight drops, its per-instance
  metric (``SageMakerVariantInvocationsPerInstance``, ``...ConcurrentRequestsPerModelHighResolution``)
  falls and the policy removes instances (botocore
  ``TargetTrackingScalingPolicyConfiguration.DisableScaleIn``: unless set, the policy "can remove
  capacity from the scalable target"). So, when the graph declares autoscaling (:class:`DeclaredScaling`)
  and the target is registered, the start suspends dynamic scale-in: ``RegisterScalableTarget`` with
  only the target's identity and ``SuspendedState`` (botocore: "To update a scalable target, specify
  the parameters that you want to change [...] Any parameters that you don't specify are not
  changed"; AWS "Suspend and resume scaling for Application Auto Scaling",
  https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-suspend-resume-scaling.html:
  with ``DynamicScalingInSuspended`` "Application Auto Scaling does not remove capacity when a target
  tracking scaling policy or a step scaling policy is triggered"). Scale-out and scheduled scaling go on;
  the call sends all three activities, the two others as read (``DescribeScalableTargets``), since
  whether an activity left out of ``SuspendedState`` keeps its value is not documented (each defaults
  to false, API reference ``SuspendedState``). The start tags the endpoint :data:`SCALING_TAG` in the
  ``AddTags`` that records what it leaves unused, then suspends, then updates the endpoint: a start
  killed in between is repeated by the next pass (the endpoint is not on the rollout config yet) and
  suspends again. A step of a rollout whose start did not suspend (``--resume`` of a rolled-back
  rollout reuses its canary variant: no start) suspends first and tags after, so a kill in between
  repeats it; a step with the tag on makes no Application Auto Scaling call. The suspension is lifted
  (``DynamicScalingInSuspended`` false, the other two as read) by the finish after its
  ``UpdateEndpoint`` (a finish that moves autoscaling registers the target anew instead: nothing
  suspended) and by the first settled pass after a rollback or an abort (:meth:`tidy`: InService, no
  traffic on the target version), each followed by deleting the tag; while the tag is on, the finish is
  not ``converged`` and is completed by the next pass, as above. The driver owns the suspension of
  scale-in during a rollout: one set by an operator before the start is lifted too. Known limit: AWS
  resumes by evaluating "policies with alarm thresholds that are currently in breach" (same page), and
  at the finish primary's metric still reflects the last step's share, so one scale-in may follow the
  lift until the metric shows the full traffic (then target tracking scales out again); the driver does
  not wait for the metric.
- A new config of the version already serving (``observe``: ``converged`` is whether the endpoint
  runs the graph's final config with no autoscaling left to put back) is landed the same way, at once: same model, nothing to canary.
- A start on an endpoint whose ``canary`` variant serves another version (a rolled-back one) builds
  a new rollout config: the new version never inherits the old canary's traffic.
- **What is kept, and when it goes.** Pulumi keeps the old model and config when a version replaces
  them (``retainOnDelete``, ``compile/aws/serving.py``), and the controller makes rollout configs;
  nothing else would delete them. Each time the driver moves the endpoint from a config A to a config
  B (the start: serving config -> rollout config; the finish: rollout config -> final config), it
  first tags the endpoint with what the move leaves unused: ``mlops-infra:kept:config:<A>`` and
  ``mlops-infra:kept:model:<m>`` for each model of A that B does not serve, valued with the target
  version (one tag per name: at most 50 tags per resource, botocore ``TagList``; a key of at most
  128 characters, ``TagKey``, which ``kept:`` + a 63-character name fits). :meth:`tidy` deletes them
  (``DeleteEndpointConfig``, ``DeleteModel``) once the endpoint is settled on the graph's final
  config with the target version ``finished``: those recorded by an earlier version at once (the
  next finished rollout), its own after ``keep_seconds`` from the finish (the rollback window: until
  then an operator can move the endpoint back to the previous config). It also acts once a rollback
  of the target version is settled (phase ``rolled_back``, or ``aborted``: ``--abort`` is the same
  ``rollback`` decision and ``act`` path, all weight back to ``primary``, canary kept, and the
  reconciler holds both at 0%; then no traffic left on it, InService, no autoscaling to put back): it
  deletes what earlier versions recorded, and keeps the rolled-back or aborted version's own entries
  until a later version's rollout (never on a timer: they are what an operator inspects), so
  consecutive rolled-back or aborted versions leave at most two versions' entries, not one more each
  (issue 8: otherwise the endpoint reaches its 50 tags and no rollout starts). Two moves that no
  settled pass follows are bounded in ``act`` itself, with the same deletion (what is in use is only
  untagged): a start deletes first the entries of every version other than the target and the
  revision of the status it replaces (as read before this pass wrote its own), so a version applied
  while another is still rolling out does not pile up the superseded rollouts' entries (the one it
  replaces keeps its own until a later start or a settled pass; a start killed after its status write
  and repeated counts as the target's own status, so the replaced version's entries go then too); and a
  move of the version already serving to a new config of it (the finish of a version that is the only
  one its config serves) first deletes what that version's earlier such moves recorded (its own model
  entries, and its config entries serving only it), so repeated config changes inside the rollback
  window keep one move's entries, not one more each. It compares like ``act``
  (consistent reads, same token, ``InService``: AWS says not to delete a config in use or while
  ``UpdateEndpoint`` runs, botocore ``DeleteEndpointConfig``), never deletes the endpoint's current
  config, its models, nor the graph's final config and model, deletes before it untags (a killed
  tidy deletes again; a name already gone counts as deleted), and only names the driver recorded.
  ``DeleteModel`` removes the model entry only, not its artifacts (botocore ``DeleteModel``).
  A kept model or config that the spec asks for again (the previous version set back: its compiled name is the
  kept one's) is adopted by ``mlops-infra apply`` into the Pulumi state, which untags its entry first
  (:func:`release_kept`, audit rolloutaws-7): from then on the state owns it and no pass deletes it.
  A settled rollback with :data:`SCALING_TAG` on, or whose canary still asks for more than one
  instance (**Rollback**), first lifts the suspension and shrinks the canary (see above) and deletes
  nothing in that pass; the next settled pass does.
- **How many tags.** The tag names, and the most tags this driver holds on one endpoint at once
  (``DRIVER_MAX_TAGS``: the status fields, the scaling tag and the kept entries, 17), are in
  ``mlops_infra/endpoint_tags.py``, which derives the number. Validation leaves that many of the
  endpoint's 50 tags free in an AWS environment with a canary endpoint (``spec/labels.py``), and the
  AWS provider ignores these tags (``ignoreTags``, ``compile/aws/provider.py``), so a ``pulumi
  refresh`` does not take them into the state and the next update of the endpoint's tags does not
  delete them.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mlops_infra.endpoint_tags import KEPT_TAG_PREFIX as KEPT_PREFIX
from mlops_infra.endpoint_tags import ROLLOUT_TAG_PREFIX as TAG_PREFIX
from mlops_infra.endpoint_tags import SCALING_TAG, from_tag_value, tag_value
from mlops_infra.rollout.model import NOTICE_PENDING, NOTICE_SENT, Decision, NotReady, Observed, RolloutStatus
from mlops_infra.rollout.runner import Lost, RollbackImpossible
from mlops_infra.rollout.schedule import IDLE_CANARY_INSTANCES, canary_instances

PRIMARY, CANARY = "primary", "canary"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
_VERSION = re.compile(r"-v(\d+)-[0-9a-z]+$")
_BUSY = ("in-progress", "in progress", "not in service", "updating")
KEEP_SECONDS = 24 * 3600
"""How long a finished version's predecessors are kept (the rollback window), by default."""
SETTLING = frozenset({"Updating", "SystemUpdating", "RollingBack"})
"""The endpoint statuses that end in ``InService`` by themselves (botocore ``DescribeEndpointOutput.EndpointStatus``:
``Updating``, an update "is executing"; ``SystemUpdating``, maintenance "until it has completed"; ``RollingBack``,
"Once the rollback completes, endpoint returns to an InService status"): a rollback decided meanwhile is recorded
at once and carried out by the first InService pass (see the contract, **A rollback while the endpoint updates**)."""
CLOCK_SKEW_SECONDS = 60
"""How much earlier than the status' ``since`` SageMaker's ``LastModifiedTime`` of a failed update may read (the
runner's clock against SageMaker's): the status is written just before the update call."""
FAILURE_REASON_MAX = 120
"""The most characters of a ``FailureReason`` quoted in a rollback's reason (as the KServe driver cuts Knative's
message, ``drivers/kserve.py`` ``WHY_MAX``): the status' reason is a tag value of at most 256."""
ROLLED_BACK = frozenset({"rolled_back", "aborted"})
"""The phases that settle with all traffic back on ``primary`` (a gate's rollback, the operator's abort)."""
SEARCH_PAGE = 100
"""Endpoints per ``Search`` page (botocore ``SearchRequest.MaxResults`` maximum)."""
_SUSPENDED_DEFAULTS = {"DynamicScalingInSuspended": False, "DynamicScalingOutSuspended": False,
                       "ScheduledScalingSuspended": False}
"""botocore ``SuspendedState``: each activity's default is false (AWS API reference, ``SuspendedState``)."""


class Crash(Exception):
    """Raised by the test hook ``crash_at``: the process died there."""


@dataclass(frozen=True)
class DeclaredScaling:
    """The Application Auto Scaling the graph declares for the ``primary`` variant, as API arguments:
    ``min_capacity`` / ``max_capacity`` for ``RegisterScalableTarget`` (``MinCapacity``,
    ``MaxCapacity``), ``policies`` as ``PutScalingPolicy`` arguments without the target's identity
    (``PolicyName``, ``PolicyType``, ``TargetTrackingScalingPolicyConfiguration``; botocore
    ``PutScalingPolicyRequest``). Made by ``compile/rollout_code.py`` (:func:`declared_autoscaling`
    there) from the graph's ``aws:appautoscaling`` target and policies."""

    min_capacity: int
    max_capacity: int
    policies: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_document(cls, entry: dict[str, Any] | None) -> DeclaredScaling | None:
        """From the ``autoscaling`` entry of the runner's document (None: not autoscaled)."""
        if not entry:
            return None
        target = entry["target"]
        return cls(int(target["MinCapacity"]), int(target["MaxCapacity"]), tuple(entry.get("policies") or ()))


@dataclass(frozen=True)
class EndpointTarget:
    """What the graph says about one endpoint's rollout (``graph.rollouts`` of an AWS endpoint), and
    the autoscaling it declares for the ``primary`` variant (None: not autoscaled)."""

    endpoint: str
    version: str
    final_config: str
    model: str
    autoscaling: DeclaredScaling | None = None
    config_prefix: str = ""
    """The compiler's name prefix of this endpoint's rollout configs (``configPrefix`` in ``rollouts.json``,
    ``compile/aws/rollout_runner.py`` ``config_prefix``, audit limits-3); "" (a document written before it
    was recorded): ``<endpoint>[:40]``, the rule of that release (:func:`rollout_config_prefix`)."""


def model_version(model_name: str) -> str | None:
    """The model version in a compiled model name (``...-v13-<hash>``), None if not one of ours."""
    match = _VERSION.search(model_name or "")
    return match.group(1) if match else None


def _error(exc: Exception) -> tuple[str, str]:
    error = (getattr(exc, "response", None) or {}).get("Error", {})
    return error.get("Code", ""), error.get("Message", str(exc))


class SageMakerDriver:
    def __init__(self, sagemaker: Any, target: EndpointTarget, *, autoscaling: Any = None,
                 crash_at: str | None = None, keep_seconds: float = KEEP_SECONDS) -> None:
        self.sm, self.target, self.autoscaling = sagemaker, target, autoscaling
        self.keep_seconds = keep_seconds
        self.crash_at = crash_at  # test hook: "status", "suspend", "traffic", "deregister" or "update" (die after)
        self._configs: dict[str, dict[str, Any]] = {}
        self._seen_canary: tuple[str, int] = ("", 0)  # (token, canary instances) of the last observation

    # -- observe -------------------------------------------------------------------------------------------------

    def _rollout_prefix(self) -> str:
        """This endpoint's rollout config names before the version (:func:`rollout_config_prefix`)."""
        return rollout_config_prefix(self.target.endpoint, self.target.config_prefix)

    def _config(self, name: str) -> dict[str, Any]:
        if name not in self._configs:  # endpoint configs are immutable: cache them
            self._configs[name] = self.sm.describe_endpoint_config(EndpointConfigName=name)
        return self._configs[name]

    def _read(self) -> tuple[dict[str, Any], list[dict[str, str]]]:
        """The endpoint and every one of its tags. ``ListTags`` is paged (botocore ``ListTags``:
        ``NextToken``, ``MaxResults`` of at least 50) and one endpoint can hold more than a page: 50
        tags of its own plus the ``aws:`` ones AWS adds (CloudFormation's, Service Catalog's), which do
        not count against the 50 (AWS docs, Tag restrictions). The driver's tags, added last, are then
        on a later page (a test runs a rollout on such an endpoint)."""
        return read_endpoint(self.sm, self.target.endpoint)

    def observe(self) -> Observed:
        endpoint, tags = self._read()
        return self._observed(endpoint, tags)

    @property
    def batch_key(self) -> tuple[str, int]:
        """Drivers with equal keys (the same client) can be observed together (:meth:`observe_many`)."""
        return ("sagemaker", id(self.sm))

    def observe_many(self, drivers: Sequence[SageMakerDriver]) -> list[Observed | Callable[[], Observed] | None]:
        """The observations of ``drivers`` (sharing this driver's client) from ``Search`` pages (see the
        contract): per driver an :class:`Observed`; a callable that completes it (its config must be
        described); or None when ``Search`` did not return the endpoint (observe it alone)."""
        records = search_endpoints(self.sm, [d.target.endpoint for d in drivers])
        out: list[Observed | Callable[[], Observed] | None] = []
        for driver in drivers:
            record = records.get(driver.target.endpoint)
            if record is None or not record.get("EndpointArn") or not record.get("EndpointConfigName"):
                out.append(None)
                continue
            tags = record.get("Tags") or []
            known = driver._known_versions(record, _fields(tags))
            out.append(driver._observed(record, tags, known) if known is not None else
                       (lambda d=driver, r=record, t=tags: d._observed(r, t)))
        return out

    def _known_versions(self, endpoint: dict[str, Any], fields: dict[str, str]) -> dict[str, str | None] | None:
        """Variant -> model version of the endpoint's config when known without describing it (see the
        contract), else None."""
        name, version = endpoint.get("EndpointConfigName", ""), self.target.version
        if name == self.target.final_config and model_version(self.target.model) == version:
            return {PRIMARY: version}
        status = RolloutStatus.from_fields(fields)
        if (status is not None and status.revision == version and status.previous
                and name.startswith(f"{self._rollout_prefix()}{version}-")):
            return {PRIMARY: status.previous, CANARY: version}
        return None

    def _versions(self, endpoint: dict[str, Any], fields: dict[str, str]) -> dict[str, str | None]:
        known = self._known_versions(endpoint, fields)
        if known is not None:
            return known
        config = self._config(endpoint["EndpointConfigName"])
        return {v["VariantName"]: model_version(v.get("ModelName", "")) for v in config["ProductionVariants"]}

    def _observed(self, endpoint: dict[str, Any], tags: list[dict[str, str]],
                  versions: dict[str, str | None] | None = None) -> Observed:
        fields = _fields(tags)
        versions = versions if versions is not None else self._versions(endpoint, fields)
        weights = {v["VariantName"]: float(v.get("CurrentWeight") or 0.0) for v in endpoint.get("ProductionVariants", [])}
        stable = versions.get(PRIMARY)
        if CANARY in versions and versions[CANARY] == self.target.version:
            total = weights.get(PRIMARY, 0.0) + weights.get(CANARY, 0.0)
            percent = round(100 * weights.get(CANARY, 0.0) / total) if total else 0
        else:
            percent = 100 if stable == self.target.version else 0
        status, token = endpoint.get("EndpointStatus", ""), _token(endpoint, tags)
        self._seen_canary = (token, _canary_count(endpoint))
        stored = RolloutStatus.from_fields(fields)
        return Observed(revision=self.target.version, stable=stable, percent=percent, ready=status == "InService",
                        status=stored, token=token,
                        detail="" if status == "InService" else f"EndpointStatus {status}",
                        converged=endpoint["EndpointConfigName"] == self.target.final_config
                        and not _scaling_pending(tags),
                        kept=tuple(sorted(_kept(tags).values())),
                        not_ready=self._failed_update(endpoint, stored, versions.get(CANARY), percent))

    def _failed_update(self, endpoint: dict[str, Any], stored: RolloutStatus | None, canary: str | None,
                       percent: int) -> NotReady | None:
        """The rollout's own update that SageMaker could not carry out, as ``Observed.not_ready`` (``failed``
        true, the endpoint ``ready``; see the contract, **A failed update**): ``revision`` the config the endpoint
        is on, ``why`` the ``FailureReason`` (cut), ``since`` its ``LastModifiedTime``. None unless the endpoint
        is InService with a ``FailureReason``, the stored status is the target version's ``progressing`` or
        ``finished``, the failure is not older than that status (``LastModifiedTime``, when the record has one,
        not before ``since``), and the endpoint is not where that status's own update put it: ``progressing``,
        not at the start's result (its ``canary`` on the target version at 0 % at step 1, which the next pass
        moves to the step's share); ``finished``, still on the rollout config (``canary`` on the target
        version). The step's share is the reconciler's to compare (``rollout/reconcile.py`` rule 2)."""
        reason = " ".join(str(endpoint.get("FailureReason") or "").split())
        if (not reason or endpoint.get("EndpointStatus") != "InService" or stored is None
                or stored.revision != self.target.version or stored.phase not in ("progressing", "finished")):
            return None
        modified = _epoch(endpoint.get("LastModifiedTime"))
        if modified is not None and modified < stored.since - CLOCK_SKEW_SECONDS:
            return None  # an earlier update's failure: this status's update did not fail (or was never made)
        on_target = canary == self.target.version
        if stored.phase == "finished" and not on_target:
            return None  # the finish landed (or a config of the serving version is being landed)
        if stored.phase == "progressing" and on_target and stored.step == 0 and percent == 0:
            return None  # the start's own result: the rollout config, the canary at 0 %
        cut = reason if len(reason) <= FAILURE_REASON_MAX else reason[:FAILURE_REASON_MAX - 3] + "..."
        return NotReady(endpoint.get("EndpointConfigName", ""), failed=True, since=modified, why=cut)

    # -- act -------------------------------------------------------------------------------------------------------

    def act(self, decision: Decision, observed: Observed, now: float) -> None:
        endpoint, tags = self._read()
        fields = _fields(tags)
        status_only = decision.action == "record" and decision.percent is None  # see the contract
        state = endpoint.get("EndpointStatus")
        settling = decision.action == "rollback" and state in SETTLING  # see **A rollback while the endpoint updates**
        if (state != "InService" and not status_only and not settling) or _token(endpoint, tags) != observed.token:
            raise Lost("the endpoint changed since it was observed")
        self._write_status(endpoint["EndpointArn"], decision.status, fields)
        self._crash("status")
        if settling:
            raise Lost(f"the rollback is recorded; the endpoint is {state}: the first pass that finds it InService "
                       "moves the traffic back")
        try:
            if decision.action == "rollback" and observed.percent:
                if self._versions(endpoint, fields).get(CANARY) == self.target.version:
                    self._weights(endpoint, 0)
                else:  # the finish landed (no canary): back to the rollout config it left, see **Races**
                    self._roll_back_finish(endpoint, tags, fields)
                self._write_status(endpoint["EndpointArn"], decision.status, {})  # again: see **Races**
            elif decision.action == "finish":
                self._finish(endpoint, tags)
            elif decision.action == "set_traffic" and decision.percent is not None:
                self._traffic(endpoint, tags, fields, decision.percent)
        except Lost:
            if decision.action == "rollback":
                self._tell_lost_rollback(decision, now)
            else:
                self._yield_to_rollback(decision, observed, now)
            raise
        if decision.action == "record" and decision.percent:
            self._yield_to_rollback(decision, observed, now)
        self._crash("traffic")

    def _yield_to_rollback(self, decision: Decision, observed: Observed, now: float) -> None:
        """After this pass moved the status forward (a step, its record, the finish) and either lost its traffic
        call or only recorded: when a concurrent pass is moving all traffic back to ``primary`` (its weights,
        as SageMaker now applies them, give the target version 0 % where this pass observed more) while the
        stored status still says ``progressing`` or ``finished``, this pass's status write overwrote that
        rollback's: write it again (see the contract, **Races**). Which rollback it was is told by the ``notice``
        tag this pass's write left alone (:func:`overwritten_rollback`): a gate's rollback is ``rolled_back`` with
        its notice kept, so the scheduled runner still tells its channels; an ``--abort`` is ``aborted``, saying
        that the operator's abort moved the traffic back."""
        if not observed.percent or decision.status is None or decision.status.phase not in ("progressing", "finished"):
            return
        endpoint, tags = self._read()
        fields = _fields(tags)
        stored = RolloutStatus.from_fields(fields)
        if (stored is None or stored.revision != self.target.version or stored.phase not in ("progressing", "finished")
                or self._moving_share(endpoint, fields) != 0):
            return
        phase, notice = overwritten_rollback(fields)
        at = observed.status.step + 1 if observed.status is not None else stored.step + 1
        who = "aborted by the operator" if phase == "aborted" else "rolled back by a concurrent pass (a gate)"
        reason = (f"{who} at step {at} ({observed.percent}% on version {stored.revision}): all traffic moved back to "
                  f"version {stored.previous or observed.stable}; recorded again after a concurrent pass moving the "
                  f"version on ({decision.action}) overwrote the status")
        self._write_status(endpoint["EndpointArn"], stored.evolve(phase=phase, reason=reason, since=now, notice=notice),
                           fields)

    def _tell_lost_rollback(self, decision: Decision, now: float) -> None:
        """After this pass wrote a rollback (``--abort``, a gate's) and lost its traffic call: read back what the
        endpoint serves and, when a concurrent finish won (the endpoint is on, or moving to, the graph's final
        config, so the target version gets 100 %), say so in the stored status: it keeps its rolled-back phase
        (the next pass carries it out, :meth:`_roll_back_finish`) and its reason tells the truth meanwhile
        (audit closing-37b-7; see the contract, **Races**)."""
        if decision.status is None:
            return
        endpoint, tags = self._read()
        fields = _fields(tags)
        stored = RolloutStatus.from_fields(fields)
        if (stored is None or stored.revision != self.target.version or stored.phase not in ROLLED_BACK
                or endpoint.get("EndpointConfigName") != self.target.final_config):
            return
        reason = (f"{stored.reason}; the {stored.phase.replace('_', ' ')} rollback lost to a concurrent finish: "
                  f"version {stored.revision} serves all traffic on {self.target.final_config} until the next pass "
                  f"moves it back to version {stored.previous or '(the previous one)'}")
        self._write_status(endpoint["EndpointArn"], stored.evolve(reason=reason, since=now), fields)

    def _roll_back_finish(self, endpoint: dict[str, Any], tags: list[dict[str, str]], fields: dict[str, str]) -> None:
        """Carry out a rolled-back or aborted status over an endpoint whose ``canary`` does not serve the target
        version (a finish won the race, audit closing-37b-7): ``UpdateEndpoint`` back to the target version's
        rollout config the finish left (its kept entry, ``primary`` on the status's ``previous`` version and
        ``canary`` on the target), with the weights of that config (``ExcludeRetainedVariantProperties``
        ``DesiredWeight``: all on ``primary``, the canary at 0) and, for an endpoint the graph does not autoscale,
        its counts (``DesiredInstanceCount``: the stable count the start recorded), as the finish does (botocore
        ``UpdateEndpointInput.ExcludeRetainedVariantProperties``). With no such config, or an autoscaled primary
        whose instance type would change (the update fails: AWS "Update or delete endpoints that use auto
        scaling"), raises :class:`RollbackImpossible` saying what to do instead of moving nothing."""
        stored = RolloutStatus.from_fields(fields)
        previous = stored.previous if stored is not None else ""
        prefix = f"{self._rollout_prefix()}{self.target.version}-"
        back = None
        for kind, name, _version in sorted(_kept(tags).values()):
            if kind != "config" or not name.startswith(prefix):
                continue
            try:
                variants = {v["VariantName"]: model_version(v.get("ModelName", ""))
                            for v in self._config(name)["ProductionVariants"]}
            except Exception as exc:
                if "could not find" not in _error(exc)[1].lower():
                    raise
                continue
            if variants == {PRIMARY: previous, CANARY: self.target.version}:
                back = name
        serving = endpoint.get("EndpointConfigName", "")
        where = (f"version {self.target.version} serves all traffic on endpoint {self.target.endpoint} "
                 f"({serving}) while its rollout status says {stored.phase if stored else 'rolled back'}")
        fix = (f"to roll back, set version {previous or '(the previous one)'} again in the spec and apply it (a new "
               f"rollout); to keep version {self.target.version} (a concurrent finish landed it), run `mlops-infra rollout` "
               "with `--resume`")
        if back is None:
            raise RollbackImpossible(f"{where}, and the rollout config it was rolled out from is gone: "
                                     "the driver cannot move the traffic back", self._split(endpoint, fields), fix)
        if self._declared() is not None and _primary_type(self._config(serving)) != _primary_type(self._config(back)):
            raise RollbackImpossible(f"{where}, and moving back to {back} changes the autoscaled primary "
                                     "variant's instance type, which SageMaker refuses", self._split(endpoint, fields),
                                     fix)
        excluded = ["DesiredWeight"] if self.target.autoscaling is not None else ["DesiredWeight", "DesiredInstanceCount"]
        self._update(EndpointName=self.target.endpoint, EndpointConfigName=back, RetainAllVariantProperties=True,
                     ExcludeRetainedVariantProperties=[{"VariantPropertyType": kind} for kind in excluded])

    def _split(self, endpoint: dict[str, Any], fields: dict[str, str]) -> str:
        """The traffic as ``endpoint`` serves it, for a message: each variant's model version and share of the
        weights (``ProductionVariantSummary.CurrentWeight``; traffic splits by weight), ``primary`` first, and the
        config, e.g. ``version 13 100% (primary) on scorer-cfg-v13``."""
        versions = self._versions(endpoint, fields)
        weights = {v["VariantName"]: float(v.get("CurrentWeight") or 0.0) for v in endpoint.get("ProductionVariants", [])}
        total = sum(weights.values())
        parts = [f"version {versions.get(name) or '(unknown)'} {round(100 * weight / total) if total else 0}% ({name})"
                 for name, weight in sorted(weights.items(), key=lambda item: (item[0] != PRIMARY, item[0]))]
        return f"{', '.join(parts) or 'no variants'} on {endpoint.get('EndpointConfigName', '(no config)')}"

    def _moving_share(self, endpoint: dict[str, Any], fields: dict[str, str]) -> int | None:
        """The target version's share of traffic the endpoint is moving to: each variant's ``DesiredWeight``
        (botocore ``ProductionVariantSummary``: "The requested weight, as specified in the
        UpdateEndpointWeightsAndCapacities request"; ``CurrentWeight`` when absent); None when the canary
        variant does not serve the target version."""
        if self._versions(endpoint, fields).get(CANARY) != self.target.version:
            return None
        weights = {v["VariantName"]: float(v.get("DesiredWeight", v.get("CurrentWeight")) or 0.0)
                   for v in endpoint.get("ProductionVariants", [])}
        total = weights.get(PRIMARY, 0.0) + weights.get(CANARY, 0.0)
        return round(100 * weights.get(CANARY, 0.0) / total) if total else 0

    def _crash(self, point: str) -> None:
        if self.crash_at == point and point:
            raise Crash(f"killed right after the {point} write")

    def _traffic(self, endpoint: dict[str, Any], tags: list[dict[str, str]], fields: dict[str, str],
                 percent: int) -> None:
        if self._versions(endpoint, fields).get(CANARY) != self.target.version:  # no canary, or another version's
            stored = RolloutStatus.from_fields(fields)  # as read before this pass wrote the target's status
            keep = {self.target.version, stored.revision if stored is not None else self.target.version}
            self._delete_kept(endpoint, tags, lambda kind, name, version: version not in keep)  # superseded
            name, models = self._rollout_config(endpoint)
            live = self._scalable_target() if self._declared() is not None else None
            self._keep(endpoint, models, scaling=live is not None)  # the tag first: the suspension it records
            self._suspend_scale_in(live)
            self._update(EndpointName=self.target.endpoint, EndpointConfigName=name, RetainAllVariantProperties=True,
                         ExcludeRetainedVariantProperties=[{"VariantPropertyType": "DesiredWeight"}])
            return  # the endpoint is Updating now; the next pass sets the weights
        if percent and not _scaling_pending(tags) and self._declared() is not None:  # a resumed rollout
            live = self._scalable_target()
            if live is not None:
                self._suspend_scale_in(live)  # the suspension first, then the tag that records it
                self.sm.add_tags(ResourceArn=endpoint["EndpointArn"],
                                 Tags=[{"Key": SCALING_TAG, "Value": self.target.version}])
        self._weights(endpoint, percent)

    def _declared(self) -> DeclaredScaling | None:
        """The autoscaling the graph declares, None when there is none or no client to act on it."""
        return self.target.autoscaling if self.autoscaling is not None else None

    def _suspend_scale_in(self, live: dict[str, Any] | None) -> None:
        """Suspend dynamic scale-in of the registered target ``live`` (None: not registered, nothing to
        do) unless it is already, keeping its other suspended activities as they are (see the contract,
        **The stable fleet during a rollout**)."""
        state = (live or {}).get("SuspendedState") or {}
        if live is None or state.get("DynamicScalingInSuspended"):
            return
        self.autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker", ResourceId=live["ResourceId"], ScalableDimension=SCALABLE_DIMENSION,
            SuspendedState={**_SUSPENDED_DEFAULTS, **state, "DynamicScalingInSuspended": True})
        self._crash("suspend")

    def _resume_scale_in(self, live: dict[str, Any] | None) -> None:
        """Lift the suspension of dynamic scale-in of ``live`` (None: not registered), if suspended."""
        state = (live or {}).get("SuspendedState") or {}
        if live is None or not state.get("DynamicScalingInSuspended"):
            return
        self.autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker", ResourceId=live["ResourceId"], ScalableDimension=SCALABLE_DIMENSION,
            SuspendedState={**_SUSPENDED_DEFAULTS, **state, "DynamicScalingInSuspended": False})

    def _settle_scaling(self, endpoint: dict[str, Any]) -> None:
        """Put the primary variant's autoscaling back as the graph declares it, lift the suspension of
        its scale-in, then delete :data:`SCALING_TAG` (see the contract: a finish, a settled rollback)."""
        declared = self._declared()
        if declared is not None:
            live = self._scalable_target()
            self._reinstate(live, self._scaling_policies(live["ResourceId"]) if live else [], declared,
                            register=live is None)
            self._resume_scale_in(live)
        self.sm.delete_tags(ResourceArn=endpoint["EndpointArn"], TagKeys=[SCALING_TAG])

    def _keep(self, endpoint: dict[str, Any], staying: set[str], *, scaling: bool = False) -> None:
        """Tag what moving off the endpoint's config leaves unused: the config, and its models not in
        ``staying`` (the models of the config moved to); with ``scaling``, also :data:`SCALING_TAG`
        (the autoscaling to put back, in the same call); see the module contract."""
        name = endpoint["EndpointConfigName"]
        models = {v.get("ModelName", "") for v in self._config(name)["ProductionVariants"]} - staying - {""}
        entries = [("config", name), *(("model", m) for m in sorted(models))]
        tags = [{"Key": f"{KEPT_PREFIX}{kind}:{n}", "Value": self.target.version} for kind, n in entries]
        if scaling:
            tags.append({"Key": SCALING_TAG, "Value": self.target.version})
        self.sm.add_tags(ResourceArn=endpoint["EndpointArn"], Tags=tags)

    def _weights(self, endpoint: dict[str, Any], percent: int) -> None:
        """Move the traffic to weights ``100-p`` / ``p`` in as few ``UpdateEndpointWeightsAndCapacities`` calls as
        the API allows, each setting the capacity of one variant at most (see the contract, **Traffic calls**;
        audit rolloutaws-2). ``primary``'s count is the larger of its current one and the stable count the
        rollout started with (the recorded one, read only when the graph autoscales the endpoint), so the canary
        follows a scale-out of primary (audit rolloutaws-5) and primary never stays below the fleet a rollback
        lands on:

        - a step (``p`` > 0) whose primary must grow first sets primary's count alone and returns: the endpoint
          is ``Updating`` until the instances run, and SageMaker refuses another update meanwhile, so the next
          pass, finding the step's status over the previous share, sets the step (``rollout/reconcile.py`` rule
          5); that is also when the canary is sized from primary's new count;
        - a step otherwise: one call, both weights and the canary's count (``ceil(p% x primary's count)``,
          ``canary_size.canary_instances``), so the canary has the capacity for its share when it takes it;
        - a rollback (``p`` = 0): one call, both weights and, only when it must grow, primary's count (all
          traffic back on the fleet the rollout started with, at once); the canary's count is left as it is
          (it serves nothing; the settled pass shrinks it, **Rollback**)."""
        variants = {v["VariantName"]: v for v in endpoint["ProductionVariants"]}
        if CANARY not in variants or PRIMARY not in variants:
            raise RollbackImpossible(f"endpoint {self.target.endpoint} ({endpoint.get('EndpointConfigName')}) has "
                                     f"no {CANARY} and {PRIMARY} variants to set traffic on", self._split(endpoint, {}),
                                     "run `mlops-infra rollout` again once it settles, or `--resume`")
        current = int(variants[PRIMARY].get("CurrentInstanceCount") or 1)
        recorded = _primary_count(self._config(endpoint["EndpointConfigName"])) if self._declared() else current
        primary_count = max(current, recorded)
        grow = {"DesiredInstanceCount": primary_count} if primary_count != current else {}
        if percent and grow:  # primary first, alone: the canary's count needs a call of its own
            self._set_capacities([{"VariantName": PRIMARY, **grow}])
            return
        canary = {"DesiredInstanceCount": canary_instances(percent, primary_count)} if percent else {}
        self._set_capacities([{"VariantName": PRIMARY, "DesiredWeight": float(100 - percent), **({} if percent else grow)},
                              {"VariantName": CANARY, "DesiredWeight": float(percent), **canary}])

    def _set_capacities(self, entries: list[dict[str, Any]]) -> None:
        """One ``UpdateEndpointWeightsAndCapacities`` of ``entries`` (``DesiredWeightAndCapacity``), never with a
        ``DesiredInstanceCount`` for two variants (botocore: "weight of one or more variants [...], or capacity of
        one variant"): a driver bug otherwise, refused here before SageMaker sees it."""
        if sum("DesiredInstanceCount" in entry for entry in entries) > 1:
            raise AssertionError("this is a bug in mlops-infra: UpdateEndpointWeightsAndCapacities sets the capacity "
                                 f"of one variant, not of {[e['VariantName'] for e in entries]}")
        self._call(self.sm.update_endpoint_weights_and_capacities, EndpointName=self.target.endpoint,
                   DesiredWeightsAndCapacities=entries)

    def _rollout_config(self, endpoint: dict[str, Any]) -> tuple[str, set[str]]:
        """The rollout config for this endpoint now (created if missing) and the models it serves."""
        current = self._config(endpoint["EndpointConfigName"])
        primary = next(v for v in current["ProductionVariants"] if v["VariantName"] == PRIMARY)
        count = next((int(v.get("CurrentInstanceCount") or 1) for v in endpoint["ProductionVariants"]
                      if v["VariantName"] == PRIMARY), 1)
        final = self._config(self.target.final_config)
        new = next(v for v in final["ProductionVariants"] if v["VariantName"] == PRIMARY)
        canary = {**new, "VariantName": CANARY, "InitialInstanceCount": 1, "InitialVariantWeight": 0.0}
        variants = [{**primary, "InitialInstanceCount": count}, canary]
        digest = hashlib.sha256(repr((variants, self.target.version)).encode()).hexdigest()[:8]
        name = f"{self._rollout_prefix()}{self.target.version}-{digest}"[:63]
        extra = {k: final[k] for k in ("DataCaptureConfig", "KmsKeyId") if final.get(k)}
        try:
            self.sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=variants, **extra)
        except Exception as exc:
            if "already exist" not in _error(exc)[1]:
                raise
        return name, {v.get("ModelName", "") for v in variants}

    def _finish(self, endpoint: dict[str, Any], tags: list[dict[str, str]]) -> None:
        """Land the graph's final config (see the contract, **Finish** and **A finish that moves autoscaling**).
        The count stays live only for an endpoint the graph autoscales; any other takes the config's
        ``InitialInstanceCount`` (``DesiredInstanceCount`` excluded from what is retained)."""
        declared = self._declared()
        if endpoint["EndpointConfigName"] == self.target.final_config:
            if _scaling_pending(tags):  # a finish killed before it put autoscaling back or lifted the suspension
                self._settle_scaling(endpoint)
            return  # completed by an earlier pass
        after = self._config(self.target.final_config)
        moves = declared is not None and _primary_type(self._config(endpoint["EndpointConfigName"])) != \
            _primary_type(after)
        live = self._scalable_target() if moves else None
        kept = self._scaling_policies(live["ResourceId"]) if live is not None else []
        if set(self._versions(endpoint, _fields(tags)).values()) == {self.target.version}:  # the serving version
            earlier = self._serving_entries(tags)
            self._delete_kept(endpoint, tags, lambda kind, name, version: (kind, name) in earlier)
        self._keep(endpoint, {v.get("ModelName", "") for v in after["ProductionVariants"]}, scaling=moves)
        if live is not None:
            self.autoscaling.deregister_scalable_target(ServiceNamespace="sagemaker", ResourceId=live["ResourceId"],
                                                        ScalableDimension=SCALABLE_DIMENSION)
            self._crash("deregister")
        excluded = ["DesiredWeight"] if self.target.autoscaling is not None else ["DesiredWeight", "DesiredInstanceCount"]
        self._update(EndpointName=self.target.endpoint, EndpointConfigName=self.target.final_config,
                     RetainAllVariantProperties=True,
                     ExcludeRetainedVariantProperties=[{"VariantPropertyType": kind} for kind in excluded])
        self._crash("update")
        if moves and declared is not None:
            self._reinstate(live, kept, declared, register=True)  # registered anew: nothing suspended
            self.sm.delete_tags(ResourceArn=endpoint["EndpointArn"], TagKeys=[SCALING_TAG])
        elif _scaling_pending(tags):  # the rollout's suspension of scale-in: lifted now
            self._settle_scaling(endpoint)

    def _serving_entries(self, tags: list[dict[str, str]]) -> set[tuple[str, str]]:
        """What the target version's earlier moves of the serving version recorded: its kept entries of
        the target version itself, a model of that version or a config serving only that version (not
        its rollout config, nor what its start and finish left: those serve the previous versions). A
        config already gone counts as one."""
        found = set()
        for kind, name, version in _kept(tags).values():
            if version != self.target.version or name.startswith(self._rollout_prefix()):
                continue
            if kind == "model":
                if model_version(name) == self.target.version:
                    found.add((kind, name))
                continue
            try:
                models = {v.get("ModelName", "") for v in self._config(name)["ProductionVariants"]}
            except Exception as exc:
                if "could not find" not in _error(exc)[1].lower():
                    raise
                models = set()
            if {model_version(m) for m in models} <= {self.target.version}:
                found.add((kind, name))
        return found

    def _reinstate(self, live: dict[str, Any] | None, policies: list[dict[str, Any]], declared: DeclaredScaling,
                   *, register: bool) -> None:
        """Register the primary variant's target (with ``register``: the live min/max read before, else
        the declared ones) and put ``policies`` (read live, put again only when ``register``) and each
        declared policy whose name is not among them (both calls are upserts: see the contract)."""
        where = {"ServiceNamespace": "sagemaker", "ResourceId": primary_resource(self.target.endpoint),
                 "ScalableDimension": SCALABLE_DIMENSION}
        if register:
            low, high = (live["MinCapacity"], live["MaxCapacity"]) if live is not None else \
                (declared.min_capacity, declared.max_capacity)
            self.autoscaling.register_scalable_target(**where, MinCapacity=low, MaxCapacity=high)
        names = {p["PolicyName"] for p in policies}
        for policy in [*(policies if register else []), *(p for p in declared.policies if p["PolicyName"] not in names)]:
            self.autoscaling.put_scaling_policy(**where, **policy)

    # -- tidy ------------------------------------------------------------------------------------------------------

    def tidy(self, observed: Observed, now: float) -> tuple[str, ...]:
        """Delete the kept configs and models that are due (see the module contract: after a finish, or
        after a settled rollback or abort); returns what was deleted, as ``config/<name>`` and ``model/<name>``.
        Calls nothing unless something is due; on a settled rollback whose ``canary`` asks for more than
        :data:`IDLE_CANARY_INSTANCES`, or with :data:`SCALING_TAG` on, it instead shrinks the canary
        (**Rollback**) and lifts the suspension of scale-in (**The stable fleet during a rollout**), and
        deletes nothing in that pass."""
        status = observed.status
        if status is None or status.revision != self.target.version or not observed.ready:
            return ()
        if status.phase == "finished":
            if not observed.converged:
                return ()
        elif status.phase not in ROLLED_BACK or observed.percent != 0:
            return ()  # a rollback (or an abort) is settled once no traffic is left on the target version
        elif self._idle_canary(observed) or _pending_in(observed.token):
            # a settled rollback: the kept canary down to one instance, the rollout's suspension of scale-in lifted
            endpoint, tags = self._read()
            if endpoint.get("EndpointStatus") != "InService" or _token(endpoint, tags) != observed.token:
                return ()  # changed since observed: the next pass looks again
            self._shrink_idle_canary(endpoint)
            if _pending_in(observed.token):
                self._settle_scaling(endpoint)
            return ()  # the next settled pass deletes what is due
        if not observed.kept or not [k for k in observed.kept if self._due(k[2], status, now)]:
            return ()
        endpoint, tags = self._read()
        if (endpoint.get("EndpointStatus") != "InService" or _token(endpoint, tags) != observed.token
                or _scaling_pending(tags)):
            return ()  # changed since observed: the next pass looks again
        return tuple(self._delete_kept(endpoint, tags, lambda kind, name, version: self._due(version, status, now)))

    def _idle_canary(self, observed: Observed) -> bool:
        """Whether ``observed`` (this driver's last observation) saw a ``canary`` variant asking for more
        than :data:`IDLE_CANARY_INSTANCES`."""
        token, count = self._seen_canary
        return token == observed.token and count > IDLE_CANARY_INSTANCES

    def _shrink_idle_canary(self, endpoint: dict[str, Any]) -> None:
        """Set the ``canary`` variant of a settled rollback (``endpoint``: read and compared like ``act``)
        to :data:`IDLE_CANARY_INSTANCES` (see the contract, **Rollback**), only while the variant has no
        weight, so it serves nothing: one variant's capacity in the call, its weight sent as it is (0)."""
        canary = _variant(endpoint, CANARY)
        if (canary is None or float(canary.get("CurrentWeight") or 0.0) != 0.0
                or _canary_count(endpoint) <= IDLE_CANARY_INSTANCES):
            return
        self._set_capacities([{"VariantName": CANARY, "DesiredWeight": 0.0, "DesiredInstanceCount": IDLE_CANARY_INSTANCES}])

    def _delete_kept(self, endpoint: dict[str, Any], tags: list[dict[str, str]],
                     due: Callable[[str, str, str], bool]) -> list[str]:
        """Delete the kept entries ``due(kind, name, version)`` selects, then untag them: never the
        endpoint's current config, its models, nor the graph's final config and model (an entry naming
        one of those is only untagged: in use again, no longer kept). Returns what was deleted."""
        in_use = {("config", self.target.final_config), ("model", self.target.model),
                  *config_uses(endpoint["EndpointConfigName"], self._config)}
        deleted, untag = [], []
        for key, (kind, resource, version) in sorted(_kept(tags).items()):
            if not due(kind, resource, version):
                continue
            if (kind, resource) not in in_use:
                self._delete(kind, resource)
                deleted.append(f"{kind}/{resource}")
            untag.append(key)  # in use again: no longer kept
        if untag:
            self.sm.delete_tags(ResourceArn=endpoint["EndpointArn"], TagKeys=untag)
        return deleted

    def _due(self, version: str, status: RolloutStatus, now: float) -> bool:
        """Whether a kept entry left by ``version`` may go: an earlier version's at once; the target
        version's own after ``keep_seconds`` from its finish, never while it is rolled back or aborted
        (the operator may be inspecting it: the next version's rollout or finish deletes it)."""
        if version != self.target.version:
            return True
        return status.phase == "finished" and now >= status.since + self.keep_seconds

    def _delete(self, kind: str, name: str) -> None:
        delete_kept_entry(self.sm, kind, name)

    def _scaling_policies(self, resource_id: str) -> list[dict[str, Any]]:
        """The target's scaling policies as PutScalingPolicy arguments: deregistering a scalable target
        deletes its scaling policies (botocore ``DeregisterScalableTarget``: "Deregistering a scalable
        target deletes the scaling policies and the scheduled actions that are associated with it"), so
        they are read first and put back after the target is registered again."""
        found = self.autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource_id,
                                                           ScalableDimension=SCALABLE_DIMENSION)
        keys = ("PolicyName", "PolicyType", "TargetTrackingScalingPolicyConfiguration",
                "StepScalingPolicyConfiguration")
        return [{k: p[k] for k in keys if k in p} for p in found.get("ScalingPolicies", [])]

    def _scalable_target(self) -> dict[str, Any] | None:
        if self.autoscaling is None:
            return None
        found = self.autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker",
                                                           ResourceIds=[primary_resource(self.target.endpoint)],
                                                           ScalableDimension=SCALABLE_DIMENSION)
        return (found.get("ScalableTargets") or [None])[0]

    def _update(self, **kwargs: Any) -> None:
        self._call(self.sm.update_endpoint, **kwargs)

    def _call(self, operation: Any, **kwargs: Any) -> None:
        try:
            operation(**kwargs)
        except Exception as exc:
            code, message = _error(exc)
            if code == "ValidationException" and any(word in message.lower() for word in _BUSY):
                raise Lost(message) from exc
            raise

    def _write_status(self, arn: str, status: RolloutStatus | None, stored: dict[str, str]) -> None:
        if status is None:
            return
        fields = status.to_fields()  # stored as tag values AWS takes (tag_value), read back by _fields
        self.sm.add_tags(ResourceArn=arn, Tags=[{"Key": TAG_PREFIX + k, "Value": tag_value(v)} for k, v in fields.items()
                                                if stored.get(k) != v])
        stale = [TAG_PREFIX + k for k in stored if k not in fields]
        if stale:
            self.sm.delete_tags(ResourceArn=arn, TagKeys=stale)


def overwritten_rollback(fields: dict[str, str]) -> tuple[str, str]:
    """The phase and notice of a rollback whose status a concurrent forward pass overwrote (``fields``: the stored
    status fields after that write; see the contract, **Races**): ``("rolled_back", notice)`` when a ``notice`` is
    left, else ``("aborted", "")``. Every rollback the controller makes on its own writes its notice (``pending``,
    ``rollout/runner.py`` ``announce``) and an ``--abort`` writes none; the forward pass compared a
    ``progressing`` status, which never keeps a ``notice`` (any later status write deletes it, ``_write_status``
    removes the keys it does not write), so its ``AddTags`` does not touch that key and ``DeleteTags`` only
    removes keys it had read: the key outlives the overwrite (botocore ``AddTags``: "Adds or overwrites one or
    more tags for the specified SageMaker resource", the keys it names only; ``DeleteTags``: "Deletes the
    specified tags")."""
    notice = fields.get("notice", "")
    if notice in (NOTICE_PENDING, NOTICE_SENT):
        return "rolled_back", notice
    return "aborted", ""


def rollout_config_prefix(endpoint: str, config_prefix: str = "") -> str:
    """The name prefix of this driver's rollout configs, before the version: ``<config_prefix>-rollout-v``,
    ``config_prefix`` being the compiler's (:attr:`EndpointTarget.config_prefix`, never recomputed here), or
    ``<endpoint>[:40]`` without one (``compile/aws/rollout_runner.py`` grants ``CreateEndpointConfig`` on
    these names only, and names the prefix the same for an endpoint name that fits in 40 characters)."""
    return f"{config_prefix or endpoint[:40]}-rollout-v"


def config_uses(config: str, describe: Callable[[str], dict[str, Any]]) -> set[tuple[str, str]]:
    """What an endpoint running ``config`` uses, as kept entries: ``("config", config)`` and
    ``("model", m)`` for the model of each of its variants (``describe``: DescribeEndpointConfig)."""
    return {("config", config), *(("model", v.get("ModelName", "")) for v in describe(config)["ProductionVariants"])}


def endpoint_uses(sm: Any, endpoint: str) -> set[tuple[str, str]]:
    """:func:`config_uses` of the config the endpoint named ``endpoint`` runs now (DescribeEndpoint's
    ``EndpointConfigName``); empty when SageMaker says there is no such endpoint (a ValidationException
    "Could not find endpoint", as for a model or config that is gone)."""
    try:
        config = sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    except Exception as exc:
        if "could not find" not in _error(exc)[1].lower():
            raise
        return set()
    return config_uses(config, lambda name: sm.describe_endpoint_config(EndpointConfigName=name))


def delete_kept_entry(sm: Any, kind: str, name: str) -> None:
    """``DeleteEndpointConfig`` (kind ``config``) or ``DeleteModel`` (``model``) of ``name``; one already
    gone ("Could not find") counts as deleted (a killed tidy, or an earlier pass, deleted it)."""
    try:
        if kind == "config":
            sm.delete_endpoint_config(EndpointConfigName=name)
        else:
            sm.delete_model(ModelName=name)
    except Exception as exc:
        if "could not find" not in _error(exc)[1].lower():
            raise


def read_endpoint(sm: Any, name: str) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """``DescribeEndpoint`` of the endpoint ``name`` and every one of its tags, from every ``ListTags`` page
    (:meth:`SageMakerDriver._read` says why a page may not hold them all)."""
    endpoint = sm.describe_endpoint(EndpointName=name)
    request = {"ResourceArn": endpoint["EndpointArn"]}
    tags: list[dict[str, str]] = []
    while True:
        page = sm.list_tags(**request)
        tags.extend(page.get("Tags", []))
        if not page.get("NextToken"):
            return endpoint, tags
        request["NextToken"] = page["NextToken"]


def kept_entries(sm: Any, endpoint: str) -> tuple[str, dict[str, tuple[str, str, str]]]:
    """(the ARN of the endpoint named ``endpoint``, its kept entries: tag key -> (kind, name, version that left
    it), see the module contract); ``("", {})`` when SageMaker has no such endpoint (a ValidationException
    "Could not find endpoint")."""
    try:
        found, tags = read_endpoint(sm, endpoint)
    except Exception as exc:
        if "could not find" not in _error(exc)[1].lower():
            raise
        return "", {}
    return found["EndpointArn"], _kept(tags)


def release_kept(sm: Any, endpoint: str, objects: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Untag the kept entries of ``endpoint`` that name one of ``objects`` (``(kind, name)``: ``config`` or
    ``model``) and return those that were kept: what a Pulumi state adopts (``apply/adoption.py``, audit
    rolloutaws-7) is no longer the driver's to delete. :meth:`SageMakerDriver.tidy` and the moves' own clean-up
    delete only what the endpoint's kept entries name (:meth:`SageMakerDriver._delete_kept` reads them with
    :func:`_kept`), so an entry untagged here is never deleted by any pass, whatever target it runs with (a
    runner still on the previous graph while ``pulumi up`` runs included). One ``DeleteTags`` of the keys read
    (botocore: "Deletes the specified tags"), nothing when none is kept; an endpoint SageMaker cannot find keeps
    nothing."""
    arn, kept = kept_entries(sm, endpoint)
    wanted = set(objects)
    keys = sorted(key for key, (kind, name, _version) in kept.items() if (kind, name) in wanted)
    if keys:
        sm.delete_tags(ResourceArn=arn, TagKeys=keys)
    return sorted({kept[key][:2] for key in keys})


def _kept(tags: list[dict[str, str]]) -> dict[str, tuple[str, str, str]]:
    """Tag key -> (kind, name, version that left it) of the kept-tags (see the module contract)."""
    out = {}
    for tag in tags:
        kind, _, name = tag["Key"][len(KEPT_PREFIX):].partition(":")
        if tag["Key"].startswith(KEPT_PREFIX) and kind in ("config", "model") and name:
            out[tag["Key"]] = (kind, name, tag.get("Value", ""))
    return out


def primary_resource(endpoint: str) -> str:
    """The Application Auto Scaling ``ResourceId`` of ``endpoint``'s ``primary`` variant (botocore
    ``RegisterScalableTargetRequest.ResourceId``: ``endpoint/<name>/variant/<variant>``)."""
    return f"endpoint/{endpoint}/variant/{PRIMARY}"


def _primary_count(config: dict[str, Any]) -> int:
    """The ``primary`` variant's ``InitialInstanceCount`` in ``config``: in a rollout config, the stable
    count its start recorded."""
    return next((int(v.get("InitialInstanceCount") or 1) for v in config["ProductionVariants"]
                 if v["VariantName"] == PRIMARY), 1)


def _variant(endpoint: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((v for v in endpoint.get("ProductionVariants") or [] if v.get("VariantName") == name), None)


def _canary_count(endpoint: dict[str, Any]) -> int:
    """The instances the endpoint's ``canary`` variant is asked to run (``DesiredInstanceCount``, else
    ``CurrentInstanceCount``; botocore ``ProductionVariantSummary``), 0 without one."""
    canary = _variant(endpoint, CANARY)
    if canary is None:
        return 0
    count = canary.get("DesiredInstanceCount")
    return int(count if count is not None else canary.get("CurrentInstanceCount") or 0)


def _primary_type(config: dict[str, Any]) -> str | None:
    return next((v.get("InstanceType") for v in config["ProductionVariants"] if v["VariantName"] == PRIMARY), None)


def _scaling_pending(tags: list[dict[str, str]]) -> bool:
    return any(t["Key"] == SCALING_TAG for t in tags)


def _epoch(stamp: Any) -> float | None:
    """A botocore timestamp (``datetime``; a number of epoch seconds from a stand-in) as epoch seconds; None
    when absent or neither."""
    if isinstance(stamp, datetime.datetime):
        return (stamp if stamp.tzinfo else stamp.replace(tzinfo=datetime.UTC)).timestamp()
    if isinstance(stamp, int | float) and not isinstance(stamp, bool):
        return float(stamp)
    return None


def _fields(tags: list[dict[str, str]]) -> dict[str, str]:
    """The status fields the endpoint's tags hold, as :meth:`RolloutStatus.to_fields` gave them (values stored
    through :func:`~mlops_infra.endpoint_tags.tag_value`: botocore ``TagValue``'s pattern refuses ``(``, ``)``,
    ``%``, quotes, which the reasons hold)."""
    return {t["Key"][len(TAG_PREFIX):]: from_tag_value(t["Value"]) for t in tags if t["Key"].startswith(TAG_PREFIX)}


def search_endpoints(sm: Any, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Name -> ``Search`` record (botocore ``Endpoint`` shape) of each of ``names`` that Search returns:
    one ``EndpointName Contains`` query per group of names sharing a first character (the group's
    common prefix), pages of :data:`SEARCH_PAGE`, sorted by name (see the module contract)."""
    wanted = set(names)
    groups: dict[str, list[str]] = {}
    for name in sorted(wanted):
        groups.setdefault(name[:1], []).append(name)
    found: dict[str, dict[str, Any]] = {}
    for group in groups.values():
        first, last = group[0], group[-1]  # sorted: their common prefix is the group's
        prefix = "".join(a for a, _ in itertools.takewhile(lambda pair: pair[0] == pair[1], zip(first, last, strict=False)))
        request: dict[str, Any] = {
            "Resource": "Endpoint", "MaxResults": SEARCH_PAGE, "SortBy": "EndpointName", "SortOrder": "Ascending",
            "SearchExpression": {"Filters": [{"Name": "EndpointName", "Operator": "Contains", "Value": prefix}]}}
        while True:
            page = sm.search(**request)
            for result in page.get("Results", []):
                record = result.get("Endpoint") or {}
                if record.get("EndpointName") in wanted:
                    found[record["EndpointName"]] = record
            token = page.get("NextToken")
            if not token:
                break
            request["NextToken"] = token
    return found


def _token(endpoint: dict[str, Any], tags: list[dict[str, str]]) -> str:
    """The concurrency token: the config name, the stored status and whether autoscaling is pending."""
    pending = _PENDING if _scaling_pending(tags) else ""
    return (endpoint.get("EndpointConfigName", "") + pending + "|"
            + "|".join(f"{k}={v}" for k, v in sorted(_fields(tags).items())))


_PENDING = "|scaling"


def _pending_in(token: str) -> bool:
    """Whether :func:`_token` made ``token`` with :data:`SCALING_TAG` on the endpoint (a config name
    holds no ``|``: botocore ``EndpointConfigName`` pattern)."""
    return token.split("|", 2)[1:2] == [_PENDING[1:]]
