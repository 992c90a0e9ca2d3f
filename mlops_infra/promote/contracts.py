"""The serving contract of a promotion: :func:`serving_findings` of a :class:`~mlops_infra.promote.promote.Promotion`,
and the files of the artifacts it carries (:func:`read_artifact_files`), which the rule decides from.

The rule is the spec's (:mod:`mlops_infra.spec.serving_contract`: how each environment serves a
model, KServe or SageMaker, and when DST surely cannot serve what SRC serves), so ``validate``
and ``promote`` say the same; this module gives it the promotion's models, the endpoints that
serve them (audit finding xpromote-3) and the files of the artifact SRC serves (audit finding
closing-37a-1: one artifact can hold both layouts, so only its files tell whether DST's server
loads it).

The two layouts, as their platforms document them:

- SageMaker's PyTorch container: "the contents of ``model.tar.gz`` should be organized as follows:
  Model files in the top-level directory; Inference script (and any other source files) in a
  directory named ``code/``", the example being ``model.pth`` beside ``code/inference.py`` and
  ``code/requirements.txt`` (aws/sagemaker-python-sdk ``doc/frameworks/pytorch/using_pytorch.rst``,
  "Model Directory Structure", "For versions 1.2 and higher"); without user code the container loads
  ``model.pt`` (sagemaker-pytorch-inference-toolkit ``default_pytorch_inference_handler.py``).
- KServe's TorchServe runtime: "The KServe/TorchServe integration expects following model store
  layout": ``config/config.properties`` and ``model-store/<name>.mar`` (KServe docs, "Deploy a
  PyTorch Model with TorchServe InferenceService",
  https://kserve.github.io/website/0.12/modelserving/v1beta1/torchserve/; kserve v0.15.0
  ``config/runtimes/kserve-torchserve.yaml`` starts TorchServe on those two paths under
  ``/mnt/models``).

Contract of :func:`read_artifact_files` (the edge: ``s3`` is a client of SRC's store, made only
when a file list is needed): for each promoted model whose finding is decided by its files (SRC
and DST on different clouds, DST serving it with its platform's own server whose layout is known:
:data:`~mlops_infra.spec.serving_contract.LAYOUTS`, and ``serving_contracts`` not declaring DST's
contract), the files of each artifact SRC's endpoints serve (``VersionRecord.artifact_uri``), as
paths relative to the artifact's root, the names its server sees:

- a folder (a URI ending in ``/``, or MLflow's ``source`` without it: told apart as the copy step
  tells them, :func:`mlops_infra.promote.digests.artifact_layout`): its objects' keys under the
  prefix, folder markers left out (:func:`~mlops_infra.promote.digests.artifact_keys`); one
  ``ListObjectsV2`` page per 1,000 objects, no object read. A Kubernetes SRC's folder holding ONE
  tar object is served unpacked by KServe (kserve v0.15.0 ``storage.py`` ``_download_s3``: one file
  of a tar or zip type is unpacked), so its members are listed, as below;
- one tar object (a gzip tar by its registry's ``CompressionType`` or its name, ``model.tar.gz``,
  which SageMaker unpacks into ``/opt/ml/model``; a plain or other-compressed tar a KServe SRC
  unpacks): its members' names, read with :mod:`tarfile` in stream mode (``"r|"``) over the
  ``GetObject`` body, decompressed by the reader its first bytes name (gzip ``1f 8b 08``, bzip2
  ``BZh`` at any block size (tarfile's own ``"r|*"`` knows only ``BZh91``), xz ``fd 37 7a 58 5a 00``
  or lzma-alone ``5d 00 00 80``; else a plain tar): :class:`gzip.GzipFile`, :class:`bz2.BZ2File`,
  :class:`lzma.LZMAFile`. Those follow every member of the file, as the servers' readers do: a gzip
  file "consists of a series of members" (RFC 1952 2.2), a blocked compressor (bgzip's BGZF) or
  ``cat a.gz b.gz`` writes several, and KServe unpacks with
  ``tarfile.open(file_path, "r", encoding="utf-8")`` (kserve aaac4e294
  ``python/storage/kserve_storage/kserve_storage.py`` ``_unpack_archive_file``, :1709), random access
  over the gzip module, which reads them all (Python docs, ``gzip``: "capable of decompressing
  multi-member gzip data (multiple gzip blocks concatenated together)"; ``GzipFile``: "Support for
  zero-padded and unseekable files was added"; bz2 and lzma file readers go on to the next stream,
  CPython ``Lib/_compression.py`` ``DecompressReader``). tarfile's stream mode with its own
  decompression stops at the end of the first gzip member ("unexpected end of data"), which called
  such a valid archive corrupt (audit closing-38a-2). What that costs: a compressed tar has no
  index, so every member header is found only by reading and decompressing all the bytes before
  it: the whole object is downloaded and decompressed once, never held (the stream is read in
  tarfile's 10 KiB records; memory is the member names). So an object larger than the read limit (:data:`LIMIT_VARIABLE`, in MiB, default
  :data:`DEFAULT_LIMIT_MIB`; its ``ContentLength`` from ``HeadObject``) is not read: the finding
  stays a warning that says so and how to check it (raise the limit, or declare
  ``serving_contracts`` once the artifact is laid out for both);
- one other object: its name (SageMaker places an uncompressed ``S3Object`` under
  ``/opt/ml/model`` by its name); a zip a KServe SRC unpacks is not listed (its directory is at its
  end, which a stream does not reach first): a warning.

An artifact that cannot be read (no ``s3://`` URI, no boto3, access denied, a lost connection)
leaves its model's finding a warning naming why (the rule's "not read" case), never a pass. A tar
object that is not a readable archive (truncated, corrupt: tarfile's or the decompressor's error,
``gzip.BadGzipFile`` an :class:`OSError`, ``EOFError`` and ``zlib.error`` "can also be raised for
invalid gzip files", Python docs ``gzip``) refuses the promotion: neither server can unpack it
(SageMaker "will attempt to decompress and untar the object during model deployment", botocore
``S3ModelDataSource.CompressionType``). An error reading the body itself (a lost connection, even
one that is an :class:`OSError`) is kept apart and stays an unread warning. Of several versions of
one model, the rule is given the first artifact (by URI) that lacks DST's layout, else the first
unread one, else the first.

:func:`serving_findings` adds to the rule's finding of a read artifact its URI and a few of the
files found (a refusal), or why it was not read (a warning); never an object's content.
"""

from __future__ import annotations

import bz2
import dataclasses
import gzip
import io
import lzma
import mimetypes
import os
import tarfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlops_infra.errors import UserError
from mlops_infra.name_lists import join_names
from mlops_infra.s3_uri import in_s3, split
from mlops_infra.spec.serving_contract import (
    CONTRACTS,
    LAYOUTS,
    ServingFinding,
    contract_findings,
    holds_layout,
    serving_of,
)

__all__ = ["ArtifactFiles", "ServingFinding", "read_artifact_files", "serving_findings"]

LIMIT_VARIABLE = "MLOPS_INFRA_LAYOUT_READ_MIB"
DEFAULT_LIMIT_MIB = 1024
SHOWN = 6
"""How many of an artifact's files a refusal names."""


@dataclass(frozen=True)
class ArtifactFiles:
    """The files of one artifact SRC serves: ``paths`` relative to its root, or None when not read
    (``why`` says why); ``corrupt`` when it is a tar object that cannot be unpacked (why)."""

    uri: str
    paths: tuple[str, ...] | None
    why: str = ""
    corrupt: str = ""


def serving_findings(promotion: Any, listings: Mapping[str, Any] | None = None) -> tuple[ServingFinding, ...]:
    """One finding per promoted model whose serving contract changes from SRC to DST (see
    :func:`mlops_infra.spec.serving_contract.contract_findings`), sorted by model. ``listings``:
    model -> the files of the artifact SRC serves (an :class:`ArtifactFiles` from
    :func:`read_artifact_files`, or the paths themselves): refused only when they were read and lack
    DST's layout, or the artifact is a tar that cannot be unpacked; unread: a warning saying why."""
    endpoints: dict[str, list[str]] = {}
    for mapping in promotion.versions.mappings:
        endpoints.setdefault(mapping.model, []).append(mapping.endpoint)
    read = {m: f for m, f in (listings or {}).items() if isinstance(f, ArtifactFiles)}
    paths = {m: f.paths if isinstance(f, ArtifactFiles) else f for m, f in (listings or {}).items()}
    findings = contract_findings(promotion.src, promotion.src_system, promotion.dst, promotion.dst_system,
                                 {model: tuple(names) for model, names in endpoints.items()}, paths)
    return tuple(_with_files(f, read[f.model], promotion) if f.model in read else f for f in findings)


def _with_files(finding: ServingFinding, files: ArtifactFiles, promotion: Any) -> ServingFinding:
    """The rule's ``finding`` with what was read of the artifact: a corrupt tar refuses; a refusal
    names the artifact and a few of its files; an unread artifact's warning says why."""
    if files.corrupt:
        where = finding.summary.split(": ", 1)[0]
        return dataclasses.replace(
            finding, refuses=True,
            summary=f"{where}: {promotion.dst} cannot serve the artifact {promotion.src} serves: {files.uri} is not a "
                    f"readable tar archive",
            detail=f"Reading its members failed: {files.corrupt}. SageMaker and KServe unpack the archive before "
                   f"the model is loaded, so the promoted endpoint would fail to start. Upload a whole archive "
                   f"(tar -czf model.tar.gz -C <model folder> .) and register it as a new version in {promotion.src}, "
                   "then promote that version.")
    if files.paths is None:
        return dataclasses.replace(finding, detail=f"{finding.detail} Not read: {files.why}.")
    if finding.refuses:
        return dataclasses.replace(finding, detail=f"{finding.detail} Read: {files.uri} holds {_some(files.paths)}.")
    return finding


def _some(paths: Sequence[str]) -> str:
    names = sorted(p[2:] if p.startswith("./") else p for p in paths)
    if not names:
        return "no file"
    return f"{len(names)} file(s): {join_names(names, SHOWN)}"


def read_limit(environ: Mapping[str, str]) -> int:
    """The largest tar object read for its members, in bytes (:data:`LIMIT_VARIABLE`, in MiB)."""
    raw = environ.get(LIMIT_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_LIMIT_MIB << 20
    if not raw.isdigit():
        raise UserError(f"{LIMIT_VARIABLE}={raw!r} is not a whole number of MiB",
                        f"Set it to the largest model archive promote may read for its file list, in MiB "
                        f"(default {DEFAULT_LIMIT_MIB}), or unset it.")
    return int(raw) << 20


def needs_files(promotion: Any) -> tuple[str, ...]:
    """The promoted models whose finding is decided by the artifact's files (module contract), sorted."""
    src_kind = promotion.src_system.environments[promotion.src].target.kind
    dst_kind = promotion.dst_system.environments[promotion.dst].target.kind
    if (src_kind == "aws") == (dst_kind == "aws"):
        return ()
    contract = CONTRACTS[dst_kind]
    wanted = []
    for model in sorted({m.model for m in promotion.versions.mappings}):
        declared = promotion.dst_system.item("models", model)
        if declared is not None and contract in (declared.serving_contracts or ()):
            continue
        serving = serving_of(promotion.dst_system, promotion.dst, model)
        if serving.server in ("runtime", "framework") and (serving.cloud, serving.framework) in LAYOUTS:
            wanted.append(model)
    return tuple(wanted)


def read_artifact_files(promotion: Any, s3: Callable[[], Any],
                        environ: Mapping[str, str] | None = None) -> dict[str, ArtifactFiles]:
    """model -> the files of the artifact SRC serves, for the models :func:`needs_files` names (see
    the module contract); ``s3()`` makes the client of SRC's store, called at most once and only
    when an artifact is read."""
    models = needs_files(promotion)
    if not models:
        return {}
    limit = read_limit(os.environ if environ is None else environ)
    kserve = promotion.src_system.environments[promotion.src].target.kind != "aws"
    dst_serving = {model: serving_of(promotion.dst_system, promotion.dst, model) for model in models}
    client: list[Any] = []

    def store() -> Any:
        if not client:
            client.append(s3())
        return client[0]

    out: dict[str, ArtifactFiles] = {}
    for model in models:
        records = {(m.src_record.artifact_uri or "", m.src_record.artifact_compression)
                   for m in promotion.versions.mappings if m.model == model}
        read = [_files(store, uri, compression, limit, kserve) for uri, compression in sorted(records, key=str)]
        after = dst_serving[model]
        out[model] = next((f for f in read if f.corrupt), None) or next(
            (f for f in read if f.paths is not None and holds_layout(after.cloud, after.framework, f.paths) is False),
            None) or next((f for f in read if f.paths is None), read[0])
    return out


def _files(store: Callable[[], Any], uri: str, compression: str | None, limit: int, kserve: bool) -> ArtifactFiles:
    """One artifact's files (module contract); any failure to read is an unread :class:`ArtifactFiles`."""
    if not uri:
        return ArtifactFiles(uri, None, "its registry names no artifact URI for it")
    if not in_s3(uri):
        return ArtifactFiles(uri, None, f"its artifact URI {uri} is not in S3 (s3://)")
    try:
        return _listed(store(), uri, compression, limit, kserve)
    except UserError as error:
        return ArtifactFiles(uri, None, f"{error.summary} ({error.detail})" if error.detail else error.summary)
    except ImportError:
        return ArtifactFiles(uri, None, "boto3 is not installed (pip install 'mlops-infra[aws]')")
    except Exception as error:
        from mlops_infra.state.aws_live.retry import describe_error

        return ArtifactFiles(uri, None, f"{uri} could not be read: {describe_error(error)}")


def _listed(s3: Any, uri: str, compression: str | None, limit: int, kserve: bool) -> ArtifactFiles:
    from mlops_infra.model_versions import GZIP, compression_of
    from mlops_infra.promote.digests import artifact_keys, artifact_layout

    where, folder = artifact_layout(s3, uri)
    bucket, key = split(where) or ("", "")  # artifact_layout gives back the s3:// URI _files checked
    if folder:
        objects = [o["Key"] for o in artifact_keys(s3, bucket, key)]
        if not (kserve and len(objects) == 1 and _archive(objects[0])):
            return ArtifactFiles(where, tuple(k[len(key):] for k in objects))
        key, compression = objects[0], None
    elif not (compression_of(where, compression) == GZIP or (kserve and _archive(key))):
        return ArtifactFiles(where, (key.rsplit("/", 1)[-1],))
    if _archive(key) == "application/zip":
        return ArtifactFiles(where, None, f"{key.rsplit('/', 1)[-1]} is a zip archive, whose file list is at its end "
                                          "and is not read")
    return _members(s3, where, bucket, key, limit)


def _archive(key: str) -> str | None:
    """The archive type KServe unpacks that ``key``'s name says (tar or zip), else None."""
    mimetype, _ = mimetypes.guess_type(key)
    return mimetype if mimetype in ("application/x-tar", "application/zip") else None


def _members(s3: Any, uri: str, bucket: str, key: str, limit: int) -> ArtifactFiles:
    """The names of the tar object's members, streamed (module contract: the whole object is read)."""
    size = int(s3.head_object(Bucket=bucket, Key=key).get("ContentLength") or 0)
    if size > limit:
        return ArtifactFiles(uri, None, (
            f"s3://{bucket}/{key} is {size / (1 << 20):.0f} MiB, over the {limit >> 20} MiB mlops-infra reads to list a "
            f"tar's members (the whole archive is downloaded and decompressed to find them). Raise {LIMIT_VARIABLE} "
            "to check it, or, once the artifact is laid out for both servers, declare serving_contracts"))
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    source = _Body(body)
    try:
        with tarfile.open(fileobj=_decompressed(source), mode="r|") as archive:
            names = tuple(member.name for member in archive if not member.isdir())
    except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError) as error:
        if source.failed is not None:
            raise  # the connection, not the bytes: an unread warning (_files)
        return ArtifactFiles(f"s3://{bucket}/{key}", None, "", corrupt=f"tarfile: {error}")
    finally:
        body.close()
    return ArtifactFiles(f"s3://{bucket}/{key}", names)


MAGIC = ((b"\x1f\x8b\x08", lambda source: gzip.GzipFile(fileobj=source, mode="rb")), (b"BZh", bz2.BZ2File),
         (b"\xfd7zXZ\x00", lzma.LZMAFile), (b"\x5d\x00\x00\x80", lzma.LZMAFile))
"""The compressed formats named by their first bytes (module contract), each with the stdlib file reader that
follows all its members/streams."""


class _Body(io.RawIOBase):
    """The ``GetObject`` body as a raw stream whose first bytes (:attr:`head`) are read ahead to name its
    compression; an error reading the body is kept in :attr:`failed` (and raised as it is), so a lost
    connection is told from a corrupt archive."""

    def __init__(self, body: Any) -> None:
        super().__init__()
        self.body, self.failed, self.pending = body, None, b""
        while len(self.pending) < 6:
            chunk = self._read(6 - len(self.pending))
            if not chunk:
                break
            self.pending += chunk
        self.head = self.pending

    def _read(self, size: int) -> bytes:
        try:
            return self.body.read(size)
        except Exception as error:
            self.failed = error
            raise

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data, self.pending = (self.pending[:len(buffer)], self.pending[len(buffer):]) if self.pending else \
            (self._read(len(buffer)), b"")
        buffer[:len(data)] = data
        return len(data)


def _decompressed(source: _Body) -> Any:
    """``source`` decompressed by the reader its first bytes name, else as it is (a plain tar)."""
    return next((reader(source) for magic, reader in MAGIC if source.head.startswith(magic)), source)
