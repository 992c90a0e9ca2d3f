"""``fileio.write_new_files``: every destination is checked before any file is written; an OS error while
writing removes what the call created and names the path (audit robust-5)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlops_infra import fileio
from mlops_infra.errors import UserError

FILES = {"Pulumi.yaml": "name: x\n", "stacks/dev/Pulumi.yaml": "a\n", "stacks/prod/Pulumi.yaml": "b\n",
         "stacks/prod/__main__.py": "c\n"}


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_a_parent_that_is_a_file_refuses_before_writing_any(tmp_path):
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "prod").write_text("not a folder")
    with pytest.raises(UserError) as caught:
        fileio.write_new_files(tmp_path, FILES, force=False)
    assert caught.value.summary == f"{tmp_path / 'stacks' / 'prod'} is a regular file, not a directory; nothing was written"
    assert caught.value.source == str(tmp_path / "stacks" / "prod")
    assert _tree(tmp_path) == ["stacks", "stacks/prod"]


def test_a_target_that_is_a_file_or_a_device(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(UserError, match="afile is a regular file, not a directory; nothing was written"):
        fileio.write_new_files(afile, FILES, force=True)
    with pytest.raises(UserError, match="/dev/null is a device, not a directory"):
        fileio.write_new_files(Path("/dev/null"), FILES, force=True)
    assert afile.read_text() == "x"


def test_a_name_that_is_a_directory_refuses_even_with_force(tmp_path):
    (tmp_path / "stacks" / "prod" / "__main__.py").mkdir(parents=True)
    with pytest.raises(UserError) as caught:
        fileio.write_new_files(tmp_path, FILES, force=True)
    assert "__main__.py is a directory, not a regular file; nothing was written" in caught.value.summary
    assert _tree(tmp_path) == ["stacks", "stacks/prod", "stacks/prod/__main__.py"]


def test_a_dangling_symlink_is_refused(tmp_path):
    (tmp_path / "Pulumi.yaml").symlink_to(tmp_path / "nowhere")
    with pytest.raises(UserError, match=r"Pulumi\.yaml is a symlink to nothing; nothing was written"):
        fileio.write_new_files(tmp_path, FILES, force=True)
    assert _tree(tmp_path) == ["Pulumi.yaml"]


def test_an_os_error_while_writing_removes_what_it_created(tmp_path, monkeypatch):
    (tmp_path / "Pulumi.yaml").write_text("old\n")
    real = fileio.write_text_atomic
    calls = []

    def failing(path, text, **kw):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real(path, text, **kw)

    monkeypatch.setattr(fileio, "write_text_atomic", failing)
    with pytest.raises(UserError) as caught:
        fileio.write_new_files(tmp_path, FILES, force=True)
    assert caught.value.summary == (f"cannot write {tmp_path / 'stacks/prod/Pulumi.yaml'}: No space left on device; "
                                    "the files this command created were removed again")
    assert f"Replaced before it (kept): {tmp_path / 'Pulumi.yaml'}." in caught.value.detail
    assert _tree(tmp_path) == ["Pulumi.yaml"] and (tmp_path / "Pulumi.yaml").read_text() == "name: x\n"


def test_the_good_path_still_writes_everything(tmp_path):
    fileio.write_new_files(tmp_path / "new", FILES, force=False)
    assert {n: (tmp_path / "new" / n).read_text() for n in FILES} == FILES
    with pytest.raises(UserError, match="4 file\\(s\\) exist already"):
        fileio.write_new_files(tmp_path / "new", FILES, force=False)
    os.chmod(tmp_path / "new" / "Pulumi.yaml", 0o600)
    fileio.write_new_files(tmp_path / "new", {**FILES, "Pulumi.yaml": "y\n"}, force=True)
    assert (tmp_path / "new" / "Pulumi.yaml").read_text() == "y\n"
