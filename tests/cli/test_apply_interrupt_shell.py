"""A Ctrl-C that stops apply stops the shell script running it (audit closing-35c-1).

bash(1), SIGNALS: "When bash is running without job control enabled and receives SIGINT while waiting for a
foreground command, it waits until that foreground command terminates and then decides what to do about the
SIGINT: 1. If the command terminates due to the SIGINT, bash concludes that the user meant to end the entire
script, and acts on the SIGINT ... 2. If the command does not terminate due to SIGINT, the program handled the
SIGINT itself and did not treat it as a fatal signal. In that case, bash does not treat SIGINT as a fatal signal,
either." apply handles SIGINT (it lets Pulumi cancel) and then exited 130, so ``apply ...; next`` ran ``next``.
Now the console script, once it has said what happened, ends by the signal itself (``cli/main.py`` ``_die_of``),
as CPython does for an uncaught KeyboardInterrupt (``Modules/main.c`` ``exit_sigint``).

Real bash, the real console script, the real Automation API over the pulumi stand-in (``up="slow"``), the
terminal's Ctrl-C imitated as in tests/cli/test_apply_interrupt.py (SIGINT to the foreground process group:
bash and apply).
"""

from __future__ import annotations

import os
import signal
import subprocess

from tests.cli.test_apply_interrupt import apply, pulumi, repo  # noqa: F401  (fixtures)

SCRIPT = ("bash", "-c", '"$@"; echo "NEXT RAN, status $?"', "bash")
"""A script without ``set -e``: apply, then another command."""


def test_ctrl_c_stops_the_script_that_runs_apply(repo, pulumi, apply) -> None:  # noqa: F811
    """Fails on main 33961cf: bash ran the next command (stdout "NEXT RAN, status 130") and exited 0."""
    run = apply(SCRIPT)
    run.wait_for_up()
    run.ctrl_c()
    code = run.finish()
    stderr = run.stderr()
    assert "NEXT RAN" not in run.stdout(), run.stdout()
    assert code == -signal.SIGINT, (code, stderr)  # bash acted on the SIGINT: it died of it too
    assert "error: interrupted: `pulumi up` was cancelled" in stderr and "Traceback" not in stderr, stderr
    assert pulumi.events() == ["start", "signal", "cancel-finished-cleanly"], stderr


def test_sigterm_to_apply_is_reported_to_the_script_as_143(repo, pulumi, apply) -> None:  # noqa: F811
    """SIGTERM to apply alone (CI, ``kill``): apply ends by SIGTERM, which bash reports as 128 + 15 in ``$?``. bash
    acts only on SIGINT (and SIGQUIT) this way, so its script goes on and can see the 143."""
    run = apply(SCRIPT)
    run.wait_for_up()
    [start] = [r for r in pulumi.records() if r.get("event") == "start"]
    apply_pid = int(subprocess.run(["pgrep", "-P", str(run.process.pid)], capture_output=True, text=True,
                                   check=True).stdout.split()[0])
    assert apply_pid != start["pid"]
    os.kill(apply_pid, signal.SIGTERM)
    code = run.finish()
    assert "NEXT RAN, status 143" in run.stdout(), (run.stdout(), run.stderr())
    assert code == 0
    assert "error: interrupted: `pulumi up` was cancelled" in run.stderr(), run.stderr()
