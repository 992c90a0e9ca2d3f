"""Retrain gate: the source of the Lambda that starts a training pipeline at most once at a time.

This file is shipped as the Lambda's code (``retrain_gate.handler``, python3.12); the compiler reads
its text (:mod:`mlops_infra.compile.aws.gates`), mlops-infra never imports it at compile time.

Why (finding B11.2): SageMaker Pipelines has no limit on concurrent executions of one pipeline
(``ParallelismConfiguration`` bounds the steps of one execution only: "The max number of steps that
can be executed in parallel", botocore ``ParallelismConfiguration.MaxParallelExecutionSteps``), and
EventBridge starts a target on every ALARM transition, so a flapping alarm, or an alarm and the
schedule together, would start overlapping runs. The Kubernetes target starts a run only when none
is active (``compile/kubernetes/scripts/launcher.py``); this gate gives AWS the same meaning.

Contract of :func:`handler`:
- configuration: ``PIPELINE_NAME`` (environment);
- the event is the constant input its triggers send, ``{"triggeredBy": "schedule"}`` (the
  schedule) or ``{"triggeredBy": "alert:<alert>"}`` (the alarm rule's target); a raw "CloudWatch
  Alarm State Change" event (``alert:<alarm name>``) and anything else (``manual``) work too;
- it lists the pipeline's most recent executions (``ListPipelineExecutions`` sorted by
  ``CreationTime``, newest first) and, when one is ``Executing`` or ``Stopping``, starts nothing and
  says which; otherwise it starts one (``StartPipelineExecution`` with the ``TriggeredBy``
  parameter).

**Two triggers at once start one run, without a lock.** Lambda runs invocations of one function
side by side, so two triggers can both list no active run. The gate does not serialise them (a
reserved concurrency of 1 did, until a new AWS account, which keeps all of its reduced concurrency
unreserved, refused the reservation and so the first ``pulumi up``: see :mod:`gates`). It makes
their starts the same request instead: ``StartPipelineExecution``'s ``ClientRequestToken`` is "A
unique, case-sensitive identifier that you provide to ensure the idempotency of the operation. An
idempotent operation completes no more than once" (SageMaker API reference,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_StartPipelineExecution.html; botocore
``IdempotencyToken``: 32 to 128 characters). :func:`request_token` derives it from what the gate
saw: the pipeline (its name and ``CreationTime``, from ``DescribePipeline``: a pipeline deleted and
created again under the same name is a new one) and the newest execution listed (its ARN, which
ends in an id SageMaker draws for each execution). Two triggers that saw the same history send the
same token, so at most one run starts; once it is listed, the next trigger sees a new newest
execution, so a new token. A listing that lags a start (the token of the older history) meets the
same token again and starts nothing either. What SageMaker answers the second of two equal tokens
with different parameters (``TriggeredBy``) is not documented: when the start fails and a newer
execution than the one the gate saw is now listed, the gate reports that run as started by a
concurrent trigger instead of failing; any other failure is raised.

**A raised failure is retried by Lambda, not by EventBridge.** Schedules and alarm rules invoke the
gate asynchronously: their retry policies (botocore ``scheduler`` ``RetryPolicy``, ``events``
``Target.RetryPolicy``) cover the delivery of the event to Lambda, which accepts it at once; a
function error is Lambda's to retry, "two more times, with a one-minute wait between the first two
attempts, and two minutes between the second and third", after which the event is discarded unless
a destination keeps it ("How Lambda handles errors and retries with asynchronous invocation",
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html). Three minutes
heal a throttled call (``ThrottlingException``; botocore's own retries come first), but not
``ResourceLimitExceeded`` from ``StartPipelineExecution`` (SageMaker's quota on concurrent pipeline
executions of the account: the other pipelines' runs hold it for hours), and a longer
``maximumEventAgeInSeconds`` does not help: it bounds how long an event may wait in Lambda's queue
(throttled invocations, Lambda's own errors), not how often a function error is retried (at most 2,
botocore ``PutFunctionEventInvokeConfig``). So the gate's failed event is kept in its failure queue
(14 days) and its Errors alarm tells the job's people (``compile/aws/lambda_failures.py``,
``gates.py``); a redrive sends the record's ``requestPayload`` to the gate again, which still starts
nothing while a run is active.

**The inputs' contract is checked before a run starts** (finding contract-2). The reference says
"the contract is checked before a training job reads it", and a data source's ``contract.freshness``
is "Newest data must be at most this old" (``spec/data.py``). ``FRESHNESS`` (environment, written by
``gates.py``) is ``{"owner": <account>, "inputs": [[<data source>, <bucket>, <prefix>, <seconds>],
...]}``: each input of the job whose data source has a freshness. Before
``StartPipelineExecution`` (and after the active-run check: while a run is active nothing starts
anyway) :func:`check_freshness` reads each input's objects' ``LastModified`` ("Creation date of the
object", botocore ``s3`` ``Object``) through ``ListObjectsV2`` (``Prefix``, ``Delimiter``, ``MaxKeys``
1,000, ``ContinuationToken``/``NextContinuationToken`` until ``IsTruncated`` is false;
``ExpectedBucketOwner`` the account, so a bucket of that name in another account answers 403; botocore
``s3`` ``ListObjectsV2Request``/``ListObjectsV2Output``). The input is fresh when one object is at most
``<seconds>`` old: one such object proves it, whatever the others are. A folder marker is not data: a
key ending in ``/`` is what the S3 console's "Create folder" writes ("S3 creates a 0-byte object with a key
that's set to the folder name that you provided ... the Amazon S3 console creates a 0-byte object with the
key photos/"; "The Amazon S3 console treats all objects that have a forward slash (/) character as the last
(trailing) character in the key name as a folder": S3 User Guide, "Organizing objects in the Amazon S3
console by using folders", https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-folders.html), so
a partition folder made before its data arrived passed the freshness with no data (audit datasources-5).
Hadoop's S3 file systems (EMRFS ``s3://``, ``s3n://``) mark a folder the other way: a 0-byte key
``<folder>_$folder$`` beside it (Apache Hadoop ``hadoop-tools/hadoop-aws/.../fs/s3native/NativeS3FileSystem.java``:
``FOLDER_SUFFIX = "_$folder$"``, ``mkdir`` does ``store.storeEmptyFile(pathToKey(f) + FOLDER_SUFFIX)`` and
``listStatus`` reads such a key as a directory; AWS Knowledge Center "emr-s3-empty-files": "The "_$folder$"
files are placeholders. Apache Hadoop creates these files when you use the -mkdir command to create a folder
in an S3 bucket"). A Spark or Hive job on EMR making ``dt=2026-12-06/`` writes ``dt=2026-12-06_$folder$``
before (or without) any data; with ``Delimiter`` ``/`` it is an object of the level above, so it too passed
the freshness over stale data (audit closing-36b-3). Both shapes are folder markers
(:func:`is_folder_marker`, the one definition of a marker in mlops-infra: ``promote/digests.py`` uses it,
and the training runtime, shipped apart from mlops-infra, holds the same suffixes,
``examples/runtime/mlops_entry/objects.py``, checked equal by a test). Such keys are listed (and counted as listed) but are never the newest object, as the SageMaker Python SDK
skips them when it downloads a prefix (``sagemaker-core/src/sagemaker/core/common_utils.py``
``_download_files_under_prefix``: "if obj_sum is a folder object skip it").

**Nor is a 0-byte object, a commit marker, or a job's uncommitted output** (:func:`holds_data`).
A writer that fails after creating its file leaves an empty ``part-0000.parquet`` (an object of ``Size``
0, botocore ``s3`` ``Object.Size``; audit stop-36 datasources, item 2). ``_SUCCESS`` is the marker
Hadoop's ``FileOutputCommitter`` (and so Spark) creates in the output folder in ``commitJob`` when
``mapreduce.fileoutputcommitter.marksuccessfuljobs`` is true, its default, whatever the output holds
(Apache Hadoop, class ``org.apache.hadoop.mapreduce.lib.output.FileOutputCommitter``: ``SUCCEEDED_FILE_NAME = "_SUCCESS"``,
``fs.create(markerPath).close()``): it says a job committed, not that it wrote data, so a fresh
``_SUCCESS`` over old files is a job that committed no new data (an ingest of an empty day), and it
is never data, whatever its size (audit closing-37a-6; a rewrite of the files cannot keep their dates:
S3 has no in-place rewrite, every PUT or CopyObject makes a new object, whose ``LastModified`` is its
"Creation date"). A job's output not committed yet lies in folders below the output: the
``FileOutputCommitter``'s ``PENDING_DIR_NAME = "_temporary"`` ("Name of directory where pending data is
placed. Data that has not been committed yet", same file), the S3A committers' ``__magic`` folder
(``hadoop-aws`` ``CommitConstants.MAGIC_DIR_NAME = "__magic"``, where tasks leave their ``.pending`` files),
and Spark's staging folder for a dynamic partition overwrite (class ``org.apache.spark.internal.io.HadoopMapReduceCommitProtocol``:
``stagingDir = new Path(path, ".spark-staging-" + jobId)``). A job killed before ``commitJob`` leaves
non-empty part files of today there, which readers of the data source never read (Hadoop's
``FileInputFormat`` hidden-file filter and pyarrow's dataset discovery skip every path segment starting
with ``_`` or ``.``; the training runtime's download of an input, ``examples/runtime/mlops_entry/objects.py``
``download_prefix``, skips them, with the same :data:`UNCOMMITTED_FOLDERS`, checked equal by a test): counted, they passed the
freshness over old data (audit closing-37a-2). A key with such a folder below the input's prefix is
uncommitted (:func:`is_uncommitted`), and the newest-partition search never descends into one. All these
keys are listed (and counted as listed) but never the newest. Keys are listed in key order (UTF-8 binary), not by
time, so the search is in two steps:

1. **Newest partition first** (:func:`newest_partition`). With ``Delimiter`` ``/``, a level's listing
   gives its objects and its sub-prefixes ("CommonPrefixes ... All of the keys (up to 1,000) that
   share the same prefix are grouped together"); the search reads the level's objects, descends into
   its greatest sub-prefix (the lexicographically last: the newest partition of a date or sequence
   layout, ``dt=2026-12-05/``, ``2026/12/05/``, ``run-000123/``), and so on until a level has no
   sub-prefix, at most :data:`DESCENT_PAGES` pages in all. A fresh object there: fresh, in a handful of
   calls, however many objects the input holds.
2. **Otherwise the whole input, bounded** (:func:`newest_object`): every object under the prefix, in
   key order, until one within the freshness is found or the listing ends (then the newest object is
   known, and too old, or there is none), at most :data:`LIST_PAGES` pages of 1,000 keys (50,000
   objects, about 50 requests, within the function's 120 s timeout, ``gates.py``).

**What still fails closed.** When the bound of step 2 is hit and neither step found a fresh object,
the gate cannot say the data is fresh, and it does not start the run: starting it would be the silent
training on stale data the contract exists to prevent, while a refused start is heard (below). That
is an input of more than 50,000 objects whose newest partition (step 1) holds nothing fresh and whose
first 50,000 keys in key order are all old: a layout whose names do not sort by time (``<uuid>/...``)
with fresh data only late in key order. The message says the listing was cut off and how many keys it
read; the remedy is fewer objects under the input (compact them, or move old ones to another data
source), names that sort by time, or no ``freshness`` in its contract.

**Stale data starts nothing and is heard.** A stale, empty or unconfirmed input raises
:class:`StaleInput`, naming each such data source, its newest object's age and the contract's
freshness: the gate's failure path (module docstring above: Lambda retries twice, one and two minutes
later, each retry checking again; then the event goes to the failure queue, whose record holds the
error message, and the Errors alarm tells the job's channels, ``lambda_failures.py``). A redrive
checks again. Only the runs this gate starts are checked: a run started by hand
(``StartPipelineExecution`` from the console or CLI) is not.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from typing import Any

from botocore.exceptions import ClientError

ACTIVE = ("Executing", "Stopping")
"""Pipeline execution statuses of a run still going (botocore ``PipelineExecutionStatus``)."""
RECENT = 20
LIST_PAGES = 50
"""``ListObjectsV2`` pages of :data:`PAGE_KEYS` keys read per input at most (module contract)."""
PAGE_KEYS = 1000
"""Keys per ``ListObjectsV2`` page: the most it returns ("up to 1,000", botocore ``MaxKeys``)."""
DESCENT_PAGES = 20
"""``ListObjectsV2`` pages the newest-partition search reads per input at most (module contract)."""


class StaleInput(RuntimeError):
    """An input of the job is older than its contract's freshness, empty, or could not be confirmed
    fresh within :data:`LIST_PAGES` pages: no run starts (module contract)."""


def triggered_by(event: dict[str, Any]) -> str:
    """``schedule``, ``alert:<alarm name>`` or ``manual``: the pipeline's TriggeredBy parameter."""
    if isinstance(event.get("triggeredBy"), str):
        return event["triggeredBy"][:256]
    alarm = (event.get("detail") or {}).get("alarmName")
    return f"alert:{alarm}"[:256] if alarm else "manual"


def request_token(pipeline: str, created: Any, newest: str | None) -> str:
    """The ``ClientRequestToken`` of the run that follows execution ``newest`` (None: the pipeline's
    first) of the pipeline ``pipeline`` created at ``created``: 64 hex characters (module contract)."""
    return hashlib.sha256(f"{pipeline}\n{created}\n{newest or ''}".encode()).hexdigest()


def recent_executions(client: Any, pipeline: str) -> list[dict[str, Any]]:
    """The pipeline's :data:`RECENT` newest execution summaries, newest first."""
    return client.list_pipeline_executions(PipelineName=pipeline, SortBy="CreationTime", SortOrder="Descending",
                                           MaxResults=RECENT).get("PipelineExecutionSummaries") or []


def _newest(executions: list[dict[str, Any]]) -> str | None:
    return executions[0]["PipelineExecutionArn"] if executions else None


def freshness_config() -> tuple[str | None, list[tuple[str, str, str, int]]]:
    """The bucket owner and the inputs to check, ``(data source, bucket, prefix, seconds)``, from
    ``FRESHNESS`` (module contract); no variable: nothing to check."""
    config = json.loads(os.environ.get("FRESHNESS") or "{}")
    return config.get("owner"), [(str(s), str(b), str(p), int(n)) for s, b, p, n in config.get("inputs", [])]


def _list(s3: Any, bucket: str, prefix: str, owner: str | None, token: str | None,
          delimiter: str | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": PAGE_KEYS}
    if delimiter:
        request["Delimiter"] = delimiter
    if owner:
        request["ExpectedBucketOwner"] = owner
    if token:
        request["ContinuationToken"] = token
    return s3.list_objects_v2(**request)


FOLDER_MARKER_SUFFIXES = ("/", "_$folder$")  # the S3 console's, Hadoop's (module contract)
SUCCESS_MARKER = "_SUCCESS"
"""The name of the marker Hadoop's ``FileOutputCommitter`` writes when a job commits: never data (module contract)."""
UNCOMMITTED_FOLDERS = ("_temporary", "__magic", ".spark-staging-")
"""Folder names (each the name or its start) that hold a job's output not committed yet: Hadoop's
``FileOutputCommitter`` ``PENDING_DIR_NAME``, the S3A committers' ``MAGIC_DIR_NAME``, Spark's dynamic
partition overwrite staging folder (module contract)."""


def is_folder_marker(key: str) -> bool:
    """``key`` marks a folder (the S3 console's ``<folder>/``, Hadoop's ``<folder>_$folder$``) and holds no data."""
    return key.endswith(FOLDER_MARKER_SUFFIXES)


def is_uncommitted(key: str, prefix: str = "") -> bool:
    """``key`` (or a ``CommonPrefixes`` prefix ending in ``/``) lies in a folder below ``prefix`` that
    holds a job's uncommitted output (:data:`UNCOMMITTED_FOLDERS`, module contract)."""
    folders = key.removeprefix(prefix).split("/")[:-1]
    return any(folder.startswith(UNCOMMITTED_FOLDERS) for folder in folders)


def holds_data(item: dict[str, Any], prefix: str = "") -> bool:
    """A ``ListObjectsV2`` ``Contents`` item under ``prefix`` counts as data for the freshness: not a
    folder marker, not a ``_SUCCESS`` marker, not uncommitted output (:func:`is_uncommitted`), and more
    than 0 bytes (module contract). An item without ``Size`` is taken as data (S3 always lists it)."""
    key = item["Key"]
    if is_folder_marker(key) or key.rsplit("/", 1)[-1] == SUCCESS_MARKER or is_uncommitted(key, prefix):
        return False
    return item.get("Size") != 0


def _newer(newest: datetime.datetime | None, items: list[dict[str, Any]],
           prefix: str) -> datetime.datetime | None:
    """The newest of ``newest`` and the items' ``LastModified``, leaving out what holds no data (module contract)."""
    for item in items:
        if not holds_data(item, prefix):
            continue
        if newest is None or item["LastModified"] > newest:
            newest = item["LastModified"]
    return newest


def newest_partition(s3: Any, bucket: str, prefix: str, owner: str | None,
                     pages: int) -> tuple[datetime.datetime | None, int, str]:
    """``(newest LastModified seen, keys listed, deepest prefix reached)`` of the newest-partition search
    under ``bucket``/``prefix``: each level's objects, then its greatest sub-prefix (``Delimiter`` ``/``),
    until a level has none or ``pages`` pages were read (module contract, step 1)."""
    newest, listed, level, used = None, 0, prefix, 0
    while used < pages:
        token, greatest = None, None
        while used < pages:
            page = _list(s3, bucket, level, owner, token, "/")
            used += 1
            contents = page.get("Contents") or []
            listed += len(contents)
            newest = _newer(newest, contents, prefix)
            greatest = max([greatest or "", *(p["Prefix"] for p in page.get("CommonPrefixes") or []
                                              if not is_uncommitted(p["Prefix"], prefix))]) or None
            if not page.get("IsTruncated"):
                break
            token = page["NextContinuationToken"]
        else:
            break
        if greatest is None:
            break
        level = greatest
    return newest, listed, level


def newest_object(s3: Any, bucket: str, prefix: str, owner: str | None, fresh_after: datetime.datetime,
                  pages: int) -> tuple[datetime.datetime | None, int, bool]:
    """``(newest LastModified seen, keys listed, complete)`` of the objects under ``bucket``/``prefix``:
    it stops at the first page holding an object newer than ``fresh_after``, and after ``pages``
    pages (``complete`` False when keys were left unlisted; module contract)."""
    newest, listed, token = None, 0, None
    for _ in range(pages):
        page = _list(s3, bucket, prefix, owner, token)
        contents = page.get("Contents") or []
        listed += len(contents)
        newest = _newer(newest, contents, prefix)
        if not page.get("IsTruncated"):
            return newest, listed, True
        if newest is not None and newest > fresh_after:
            return newest, listed, False
        token = page["NextContinuationToken"]
    return newest, listed, False


def age_text(seconds: float) -> str:
    """``2d 0h``, ``5h 12m``, ``42s``: an age for a person."""
    seconds = int(seconds)
    days, hours, minutes = seconds // 86400, seconds % 86400 // 3600, seconds % 3600 // 60
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes}m" if hours else f"{minutes}m {seconds % 60}s" if minutes else f"{seconds}s"


def check_freshness(s3: Any, now: datetime.datetime) -> list[dict[str, Any]]:
    """Each configured input's newest object against its contract's freshness (module contract):
    the findings, one per input; raises :class:`StaleInput` naming every input that is not fresh."""
    owner, inputs = freshness_config()
    pages = LIST_PAGES
    findings, problems = [], []
    for source, bucket, prefix, seconds in inputs:
        limit = now - datetime.timedelta(seconds=seconds)
        where = f"s3://{bucket}/{prefix}"
        newest, listed, partition = newest_partition(s3, bucket, prefix, owner, DESCENT_PAGES)
        complete, search = False, "newest-partition"
        if newest is None or newest <= limit:
            descended = newest
            newest, listed, complete = newest_object(s3, bucket, prefix, owner, limit, pages)
            newest = max([t for t in (descended, newest) if t is not None], default=None)
            search = "full"
        age = (now - newest).total_seconds() if newest else None
        fresh = newest is not None and newest > limit
        findings.append({"dataSource": source, "uri": where, "freshnessSeconds": seconds, "search": search,
                         "partition": f"s3://{bucket}/{partition}", "listed": listed, "complete": complete,
                         "newestAgeSeconds": None if age is None else int(age), "fresh": fresh})
        wanted = f"its contract's freshness is {age_text(seconds)} ({seconds} s)"
        if fresh:
            continue
        if newest is None and complete:
            if listed:
                problems.append(f"data source {source}: no data under {where} ({listed} "
                                f"{'key' if listed == 1 else 'keys'} listed, all folder markers, {SUCCESS_MARKER} "
                                f"markers, 0-byte objects or uncommitted job output); {wanted}")
            else:
                problems.append(f"data source {source}: no object under {where}; {wanted}")
        elif complete:
            problems.append(f"data source {source}: the newest object under {where} is {age_text(age)} old "
                            f"(LastModified {newest.isoformat()}); {wanted}")
        else:
            seen = f"the newest of them is {age_text(age)} old" if age is not None else "none is an object"
            problems.append(f"data source {source}: nothing fresh in its newest partition ({findings[-1]['partition']}), "
                            f"and listed only the first {listed} keys under {where} (the gate reads at most "
                            f"{pages * PAGE_KEYS} in key order) and {seen}; {wanted}, which cannot be confirmed: put "
                            "fewer objects under the data source, name them so they sort by time, or remove its "
                            "freshness")
    if problems:
        raise StaleInput("; ".join(problems))
    return findings


def handler(event: dict[str, Any], context: Any = None, client: Any = None, s3: Any = None,
            now: datetime.datetime | None = None) -> dict[str, Any]:
    """Start the pipeline unless a run of it is active or an input is stale (see the module contract)."""
    if client is None:
        import boto3  # available in the Lambda runtime; imported here so tests can pass a client

        client = boto3.client("sagemaker")
    pipeline = os.environ["PIPELINE_NAME"]
    reason = triggered_by(event)
    recent = recent_executions(client, pipeline)
    active = [e["PipelineExecutionArn"] for e in recent if e.get("PipelineExecutionStatus") in ACTIVE]
    if active:
        print(f"{pipeline}: run {active[0]} is still active; not starting another ({reason})", flush=True)
        return {"started": None, "active": active[0], "triggeredBy": reason}
    freshness: list[dict[str, Any]] = []
    if freshness_config()[1]:
        if s3 is None:
            import boto3

            s3 = boto3.client("s3")
        try:
            freshness = check_freshness(s3, now or datetime.datetime.now(datetime.UTC))
        except StaleInput as error:
            print(f"{pipeline}: not starting a run ({reason}): stale input: {error}", flush=True)
            raise StaleInput(f"{pipeline}: not starting a run ({reason}): {error}") from None
        for finding in freshness:
            print(f"{pipeline}: data source {finding['dataSource']} is fresh: an object under {finding['uri']} is "
                  f"{age_text(finding['newestAgeSeconds'])} old (freshness {finding['freshnessSeconds']} s)",
                  flush=True)
    seen = _newest(recent)
    created = client.describe_pipeline(PipelineName=pipeline)["CreationTime"]
    try:
        started = client.start_pipeline_execution(
            PipelineName=pipeline, ClientRequestToken=request_token(pipeline, created, seen),
            PipelineParameters=[{"Name": "TriggeredBy", "Value": reason}])["PipelineExecutionArn"]
    except ClientError as error:
        newer = _newest(recent_executions(client, pipeline))
        if newer is None or newer == seen:
            raise
        print(f"{pipeline}: a concurrent trigger started {newer}; not starting another ({reason}; "
              f"{error.response.get('Error', {}).get('Code', 'error')})", flush=True)
        return {"started": None, "active": newer, "triggeredBy": reason}
    print(f"{pipeline}: started {started} ({reason})", flush=True)
    result: dict[str, Any] = {"started": started, "active": None, "triggeredBy": reason}
    return {**result, "freshness": freshness} if freshness else result
