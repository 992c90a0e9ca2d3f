"""KServe's storage initializer for an ``s3://`` URI, replayed against the moto server.

Contract of :func:`download_s3`: what KServe 0.15's storage initializer writes into ``/mnt/models`` for
``uri``, as paths relative to ``out_dir``. The listing and naming are transcribed from kserve v0.15.0
``python/kserve/kserve/storage/storage.py`` ``Storage._download_s3`` (unchanged in v0.15.1, v0.15.2 and,
with ``obj.key.removeprefix(bucket_path).lstrip("/")`` for the ``re.sub``, at master's
``python/storage/kserve_storage/kserve_storage.py``; Apache License 2.0, The KServe Authors):

- the path of the URI is listed as a bare S3 prefix, ``bucket.objects.filter(Prefix=bucket_path)``,
  with no ``/`` added;
- a key ending in ``/`` is skipped (a folder marker);
- an object whose key equals the path is downloaded alone, under its base name, and the loop stops
  (``exact_obj_found``);
- any other object is written at its key minus the prefix and one optional ``/``
  (``re.sub(r"^" + re.escape(bucket_path) + r"/?", "", obj.key)``);
- nothing listed fails ``RuntimeError("Failed to fetch model. No model found in <path>.")``.

Only the credentials differ: KServe builds its client from the ``mlops-object-store`` Secret's
environment (``AWS_ENDPOINT_URL``, ``get_S3_config``); here it is the moto server's client
(tests/support/moto_server.py, path-style, dummy credentials). Not replayed: unpacking a single
downloaded ``.tar``/``.zip`` (``_unpack_archive_file``), the CA bundle and anonymous-access options.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlparse

from botocore.config import Config

from tests.support.moto_server import shared_session


def download_s3(uri: str, out_dir: Path, endpoint_url: str) -> list[str]:
    """The files KServe's storage initializer writes for ``uri`` (see the module contract), sorted."""
    s3 = shared_session().resource("s3", endpoint_url=endpoint_url, config=Config(s3={"addressing_style": "path"}))
    parsed = urlparse(uri, scheme="s3")
    bucket_name = parsed.netloc
    bucket_path = parsed.path.lstrip("/")

    file_count = 0
    exact_obj_found = False
    bucket = s3.Bucket(bucket_name)
    temp_dir = str(out_dir)
    for obj in bucket.objects.filter(Prefix=bucket_path):
        if obj.key.endswith("/"):
            continue
        if bucket_path == obj.key:
            target_key = obj.key.rsplit("/", 1)[-1]
            exact_obj_found = True
        else:
            target_key = re.sub(r"^" + re.escape(bucket_path) + r"/?", "", obj.key)
        target = f"{temp_dir}/{target_key}"
        if not os.path.exists(os.path.dirname(target)):
            os.makedirs(os.path.dirname(target), exist_ok=True)
        bucket.download_file(obj.key, target)
        file_count += 1
        if exact_obj_found:
            break
    if file_count == 0:
        raise RuntimeError(f"Failed to fetch model. No model found in {bucket_path}.")
    return sorted(p.relative_to(out_dir).as_posix() for p in Path(out_dir).rglob("*") if p.is_file())
