"""``python -m mlops_infra.cli.pr_workflow <step> --dir DIR``: :func:`mlops_infra.cli.pr_workflow.run`."""

from __future__ import annotations

import sys

from mlops_infra.cli.pr_workflow import run

if __name__ == "__main__":
    sys.exit(run())
