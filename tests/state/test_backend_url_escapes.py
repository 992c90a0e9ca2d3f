"""A stack directory whose path holds characters URLs give a meaning to (``#``, ``?``, ``%``, a space) is the same
folder to ``pulumi`` (through the ``file://`` URL mlops-infra builds) and to ``plan`` (audit yamledge-4).

How ``pulumi`` reads the URL (pulumi/pulumi ``pkg/backend/diy/backend.go`` ``massageBlobPath``, then gocloud
``blob/fileblob`` ``OpenBucketURL``: ``url.Parse(...).Path``) is modelled with ``urllib.parse.urlsplit``, which cuts
the fragment at ``#`` and the query at ``?`` as Go's ``net/url`` does, and ``unquote``, as ``URL.Path`` is decoded."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest

from mlops_infra.apply.engine import StackOptions, backend_url
from mlops_infra.state.backends import stranded_warning
from mlops_infra.state.pulumi_state import StateError, _given_path, backend_root, file_backend_url

ODD_NAMES = ["proj#1", "50%off", "what?", "my state", "été", "a%20b"]


def pulumi_directory(url: str) -> str:
    """The folder ``pulumi`` keeps state in for the ``file://`` URL ``url`` (module docstring)."""
    return urllib.parse.unquote(urllib.parse.urlsplit(url).path)


@pytest.mark.parametrize("name", ODD_NAMES)
def test_apply_hands_pulumi_the_stack_directory_plan_reads(tmp_path, name):
    stack_dir = tmp_path / name / "stacks" / "prod"
    stack_dir.mkdir(parents=True)
    url = backend_url(StackOptions(stack_dir, "prod"), environ={"PULUMI_HOME": str(tmp_path / "home")})
    assert pulumi_directory(url) == str(stack_dir.resolve())
    assert backend_root(stack_dir, url) == stack_dir.resolve()


@pytest.mark.parametrize("name", ODD_NAMES)
def test_the_stranded_state_fix_names_the_url_pulumi_reads_as_the_stack_directory(tmp_path, name):
    stack_dir = tmp_path / name
    state = stack_dir / ".pulumi" / "stacks" / "proj" / "prod.json"
    state.parent.mkdir(parents=True)
    state.write_text('{"version": 3, "checkpoint": {"latest": null}}')
    (stack_dir / ".pulumi" / "meta.yaml").write_text("version: 1\n")
    text = stranded_warning("proj", "prod", stack_dir, {"PULUMI_BACKEND_URL": "s3://team-state"})
    assert text is not None
    url = text.split("PULUMI_BACKEND_URL=", 1)[1].split(" ", 1)[0]
    assert pulumi_directory(url) == str(stack_dir.resolve())


def test_a_users_url_is_read_as_pulumi_reads_it(tmp_path):
    assert backend_root(tmp_path, "file:///x/My%20State") == Path("/x/My State")
    assert backend_root(tmp_path, "file:///x/proj#1/stacks") == Path("/x/proj")
    assert backend_root(tmp_path, "file:///x/y?no_tmp_dir=true") == Path("/x/y")
    assert backend_root(tmp_path, "file:///x/y?bad=%zz") == Path("/x/y")  # url.Query() drops what it cannot decode
    assert backend_root(tmp_path, "file://rel%20dir") == tmp_path / "rel dir"


@pytest.mark.parametrize("url", ["file:///x/50%off", "file:///x/y%2", "file:///x#frag%g0"])
def test_a_bare_percent_is_refused_as_pulumi_refuses_it(tmp_path, url):
    with pytest.raises(StateError) as caught:
        backend_root(tmp_path, url)
    assert "not a percent-escape" in str(caught.value) and "%25" in str(caught.value)


def test_file_backend_url_round_trips(tmp_path):
    folder = tmp_path / "a#b c%d?e"
    assert backend_root(tmp_path, file_backend_url(folder)) == folder.resolve()
    assert file_backend_url(tmp_path / "plain-dir_1.x") == f"file://{(tmp_path / 'plain-dir_1.x').resolve()}"


def test_a_relative_url_is_read_from_the_absolute_path_pulumi_makes_of_it(tmp_path):
    """massageBlobPath makes ``file://.`` absolute (the stack directory) and fileblob parses that as a URL again, so the
    stack directory's own ``#``, ``?`` and ``%`` count (audit closing-45a-2)."""
    assert backend_root(tmp_path / "proj#1" / "stacks", "file://.") == tmp_path / "proj"
    assert backend_root(tmp_path / "what?" / "stacks", "file://.") == tmp_path / "what"
    assert backend_root(tmp_path / "a%20b", "file://.") == tmp_path / "a b"
    with pytest.raises(StateError) as caught:
        backend_root(tmp_path / "50%off" / "stacks", "file://.")
    assert "%of" in str(caught.value) and "50%off" in str(caught.value)


def test_a_windows_drive_url_loses_the_slash_before_its_drive():
    """pulumi/pulumi#24628 (massageBlobPath): on Windows ``file:///C:/x`` is ``C:/x``, not ``/C:/x`` under the current
    drive (audit closing-45a-1)."""
    assert _given_path("/C:/Users/steve?no_tmp_dir=true", windows=True) == "C:/Users/steve"
    assert _given_path("/C:/Users/steve", windows=False) == "/C:/Users/steve"
    assert _given_path("/x/y", windows=True) == "/x/y"
    assert _given_path("~/state", windows=True) == "~/state"
