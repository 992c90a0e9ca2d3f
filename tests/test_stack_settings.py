"""mlops_infra.stack_settings: the one reader of a stack's Pulumi settings files (apply's provider-settings pin and
the cluster plan/apply read both use it)."""

from __future__ import annotations

from pathlib import Path

from mlops_infra.stack_settings import configured, is_secure, setting, stack_config_file


def _project(tmp_path: Path, text: str) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: fraud\nruntime: python\n" + text)
    return tmp_path


def test_the_stack_file_sits_beside_the_project_or_in_its_stack_config_dir(tmp_path: Path) -> None:
    assert stack_config_file(_project(tmp_path, ""), "org/fraud/dev") == tmp_path / "Pulumi.org-fraud-dev.yaml"
    assert stack_config_file(_project(tmp_path, "stackConfigDir: config\n"), "dev") == tmp_path / "config" / "Pulumi.dev.yaml"


def test_the_stack_file_wins_over_the_project_whose_wrappers_are_unwrapped(tmp_path: Path) -> None:
    directory = _project(tmp_path, "config:\n  kubernetes:context:\n    value: from-project\n"
                                   "  kubernetes:kubeconfig:\n    default: ~/.kube/other\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  kubernetes:context: from-stack\n")
    assert configured(directory, "dev", "kubernetes:context") == ("from-stack", tmp_path / "Pulumi.dev.yaml")
    assert configured(directory, "dev", "kubernetes:kubeconfig") == ("~/.kube/other", tmp_path / "Pulumi.yaml")
    assert configured(directory, "dev", "aws:region") is None
    assert setting({"config": {"k": {"secure": "v1:abc"}}}, "k", project=True) == {"secure": "v1:abc"}


def test_a_secure_value_is_found_wherever_it_sits() -> None:
    assert is_secure({"secure": "v1:abc"}) and is_secure({"a": [{"secure": "v1:abc"}]})
    assert not is_secure({"secure": 3}) and not is_secure("v1:abc") and not is_secure({"value": "x"})
