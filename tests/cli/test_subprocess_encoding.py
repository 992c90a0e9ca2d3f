"""What ``pulumi``, ``git``, promtool and a child ``mlops-infra`` print is read as UTF-8, not in the locale's code page
(audit portab45-8). ``text=True`` decodes with the locale encoding (subprocess docs), on Windows the ANSI code page,
while Go programs and git write UTF-8: a DIY backend's ``pulumi whoami`` (the OS account, pulumi/pulumi
``pkg/backend/diy/backend.go`` ``CurrentUser``: ``user.Current()`` ... ``Username``) of ``PC\\Łukasz`` holds byte
0x81, undefined in cp1250 and cp1252, and apply's preflight died of a UnicodeDecodeError.

A locale that cannot decode UTF-8 is modelled by a fresh interpreter in the C locale with UTF-8 mode and locale
coercion off (``-X utf8=0``, ``PYTHONCOERCECLOCALE=0``: the locale encoding is then ASCII), with stand-ins for the
tools on PATH."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
USER = "WIN-7\\Łukasz"
NAME = "Łukasz Żółć"
PATH_IN_REPO = "données/mlsystem.yaml"
TOOL_SAYS = "règle « échouée » → データ"

SCRIPT = r'''
import json, locale, sys
from pathlib import Path
from mlops_infra.apply import engine
from mlops_infra.cli.commands import test_alerts
from mlops_infra.cli.pr_workflow import plans, targets
from mlops_infra.promote import record

bin_dir, work = Path(sys.argv[1]), Path(sys.argv[2])
found = {"locale": locale.getpreferredencoding(False)}
calls = {"whoami": lambda: engine._run_cli(["whoami"], {"PATH": str(bin_dir)}, work, "x"),
         "git_user": lambda: record.who_am_i(work),
         "git_paths": lambda: targets.git_lines("ls-files", "-z", cwd=work),
         "plan_stdout": lambda: plans._run_logged(work, [str(bin_dir / "tool")]).stdout,
         "tools_failed": lambda: test_alerts._run_tools(work, ["tests-a.yaml"])}
for name, call in calls.items():
    try:
        found[name] = call()
    except Exception as error:  # each call site on its own
        found[name] = f"raised {type(error).__name__}"
print(json.dumps(found))
'''


def _stand_in(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(0o755)


def test_tool_output_is_read_as_utf8_in_a_locale_that_is_not(tmp_path: Path) -> None:
    bin_dir, work = tmp_path / "bin", tmp_path / "work"
    bin_dir.mkdir()
    work.mkdir()
    _stand_in(bin_dir / "pulumi", f"printf '%s\\n' '{USER}'\n")
    _stand_in(bin_dir / "git", f"""case "$1" in
  config) [ "$2" = user.name ] && printf '%s\\n' '{NAME}' || printf 'l@example.com\\n' ;;
  ls-files) printf '%s\\0' '{PATH_IN_REPO}' 'mlsystem.yaml' ;;
esac
""")
    _stand_in(bin_dir / "tool", f"printf '%s\\n' '{TOOL_SAYS}'\n")
    for tool in ("promtool", "amtool"):
        _stand_in(bin_dir / tool, f"printf '%s\\n' '{TOOL_SAYS}' >&2; exit 1\n")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0",
           "PYTHONPATH": str(REPO), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-X", "utf8=0", "-c", SCRIPT, str(bin_dir), str(work)], env=env,
                          capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    found = json.loads(done.stdout.decode("ascii").splitlines()[-1])
    assert found["locale"].lower() in ("ansi_x3.4-1968", "ascii", "us-ascii")  # the model holds
    assert found["whoami"] == USER + "\n"
    assert found["git_user"] == f"{NAME} <l@example.com>"
    assert found["git_paths"] == [PATH_IN_REPO, "mlsystem.yaml"]
    assert found["plan_stdout"] == TOOL_SAYS + "\n"
    assert found["tools_failed"] is True
