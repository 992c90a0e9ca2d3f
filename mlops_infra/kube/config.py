"""Where the cluster is: kubeconfig file and context, the in-cluster service account, or a URL.

Contract of :func:`configuration`:
- ``url`` given: talk to that server with ``token`` (if any) as a bearer token; no file is read. For
  tests (the Kubernetes API stand-in) and ``kubectl proxy``.
- else ``in_cluster=True``, or ``in_cluster=None`` with no ``context`` asked, no kubeconfig file
  present and ``KUBERNETES_SERVICE_HOST`` set (a pod): the pod's service account
  (``kubernetes.config.load_incluster_config``: token and CA under
  ``/var/run/secrets/kubernetes.io/serviceaccount``).
- else the kubeconfig file (``kubeconfig``, else ``$KUBECONFIG``, else ``~/.kube/config``) and its
  ``context`` (else its current context), through ``kubernetes.config.load_kube_config`` (exec and
  OIDC auth plugins included). A missing file or an unknown context is a :class:`UserError` that
  lists the contexts the file has ("did you mean").
- ``kubeconfig_text`` (a kubeconfig's YAML or JSON content, as a stack's ``kubernetes:kubeconfig`` may hold it,
  :mod:`mlops_infra.kube.effective_context`): loaded from the parsed mapping
  (``kubernetes.config.load_kube_config_from_dict``), never written to a file; its contexts are checked as above.

The client's own urllib3 retries are turned off (``retries=False``): :class:`~mlops_infra.kube.client.KubeClient`
retries, bounded, with its own policy.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlops_infra.errors import UserError

INSTALL_HINT = "Install it with `pip install 'mlops-infra[kubernetes]'`."
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass(frozen=True)
class ConnectOptions:
    """How to reach one cluster (see the module contract). ``timeout`` is (connect, read) seconds."""

    context: str | None = None
    kubeconfig: str | None = None
    kubeconfig_text: str | None = field(default=None, repr=False)
    in_cluster: bool | None = None
    url: str | None = None
    token: str | None = None
    timeout: tuple[float, float] = (5.0, 30.0)


def kubernetes_module() -> Any:
    """The ``kubernetes`` package, or a UserError saying how to install it."""
    try:
        import kubernetes
    except ModuleNotFoundError as exc:
        raise UserError("The Kubernetes Python client is not installed", INSTALL_HINT) from exc
    return kubernetes


def kubeconfig_path(options: ConnectOptions, environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    first = (env.get("KUBECONFIG") or "").split(os.pathsep)[0]
    return Path(options.kubeconfig or first or Path.home() / ".kube" / "config").expanduser()


def uses_in_cluster(options: ConnectOptions, environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if options.url or options.kubeconfig_text:
        return False
    if options.in_cluster is not None:
        return options.in_cluster
    return (options.context is None and not kubeconfig_path(options, env).is_file()
            and bool(env.get("KUBERNETES_SERVICE_HOST")))


def configuration(options: ConnectOptions) -> Any:
    """A ``kubernetes.client.Configuration`` for ``options`` (see the module contract)."""
    kubernetes = kubernetes_module()
    config = kubernetes.client.Configuration()
    if options.url:
        config.host = options.url.rstrip("/")
        if options.token:
            config.api_key = {"authorization": f"Bearer {options.token}"}
    elif uses_in_cluster(options):
        try:
            kubernetes.config.load_incluster_config(client_configuration=config)
        except kubernetes.config.ConfigException as exc:
            raise UserError("Cannot use the pod's Kubernetes service account", str(exc)) from exc
    else:
        _load_kubeconfig(kubernetes, options, config)
    config.retries = False
    return config


def _load_kubeconfig(kubernetes: Any, options: ConnectOptions, config: Any) -> None:
    if options.kubeconfig_text is not None:
        _load_kubeconfig_text(kubernetes, options, config)
        return
    path = kubeconfig_path(options)
    if not path.is_file():
        raise UserError(f"No kubeconfig file at {path}",
                        "Point KUBECONFIG at your cluster's kubeconfig (or run inside the cluster), e.g. "
                        "`kind export kubeconfig --name <cluster>`.")
    try:
        contexts, _ = kubernetes.config.list_kube_config_contexts(config_file=str(path))
    except kubernetes.config.ConfigException as exc:
        raise UserError(f"Cannot read the kubeconfig {path}", str(exc)) from exc
    except NOT_A_KUBECONFIG as exc:
        raise _not_a_kubeconfig(path, exc) from None
    names = [c["name"] for c in contexts or []]
    if options.context and options.context not in names:
        close = difflib.get_close_matches(options.context, names, n=1)
        hint = f"Did you mean {close[0]!r}? " if close else ""
        raise UserError(f"The kubeconfig {path} has no context {options.context!r}",
                        f"{hint}Contexts in the file: {', '.join(names) or 'none'}. The environment's "
                        "`target.context` must name one of them.")
    try:
        kubernetes.config.load_kube_config(config_file=str(path), context=options.context,
                                           client_configuration=config)
    except kubernetes.config.ConfigException as exc:
        raise UserError(f"Cannot load the kubeconfig context {options.context or '(current)'} from {path}",
                        str(exc)) from exc
    except NOT_A_KUBECONFIG as exc:
        raise _bad_entry(path, options.context, exc) from None


NOT_A_KUBECONFIG = (yaml.YAMLError, UnicodeDecodeError, TypeError, AttributeError, KeyError, IndexError, ValueError)
"""What the kubernetes client raises for a file that is not a kubeconfig mapping besides its
``ConfigException`` (audit robust-3): it parses the file with ``yaml.safe_load`` and indexes the result
as a mapping unchecked (kubernetes ``config/kube_config.py`` ``KubeConfigMerger`` / ``load_config``), so
a YAML error, a list or a ``contexts: 5`` raise these."""


def _bad_entry(path: Path, context: str | None, exc: BaseException) -> UserError:
    """The error for a kubeconfig that parsed, with the context asked for, whose cluster or user entry the
    client cannot load (audit closing-39a-1): it decodes ``certificate-authority-data``,
    ``client-certificate-data`` and ``client-key-data`` with base64 when it loads the context (kubernetes
    ``config/kube_config.py`` ``FileOrData.as_file``), so a truncated blob raises ``binascii.Error``
    ("Incorrect padding"), a ``ValueError``. Its message is quoted only for that kind (it carries no file
    text); another kind is named by its type."""
    import binascii

    why = f"{type(exc).__name__}: {exc}" if isinstance(exc, binascii.Error) else type(exc).__name__
    return UserError(f"Cannot load the kubeconfig context {context or '(current)'} from {path}",
                     f"Its cluster or user entry is not valid ({why}); a truncated or mangled "
                     "certificate-authority-data, client-certificate-data or client-key-data (base64) is the usual "
                     "cause: copy the entry again from your cluster's kubeconfig.")


def _not_a_kubeconfig(path: Path, exc: BaseException) -> UserError:
    """The error for a kubeconfig file the client cannot read: where (YAML's mark) and what kind of
    error, never the file's text (it may hold a token)."""
    mark = getattr(exc, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return UserError(f"Cannot read the kubeconfig {path}",
                     f"It is not a kubeconfig{where}: {type(exc).__name__}. A kubeconfig is a YAML mapping with "
                     "apiVersion: v1, kind: Config, clusters, contexts and users; fix the file, or point KUBECONFIG "
                     "at your cluster's kubeconfig (e.g. `kind export kubeconfig --name <cluster>`).")


def _load_kubeconfig_text(kubernetes: Any, options: ConnectOptions, config: Any) -> None:
    """``options.kubeconfig_text`` loaded from its parsed mapping; no value of it in an error."""
    import yaml

    where = "the stack's kubernetes:kubeconfig content"
    try:
        data = yaml.safe_load(options.kubeconfig_text or "")
    except yaml.YAMLError:
        data = None
    if not isinstance(data, dict):
        raise UserError(f"Cannot read {where}", "It is neither an existing file's path nor a kubeconfig (YAML or "
                        "JSON): fix kubernetes:kubeconfig in the stack configuration.")
    names = [str(c.get("name")) for c in data.get("contexts") or [] if isinstance(c, dict)]
    if options.context and options.context not in names:
        raise UserError(f"{where} has no context {options.context!r}",
                        f"Contexts in it: {', '.join(names) or 'none'}. Set kubernetes:context to one of them.")
    try:
        kubernetes.config.load_kube_config_from_dict(data, context=options.context, client_configuration=config)
    except kubernetes.config.ConfigException as exc:
        raise UserError(f"Cannot load the context {options.context or '(current)'} of {where}", str(exc)) from exc
