"""Find a stack's prior state where the Pulumi CLI keeps it, and read it (issue 11 item 3).

Contract of :func:`read_stack_state`:

1. **Which backend**, as ``pulumi`` chooses it (``pkg/workspace/creds.go``, ``GetCurrentCloudURL`` in
   github.com/pulumi/pulumi): ``PULUMI_BACKEND_URL``; else ``backend.url`` in the stack directory's
   ``Pulumi.yaml``; else the current login, ``current`` in ``credentials.json`` (in
   ``PULUMI_CREDENTIALS_PATH``, else ``PULUMI_HOME``, else ``.pulumi`` in the user's passwd home, which is
   not always ``$HOME``: :mod:`mlops_infra.state.user_home`, audit stateformats-6; where ``$HOME`` holds a
   login ``pulumi`` does not read and the passwd home none, that is refused, naming both). With none of them and
   ``PULUMI_ACCESS_TOKEN`` set (a CI job given only the token), Pulumi Cloud: ``pulumi`` then logs in
   to the default cloud URL, ``PULUMI_API`` else ``https://api.pulumi.com`` (``pkg/cmd/pulumi/backend/
   login_manager.go``: the empty URL is not a DIY one, so ``httpstate`` logs in; ``pkg/backend/httpstate/
   backend.go`` ``ValueOrDefaultURL``), with the token and no prompt (``httpstate/login.go``). With none
   of them and no token, ``pulumi`` would ask for a login (or, non-interactive, refuse: "PULUMI_ACCESS_TOKEN
   must be set for login during non-interactive CLI sessions"); mlops-infra then keeps the state in the
   stack directory itself as a file backend, ``plan`` reading it and ``apply`` writing it
   (``PULUMI_BACKEND_URL=file://<stack dir>``, :func:`mlops_infra.apply.engine.backend_url`). Only when
   there is no login: a ``credentials.json`` that ``pulumi`` reads but mlops-infra cannot is never taken
   for "no login" (audit stateformats-4; :func:`read_credentials`). An encrypted one
   (``PULUMI_CREDENTIAL_STORE=auto|os``: pulumi/pulumi ``sdk/go/common/workspace/creds.go``
   ``writeCredentialsFile`` seals the whole file, ``current`` included, with
   ``sdk/go/common/util/securestore/envelope.go`` ``Seal``, and keeps it sealed once it is, "Encryption is
   sticky") is asked of ``pulumi whoami --json`` (its ``url``, ``pkg/cmd/pulumi/whoami/whoami.go``
   ``whoAmIJSON``) when ``pulumi`` is on PATH, else refused with the fix: set ``PULUMI_BACKEND_URL``.
2. **File backend** (``file://``, ``file://~`` = the passwd home directory; relative paths are relative to
   the stack directory) and **S3** (``s3://bucket/prefix?region=...&endpoint=...&profile=...``) use
   the diy backend's layout (``pkg/backend/diy/store.go``): ``<root>/.pulumi/stacks/<project>/<stack>.json``
   (project-scoped, ``.pulumi/meta.yaml`` ``version: 1``, the default since Pulumi 3.61) or the legacy
   ``<root>/.pulumi/stacks/<stack>.json``; ``.json.gz`` and ``.json.zst`` too
   (``PULUMI_DIY_BACKEND_GZIP``/``PULUMI_DIY_BACKEND_ZSTD``), the newest winning and on a tie
   ``.json.zst``, then ``.json.gz``, as ``pulumi`` picks (see
   :func:`mlops_infra.state.pulumi_state.find_state_file`). S3 is read with boto3 (the ``aws`` extra)
   and the usual credential chain; ``AWS_ENDPOINT_URL`` is honoured.
3. **Pulumi Cloud** (``https://api.pulumi.com``, ``https://app.pulumi.com`` or a self-hosted
   ``http(s)://`` URL): ``GET <api>/api/stacks/<org>/<project>/<stack>/export`` with
   ``Authorization: token <PULUMI_ACCESS_TOKEN or the login's token>`` and
   ``Accept: application/vnd.pulumi+8`` (https://www.pulumi.com/docs/reference/cloud-rest-api/,
   "Authentication", "Required Request Headers" and Stacks, "Export Stack"). The organization is
   ``PULUMI_DEFAULT_ORGANIZATION``, else ``pulumi org set-default``'s (``backends.<url>.defaultOrg`` in
   ``config.json``), else the service's default (``GET /api/user/organizations/default``), else the login's
   user name (``accounts.<url>.username``), else ``GET /api/user``'s ``githubLogin``, as ``pulumi`` picks it
   (:func:`_cloud_org`).
4. A stack that does not exist there yet (no file, no object, HTTP 404) is an empty state whose
   ``source`` says where it was looked for. Anything else that stops the read (a backend scheme we do
   not read, a missing token, HTTP 401/403/5xx, an unreachable host, S3 access denied, boto3 missing,
   a corrupt file) raises :class:`StateError`: a configured backend is never silently "empty".
5. The result is a :class:`LocatedState`: the state (its ``source`` is the file, object or stack read,
   or where it was looked for when there is none) and the :class:`Backend` with why it was chosen.
   Tokens and URL passwords never appear in a source, a description or an error. Nothing is written.
6. **State left in the stack directory** (audit closing-37b-5): when the chosen backend is not the stack
   directory but the stack directory holds a state file of this stack (``<stack dir>/.pulumi/stacks/...``,
   written by an ``apply`` made while mlops-infra kept the state there, point 1; Pulumi itself never looks
   there), :func:`stranded_warning` says both places and how to choose: ``plan`` warns, ``apply`` refuses
   (:func:`mlops_infra.apply.engine.check_backend`), since ``pulumi up`` on the other backend would create
   again what that state holds.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_infra.state.model import PriorState
from mlops_infra.state.pulumi_state import (
    STACK_FILE_SUFFIXES,
    StateError,
    _redact_url,
    _split_stack_name,
    _uses_project_layout,
    backend_root,
    file_backend_url,
    find_state_file,
    load_state,
    parse_state,
    state_file_stem,
)
from mlops_infra.state.user_home import user_home

PULUMI_CLOUD_API = "https://api.pulumi.com"
CLOUD_ACCEPT = "application/vnd.pulumi+8"
HTTP_TIMEOUT = 30.0
META_KEY = ".pulumi/meta.yaml"
STACKS_PREFIX = ".pulumi/stacks"


@dataclass(frozen=True)
class Backend:
    """The backend a stack's state lives in and why it was chosen."""

    url: str
    """The backend URL (as configured; shown redacted)."""
    chosen_by: str
    """``PULUMI_BACKEND_URL``, ``Pulumi.yaml backend.url``, ``pulumi login (<credentials.json>)`` or
    ``the stack directory``."""

    @property
    def kind(self) -> str:
        """``file``, ``s3``, ``cloud`` or the URL's scheme when it is none of those."""
        scheme = urllib.parse.urlsplit(self.url).scheme.lower() if "://" in self.url else "file"
        if scheme in ("http", "https"):
            return "cloud"
        return scheme


def pulumi_home(environ: Mapping[str, str]) -> Path:
    """``PULUMI_HOME``, else ``.pulumi`` in the home ``pulumi`` uses: the passwd home, not ``$HOME``
    (:func:`mlops_infra.state.user_home.user_home`, audit stateformats-6)."""
    return Path(environ["PULUMI_HOME"]).expanduser() if environ.get("PULUMI_HOME") else user_home() / ".pulumi"


def homes_differ(environ: Mapping[str, str]) -> bool:
    """Whether ``$HOME`` is not the home ``pulumi`` uses for its credentials (no ``PULUMI_HOME`` or
    ``PULUMI_CREDENTIALS_PATH``, and ``$HOME`` is not the passwd home: stateformats-6)."""
    if environ.get("PULUMI_HOME") or environ.get("PULUMI_CREDENTIALS_PATH") or not environ.get("HOME"):
        return False
    try:
        return Path(environ["HOME"]).resolve() != user_home().resolve()
    except (OSError, RuntimeError):
        return False


def home_login_pulumi_skips(environ: Mapping[str, str]) -> Path | None:
    """``$HOME/.pulumi/credentials.json`` when it holds something but ``pulumi`` reads another file
    (:func:`homes_differ`), else None."""
    skipped = Path(environ.get("HOME") or ".") / ".pulumi" / "credentials.json"
    try:
        return skipped if homes_differ(environ) and skipped.is_file() and skipped.stat().st_size else None
    except OSError:
        return None


def _which_home(environ: Mapping[str, str]) -> str:
    """Why ``pulumi`` reads the credentials file it reads, when ``$HOME`` would say another one."""
    uid = os.getuid() if hasattr(os, "getuid") else "?"
    return (f"{user_home()} is the home of uid {uid} in the passwd database, which `pulumi` uses (Go "
            f"user.Current()), not $HOME={environ.get('HOME')}")


def credentials_path(environ: Mapping[str, str]) -> Path:
    """``credentials.json`` in ``PULUMI_CREDENTIALS_PATH``, else in the Pulumi home."""
    folder = environ.get("PULUMI_CREDENTIALS_PATH")
    return (Path(folder).expanduser() if folder else pulumi_home(environ)) / "credentials.json"


SECURE_STORE_MARKER = "$pulumiSecureStore"
"""The key of an encrypted credentials file (pulumi/pulumi ``sdk/go/common/util/securestore/envelope.go``
``envelope.Marker``, ``json:"$pulumiSecureStore"``, the envelope version)."""
WHOAMI_TIMEOUT = 60.0
"""Seconds ``pulumi whoami --json`` may take (it opens the backend: a Pulumi Cloud or S3 round trip)."""


class EncryptedCredentials(StateError):
    """The Pulumi credentials file is encrypted (``PULUMI_CREDENTIAL_STORE``): ``pulumi`` reads its login and
    tokens, mlops-infra cannot."""


def read_credentials(environ: Mapping[str, str]) -> dict[str, Any]:
    """The login's ``credentials.json`` as ``pulumi`` reads it (pulumi/pulumi ``sdk/go/common/workspace/creds.go``
    ``readCredentialsFile``): ``{}`` when there is none or it is empty ("act as if it doesn't exist"); a file
    ``pulumi`` refuses (not JSON, not an object: ``json.Unmarshal`` into ``Credentials`` fails) raises
    :class:`StateError`; an encrypted one (``securestore.IsEnvelope``: an object whose ``$pulumiSecureStore``
    is an integer; Go matches the key case-insensitively) raises :class:`EncryptedCredentials` (audit
    stateformats-4): never ``{}``, which would read as "no login"."""
    path = credentials_path(environ)
    fix = "run `pulumi login` again"
    data = _read_json_file(path, "Pulumi credentials", fix, objects_only=True)
    marker = next((v for k, v in data.items() if k.lower() == SECURE_STORE_MARKER.lower()), None)
    if isinstance(marker, int) and not isinstance(marker, bool):
        raise EncryptedCredentials(
            _home_relative(path), "the Pulumi credentials are encrypted (PULUMI_CREDENTIAL_STORE)",
            "mlops-infra cannot read the current login or its tokens from them. Set PULUMI_BACKEND_URL to the "
            "backend `pulumi whoami -v` shows (or backend.url in the stack's Pulumi.yaml), and PULUMI_ACCESS_TOKEN "
            "for a Pulumi Cloud backend; or put `pulumi` on PATH, which mlops-infra then asks (`pulumi whoami "
            "--json`).")
    return data


def _login_url(stack_dir: Path, environ: Mapping[str, str]) -> tuple[str, str]:
    """The current login's URL and where it was read (``("", "")`` when there is none). An encrypted
    credentials file is asked of ``pulumi whoami --json`` when ``pulumi`` is on PATH (the login's backend is
    the one ``whoami`` opens: no PULUMI_BACKEND_URL and no backend.url reach here), else refused."""
    shown = _home_relative(credentials_path(environ))
    path = f"{shown}: {_which_home(environ)}" if homes_differ(environ) else shown
    try:
        current = read_credentials(environ).get("current")
    except EncryptedCredentials as encrypted:
        import shutil

        exe = shutil.which("pulumi", path=environ.get("PATH"))
        if exe is None:
            raise
        key = (exe, str(Path(stack_dir).resolve()), tuple(sorted(environ.items())),
               _stamp(credentials_path(environ)))
        if key not in _WHOAMI:  # apply chooses the backend several times: `pulumi whoami` runs once
            _WHOAMI[key] = _whoami_url(exe, Path(stack_dir), environ, encrypted)
        return _WHOAMI[key], f"encrypted {path}, read by `pulumi whoami --json`"
    if current is not None and not isinstance(current, str):
        raise StateError(shown, "the Pulumi credentials file is not one `pulumi` reads",
                         f"`current` is a {type(current).__name__}, not a backend URL; run `pulumi login` again.")
    skipped = None if current else home_login_pulumi_skips(environ)
    if skipped is not None:
        raise StateError(
            str(skipped), "the Pulumi login is under $HOME, where `pulumi` does not look",
            f"`pulumi` reads {credentials_path(environ)} ({_which_home(environ)}), which holds no login: it "
            f"would ask for one, and mlops-infra will not guess. Set PULUMI_HOME={skipped.parent} for plan, apply "
            f"and pulumi alike, or PULUMI_BACKEND_URL to the backend you mean.")
    return (current, path) if current else ("", "")


_WHOAMI: dict[tuple[Any, ...], str] = {}


def _stamp(path: Path) -> tuple[int, int]:
    try:
        info = path.stat()
    except OSError:
        return 0, 0
    return info.st_mtime_ns, info.st_size


def _whoami_url(exe: str, stack_dir: Path, environ: Mapping[str, str], encrypted: StateError) -> str:
    """``url`` of ``pulumi whoami --json`` run in ``stack_dir`` (pulumi/pulumi ``pkg/cmd/pulumi/whoami/whoami.go``:
    ``whoAmIJSON{User, Organizations, URL: b.URL(), ...}`` of ``cmdBackend.CurrentBackend``, the backend every
    command uses). Its output is never quoted (it names the user and the token's owner)."""
    import subprocess

    env = {**environ, "PULUMI_SKIP_UPDATE_CHECK": "true"}
    try:
        done = subprocess.run([exe, "whoami", "--json", "--non-interactive"], cwd=stack_dir, env=env,
                              capture_output=True, timeout=WHOAMI_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        why = f"did not answer within {WHOAMI_TIMEOUT:.0f} s" if isinstance(error, subprocess.TimeoutExpired) \
            else f"could not run ({type(error).__name__})"
        raise StateError(encrypted.source, f"{encrypted.summary}, and `pulumi whoami --json` {why}",
                         encrypted.detail) from None
    try:
        url = json.loads(done.stdout).get("url") if done.returncode == 0 else None
    except (ValueError, AttributeError):
        url = None
    if not isinstance(url, str) or not url:
        why = f"failed (exit {done.returncode}: run `pulumi whoami -v` to see why)" if done.returncode else \
            "gave no backend URL"
        raise StateError(encrypted.source, f"{encrypted.summary}, and `pulumi whoami --json` {why}",
                         encrypted.detail)
    return url


def choose_backend(stack_dir: Path, environ: Mapping[str, str]) -> Backend:
    """The backend ``pulumi`` would use from ``stack_dir`` (see the module contract, point 1)."""
    if environ.get("PULUMI_BACKEND_URL"):
        return Backend(environ["PULUMI_BACKEND_URL"], "PULUMI_BACKEND_URL")
    project_url = _project_backend_url(stack_dir)
    if project_url:
        return Backend(project_url, f"backend.url in {stack_dir / 'Pulumi.yaml'}")
    current, read_from = _login_url(stack_dir, environ)
    if current:
        return Backend(current, f"the current `pulumi login` ({read_from})")
    if environ.get("PULUMI_ACCESS_TOKEN"):
        return Backend(environ.get("PULUMI_API") or PULUMI_CLOUD_API,
                       "PULUMI_ACCESS_TOKEN with no `pulumi login` and no backend URL: Pulumi Cloud, as `pulumi` "
                       "logs in")
    return Backend("", "the stack directory (no `pulumi login`, no PULUMI_BACKEND_URL and no PULUMI_ACCESS_TOKEN)")


@dataclass(frozen=True)
class LocatedState:
    """A stack's prior state and the backend it came from."""

    state: PriorState
    backend: Backend

    def describe(self) -> str:
        """Where the state came from and why that backend (for the ``Prior state:`` line)."""
        return f"{self.state.source} (backend: {self.backend.chosen_by})"


def stranded_warning(project: str, stack: str, stack_dir: Path, environ: Mapping[str, str] | None = None) -> str | None:
    """Both places and how to choose one when the stack directory holds this stack's state but the backend
    ``pulumi`` would use is another one (contract point 6), else None. Reads file metadata only."""
    backend = choose_backend(Path(stack_dir), os.environ if environ is None else environ)
    left = stranded_state(project, stack, stack_dir, backend)
    if left is None:
        return None
    keep = f"PULUMI_BACKEND_URL={file_backend_url(stack_dir)}"
    return (f"the stack directory holds a state of {project}/{stack} ({left}: kept there by mlops-infra when no "
            f"`pulumi login`, PULUMI_BACKEND_URL or PULUMI_ACCESS_TOKEN chose a backend), but the backend now is "
            f"{_redact_url(backend.url)} ({backend.chosen_by}): `mlops-infra plan` reads the prior state there and "
            f"`pulumi up` would run there, creating again what the stack-directory state holds. Choose one: keep the stack directory "
            f"by setting {keep} for plan and apply; or move the state: `{keep} pulumi stack export --stack {stack} "
            f"--file state.json` in the stack directory, then, with the new backend, `pulumi stack init {stack}` (if "
            f"it is not there yet) and `pulumi stack import --stack {stack} --file state.json`, and remove {left}")


IGNORE_LEGACY_ERROR = "PULUMI_DIY_BACKEND_IGNORE_DEPRECATION_ERROR"
"""Lifts Pulumi's refusal of a legacy DIY layout (pulumi/pulumi ``sdk/go/common/env/env.go``
``DIYBackendIgnoreDeprecationError``; true when ``1`` or ``true`` in any case, ``util/env/env.go``
``BoolValue.Value``)."""


def legacy_layout_warning(stack: str, stack_dir: Path, environ: Mapping[str, str] | None = None, *,
                          s3_client: Any = None) -> str | None:
    """What ``pulumi`` says of the backend it would use from ``stack_dir`` when that is a DIY backend in the
    legacy (non-project) layout, else None (audit stateformats-8). Since pulumi/pulumi 480b346566 (#24216, first
    in v3.257.0: "The deprecation warning is now an error"), ``pkg/backend/diy/backend.go`` ``New`` refuses such
    a backend (``meta.yaml`` version 0, or none beside a legacy stack file: ``meta.go`` ``ensurePulumiMeta``)
    for every command unless :data:`IGNORE_LEGACY_ERROR` is true; every CLI mlops-infra supports is newer, so
    ``pulumi up`` would stop there. ``pulumi state upgrade`` opens the backend like every other command
    (``pkg/cmd/pulumi/state/state_upgrade.go``: ``cmdBackend.CurrentBackend``), so it needs the variable too.
    ``plan`` warns; ``apply`` refuses before the confirmation (:func:`refuse_legacy_layout`)."""
    environ = os.environ if environ is None else environ
    if (environ.get(IGNORE_LEGACY_ERROR) or "").lower() in ("1", "true"):
        return None
    backend = choose_backend(Path(stack_dir), environ)
    where = _legacy_stacks(Path(stack_dir), backend, s3_client)
    if where is None:
        return None
    return (f"the backend keeps its stacks in the legacy DIY layout ({where}/{stack.split('/')[-1]}.json, no "
            f"`.pulumi/meta.yaml` "
            f"with `version: 1`; backend: {backend.chosen_by}), which Pulumi >= 3.257 refuses for every command: "
            f"\"Legacy DIY state is deprecated, please upgrade your state to project mode using: 'pulumi state "
            f"upgrade'\". Upgrade it once, in the stack directory: `{IGNORE_LEGACY_ERROR}=1 pulumi state upgrade` "
            f"(the upgrade needs the variable to open the backend too; stacks move to .pulumi/stacks/<project>/"
            f"<stack>), or keep the layout with {IGNORE_LEGACY_ERROR}=1 set for plan, apply and pulumi alike")


def refuse_legacy_layout(stack: str, stack_dir: Path, environ: Mapping[str, str] | None = None, *,
                         done: str = "nothing was applied") -> None:
    """Raise :class:`StateError` with :func:`legacy_layout_warning`'s text when there is one (``apply``, before
    its confirmation: ``pulumi up`` would refuse the backend)."""
    warning = legacy_layout_warning(stack, stack_dir, environ)
    if warning:
        raise StateError(str(stack_dir), f"Pulumi refuses the backend's legacy DIY layout; {done}",
                         warning[0].upper() + warning[1:] + ".")


def _legacy_stacks(stack_dir: Path, backend: Backend, s3_client: Any) -> str | None:
    """The legacy stacks folder of a ``file``/``s3`` backend in the legacy layout (shown), else None."""
    if backend.kind == "file":
        root = backend_root(stack_dir, backend.url or None)
        return None if _uses_project_layout(root) else _home_relative(root / STACKS_PREFIX)
    if backend.kind == "s3":
        bucket, prefix, _ = parse_s3_url(backend.url)
        base = f"{prefix}/" if prefix else ""
        where = _redact_url(f"s3://{bucket}/{base}")
        project_layout = _S3_PROJECT_LAYOUT.get(backend.url)  # as the prior state was read: no second client
        if project_layout is None:
            project_layout = _s3_project_layout(s3_client or s3_client_for(backend.url), bucket, base, where)
        return None if project_layout else f"{where}{STACKS_PREFIX}"
    return None


def read_stack_state(project: str, stack: str, stack_dir: Path, environ: Mapping[str, str] | None = None,
                     *, opener: Callable[..., Any] | None = None, s3_client: Any = None) -> LocatedState:
    """The prior state of ``project``/``stack`` from the backend ``pulumi`` would use (module contract).

    ``opener`` (``urllib.request.urlopen``'s signature) and ``s3_client`` are for tests.
    """
    environ = os.environ if environ is None else environ
    backend = choose_backend(stack_dir, environ)
    kind = backend.kind
    if kind == "file":
        return LocatedState(_read_file_backend(project, stack, stack_dir, backend), backend)
    if kind == "s3":
        return LocatedState(_read_s3_backend(project, stack, backend, s3_client), backend)
    if kind == "cloud":
        if opener is None:
            import urllib.request  # with http.client and ssl: imported only for a cloud backend

            opener = urllib.request.urlopen
        return LocatedState(_read_cloud_backend(project, stack, backend, environ, opener), backend)
    shown = _redact_url(backend.url)
    raise StateError(shown, f"mlops-infra cannot read a {kind}:// backend",
                     f"The state is kept at {shown} ({backend.chosen_by}). mlops-infra reads file://, s3:// and "
                     f"Pulumi Cloud backends. Run `pulumi stack export --stack {stack} --file state.json` and "
                     f"pass --state state.json.")


def stranded_state(project: str, stack: str, stack_dir: Path, backend: Backend) -> Path | None:
    """The stack directory's own state file of ``project``/``stack`` when ``backend`` is not the stack
    directory (module contract, point 6), else None."""
    if not backend.url:
        return None
    try:
        if backend.kind == "file" and backend_root(Path(stack_dir), backend.url).resolve() == \
                Path(stack_dir).resolve():
            return None
        return find_state_file(Path(stack_dir), project, stack, None)
    except (StateError, OSError):
        return None


# -- file backend ---------------------------------------------------------------------------------


def _read_file_backend(project: str, stack: str, stack_dir: Path, backend: Backend) -> PriorState:
    url = backend.url or None
    found = find_state_file(stack_dir, project, stack, url)
    if found is None:
        root, stem = backend_root(stack_dir, url), state_file_stem(stack_dir, project, stack, url)
        return _empty(project, stack, f"no stack file for {project}/{stack} in the file backend "
                                      f"{_home_relative(root)}: no {_home_relative(stem)}.json(.gz|.zst)")
    return load_state(found)


# -- S3 backend ----------------------------------------------------------------------------------


def parse_s3_url(url: str) -> tuple[str, str, dict[str, str]]:
    """``s3://bucket/prefix?k=v`` -> (bucket, prefix without slashes, query)."""
    parts = urllib.parse.urlsplit(url)
    query = {k: v[-1] for k, v in urllib.parse.parse_qs(parts.query).items()}
    return parts.netloc, parts.path.strip("/"), query


def s3_client_for(url: str) -> Any:
    """A boto3 S3 client for a ``s3://`` backend URL (region, endpoint, profile from the query)."""
    try:
        import boto3
        from botocore.config import Config
    except ModuleNotFoundError:
        raise StateError(_redact_url(url), "reading an s3:// backend needs boto3",
                         "Install the AWS extra: pip install 'mlops-infra[aws]'.") from None
    _, _, query = parse_s3_url(url)
    session = boto3.Session(profile_name=query.get("profile")) if query.get("profile") else boto3.Session()
    path_style = query.get("s3ForcePathStyle") == "true" or query.get("use_path_style") == "true"
    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=10, read_timeout=30,
                    s3={"addressing_style": "path"} if path_style or query.get("endpoint") else None)
    return session.client("s3", region_name=query.get("region"), endpoint_url=query.get("endpoint") or None,
                          config=config)


def _read_s3_backend(project: str, stack: str, backend: Backend, client: Any) -> PriorState:
    bucket, prefix, _ = parse_s3_url(backend.url)
    project, stack = _split_stack_name(project, stack)
    client = client or s3_client_for(backend.url)
    base = f"{prefix}/" if prefix else ""
    where = _redact_url(f"s3://{bucket}/{base}")  # the prefix (as written, percent-encoded) may hold anything
    project_layout = _S3_PROJECT_LAYOUT[backend.url] = _s3_project_layout(client, bucket, base, where)
    stem = f"{base}{STACKS_PREFIX}/{project}/{stack}" if project_layout else f"{base}{STACKS_PREFIX}/{stack}"
    candidates = [(_s3_head(client, bucket, stem + suffix, where), rank, stem + suffix)
                  for rank, suffix in enumerate(STACK_FILE_SUFFIXES)]
    existing = [candidate for candidate in candidates if candidate[0] is not None]
    if not existing:
        return _empty(project, stack, f"no stack file for {project}/{stack} in {where}")
    # the newest wins; on a tie .json.zst, then .json.gz (as for the file backend: pulumi's stackPath)
    key = max(existing)[2]
    data = _s3_get(client, bucket, key, where)
    if data is None:  # deleted between the two calls
        return _empty(project, stack, f"no stack file for {project}/{stack} in {where}")
    source = _redact_url(f"s3://{bucket}/{key}")
    return parse_state(data, source)


_S3_PROJECT_LAYOUT: dict[str, bool] = {}
"""The layout each ``s3://`` backend URL had when this process read a state from it."""


def _s3_project_layout(client: Any, bucket: str, base: str, where: str) -> bool:
    """Whether ``pulumi`` reads the bucket in project mode (``meta.yaml`` version 1; without one, no legacy
    stack file), as :func:`mlops_infra.state.pulumi_state.find_state_file` decides for a directory."""
    meta = _s3_get(client, bucket, base + META_KEY, where)
    if meta is not None:
        return _meta_version(meta, where + META_KEY) == 1
    return not _s3_has_legacy_stacks(client, bucket, base + STACKS_PREFIX + "/", where)


def _s3_error(where: str, error: BaseException) -> StateError:
    code = getattr(error, "response", {}).get("Error", {}).get("Code", "") if hasattr(error, "response") else ""
    # botocore's own messages quote the request URL (bucket and key, percent-encoded twice, out of the
    # redaction layer's sight): only the endpoint's origin is kept, never the path or query
    reason = f"{code}: {getattr(error, 'response', {}).get('Error', {}).get('Message', '')}".strip(": ") if code \
        else f"{type(error).__name__}: {_without_urls(str(error))}"
    return StateError(where, "cannot read the s3:// backend",
                      f"{reason[:300]}. Check the AWS credentials (the usual chain: AWS_PROFILE, AWS_ACCESS_KEY_ID, "
                      f"...), the region and s3:GetObject/s3:ListBucket on the bucket; or run `pulumi stack export "
                      f"--file state.json` where you can and pass --state state.json.")


def _without_urls(message: str) -> str:
    """``message`` with each URL cut to its scheme, host and port."""
    return re.sub(r"\b([a-z][a-z0-9+.-]*://[^/\s\"'?#]+)[^\s\"']*", lambda m: _redact_url(m.group(1)) + "/...",
                  message)


def _is_missing(error: BaseException) -> bool:
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return False
    code = str(response.get("Error", {}).get("Code", ""))
    return code in ("NoSuchKey", "404", "NotFound")


def _s3_get(client: Any, bucket: str, key: str, where: str) -> bytes | None:
    try:
        return client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as error:
        if _is_missing(error):
            return None
        raise _s3_error(where, error) from None


def _s3_head(client: Any, bucket: str, key: str, where: str) -> Any:
    try:
        return client.head_object(Bucket=bucket, Key=key)["LastModified"]
    except Exception as error:
        if _is_missing(error):
            return None
        raise _s3_error(where, error) from None


def _s3_has_legacy_stacks(client: Any, bucket: str, prefix: str, where: str) -> bool:
    try:
        page = client.list_objects_v2(Bucket=bucket, Prefix=prefix, Delimiter="/", MaxKeys=1000)
    except Exception as error:
        raise _s3_error(where, error) from None
    return any(o["Key"].endswith(STACK_FILE_SUFFIXES) for o in page.get("Contents", ()))


def _meta_version(data: bytes, source: str) -> int:
    import yaml

    try:
        meta = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError):
        meta = None
    version = meta.get("version") if isinstance(meta, dict) else None
    if not isinstance(version, int) or isinstance(version, bool) or version not in (0, 1):
        raise StateError(source, "unreadable backend meta.yaml",
                         "mlops-infra reads layout versions 0 and 1 (`version: 1` is project-scoped stacks).")
    return version


# -- Pulumi Cloud -------------------------------------------------------------------------------


def cloud_api_url(url: str) -> str:
    """The REST API base for a cloud backend URL (``app.pulumi.com`` is the console of ``api.pulumi.com``)."""
    url = url.rstrip("/")
    if urllib.parse.urlsplit(url).netloc.lower() == "app.pulumi.com":
        return PULUMI_CLOUD_API
    return url


def _read_cloud_backend(project: str, stack: str, backend: Backend, environ: Mapping[str, str],
                        opener: Callable[..., Any]) -> PriorState:
    api = cloud_api_url(backend.url)
    token = _cloud_token(backend.url, api, environ)
    parts = stack.split("/")
    if len(parts) == 3:
        org, project, stack = parts
    elif len(parts) == 2:
        org, stack = parts
    else:
        org = _cloud_org(backend.url, api, environ, token, opener)
    path = "/".join(urllib.parse.quote(p, safe="") for p in (org, project, stack))
    where = f"Pulumi Cloud stack {org}/{project}/{stack} at {_redact_url(api)}"
    status, body = _cloud_get(f"{api}/api/stacks/{path}/export", token, opener, where)
    if status == 404:
        return _empty(project, stack, f"no stack {org}/{project}/{stack} in Pulumi Cloud at {_redact_url(api)}")
    return parse_state(body, where)


def _cloud_token(url: str, api: str, environ: Mapping[str, str]) -> str:
    if environ.get("PULUMI_ACCESS_TOKEN"):
        return environ["PULUMI_ACCESS_TOKEN"]
    creds = read_credentials(environ)
    for key in (url, url.rstrip("/"), api):
        account = (creds.get("accounts") or {}).get(key)
        if isinstance(account, dict) and isinstance(account.get("accessToken"), str) and account["accessToken"]:
            return account["accessToken"]
        token = (creds.get("accessTokens") or {}).get(key)
        if isinstance(token, str) and token:
            return token
    raise StateError(_redact_url(api), "no access token for Pulumi Cloud",
                     "Set PULUMI_ACCESS_TOKEN (https://app.pulumi.com/account/tokens) or run `pulumi login`, "
                     "or pass an exported state with --state.")


def _cloud_org(url: str, api: str, environ: Mapping[str, str], token: str, opener: Callable[..., Any]) -> str:
    """The organization ``pulumi`` puts an unqualified stack name in (audit closing-37b-2), in pulumi's order
    (pulumi/pulumi ``pkg/backend/httpstate/backend.go`` ``New`` and ``ParseStackReference``):
    ``PULUMI_DEFAULT_ORGANIZATION`` (``sdk/go/common/env/env.go`` ``DefaultOrg``, "takes precedence over any
    default organization set with `pulumi org set-default`"); else ``backends.<url>.defaultOrg`` in the Pulumi
    home's ``config.json``; else the service's own default, ``GET /api/user/organizations/default``'s
    ``GitHubLogin`` (``pkg/backend/httpstate/client/client.go`` ``GetDefaultOrg``; a 404 is a legacy service
    without it, and an empty name a user in no organization: both go on); else the current user (the login's
    ``accounts.<url>.username``, else ``GET /api/user``'s ``githubLogin``)."""
    if environ.get("PULUMI_DEFAULT_ORGANIZATION"):
        return environ["PULUMI_DEFAULT_ORGANIZATION"]
    config = _read_json_file(pulumi_home(environ) / "config.json", "Pulumi config", "fix or delete it")
    for key in (url, url.rstrip("/"), api):
        default = ((config.get("backends") or {}).get(key) or {}).get("defaultOrg")
        if isinstance(default, str) and default:
            return default
    where = f"Pulumi Cloud at {_redact_url(api)}"
    status, body = _cloud_get(f"{api}/api/user/organizations/default", token, opener, where)
    default = _json_field(body, "githubLogin") if status == 200 else None
    if default:
        return default
    try:
        accounts = read_credentials(environ).get("accounts") or {}
    except EncryptedCredentials:  # the token came from PULUMI_ACCESS_TOKEN: ask the service whose it is
        accounts = {}
    for key in (url, url.rstrip("/"), api):
        account = accounts.get(key) if isinstance(accounts, dict) else None
        if isinstance(account, dict) and isinstance(account.get("username"), str) and account["username"]:
            return account["username"]
    status, body = _cloud_get(f"{api}/api/user", token, opener, where)
    login = _json_field(body, "githubLogin") if status == 200 else None
    if not login:
        raise StateError(_redact_url(api), "cannot tell the Pulumi Cloud organization",
                         "Set PULUMI_DEFAULT_ORGANIZATION or run `pulumi org set-default <org>`, or pass an exported "
                         "state with --state.")
    return login


def _json_field(body: bytes, name: str) -> str | None:
    """The string field ``name`` of a JSON object, its key matched case-insensitively as Go's encoding/json
    matches a struct field without a tag (``apitype.GetDefaultOrganizationResponse.GitHubLogin``)."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    value = next((v for k, v in data.items() if isinstance(k, str) and k.lower() == name.lower()), None)
    return value if isinstance(value, str) and value else None


def _cloud_get(url: str, token: str, opener: Callable[..., Any], where: str) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={
        "Accept": CLOUD_ACCEPT, "Content-Type": "application/json", "Authorization": f"token {token}",
        "User-Agent": "mlops-infra"})
    try:
        with opener(request, timeout=HTTP_TIMEOUT) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return 404, b""
        hint = {401: "The access token is missing, invalid or expired: set PULUMI_ACCESS_TOKEN or `pulumi login`.",
                403: "The token may not read this stack: check the organization and the token's access."
                }.get(error.code, "Pulumi Cloud did not answer; try again, or pass an exported state with --state.")
        raise StateError(where, f"Pulumi Cloud answered HTTP {error.code}", hint) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise StateError(where, "cannot reach Pulumi Cloud",
                         f"{reason}. Check the network and the backend URL, or pass an exported state with "
                         f"--state.") from None


# -- helpers ---------------------------------------------------------------------------------------


def _project_backend_url(stack_dir: Path) -> str | None:
    path = Path(stack_dir) / "Pulumi.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise StateError(str(path), "cannot read the Pulumi project file", str(err)[:300]) from None
    if text in _PROJECT_URLS:  # plan and apply choose the backend several times (state, lock, stranded, layout)
        return _PROJECT_URLS[text]
    import yaml  # only when there is a project file (the parser takes a few milliseconds to import)

    try:
        project = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise StateError(str(path), "cannot read the Pulumi project file", str(err)[:300]) from None
    backend = project.get("backend") if isinstance(project, dict) else None
    url = backend.get("url") if isinstance(backend, dict) else None
    _PROJECT_URLS[text] = url if isinstance(url, str) and url else None
    return _PROJECT_URLS[text]


_PROJECT_URLS: dict[str, str | None] = {}
"""``backend.url`` of each ``Pulumi.yaml`` text parsed (a few milliseconds of YAML each time otherwise)."""


def _read_json_file(path: Path, what: str, fix: str, *, objects_only: bool = False) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as err:
        raise StateError(str(path), f"cannot read the {what} file", f"{err}; {fix}.") from None
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as err:
        raise StateError(str(path), f"the {what} file is not JSON", f"{err}; {fix}.") from None
    if objects_only and not isinstance(data, dict):
        raise StateError(str(path), f"the {what} file is not a JSON object", f"It holds a {type(data).__name__}; "
                                                                             f"{fix}.")
    return data if isinstance(data, dict) else {}


def _home_relative(path: Path) -> str:
    """``path`` with ``~`` for the home, when ``$HOME`` and the home ``pulumi`` uses are one (else whole)."""
    try:
        home = Path.home().resolve()
        if home != user_home().resolve():
            return str(path)
        inside = Path(path).resolve().relative_to(home)
        return "~" if inside == Path() else f"~/{inside}"
    except (ValueError, OSError, RuntimeError):
        return str(path)


def _empty(project: str, stack: str, source: str) -> PriorState:
    empty = PriorState.empty(project, stack)
    return PriorState(source, empty.version, empty.serial, project, stack, {})
