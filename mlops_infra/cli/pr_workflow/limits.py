"""How big the pull-request comment and the job summary may be, and how the plans share them.

Contract: the comment's body (``DIR/comment.md``) is at most :data:`COMMENT_LIMIT` characters and a step's
job summary at most :data:`SUMMARY_LIMIT` UTF-8 bytes; :func:`~mlops_infra.cli.pr_workflow.plans.run_plans`
renders each plan at an equal share of what :data:`COMMENT_FRAME` (and, for the summary,
:data:`SUMMARY_RESERVE`) leave, and :func:`~mlops_infra.cli.pr_workflow.comment.comment_body` and
:func:`~mlops_infra.cli.pr_workflow.comment.summary_content` keep to the same limits.
"""

from __future__ import annotations

COMMENT_LIMIT = 65536

SUMMARY_LIMIT = 1024 * 1024
"""Bytes of one step's job summary. GitHub: "The maximum size of a job summary is 1 MiB per step ...
If a step summary upload exceeds this size, the upload is aborted" ("Adding a job summary",
https://docs.github.com/actions/using-workflows/workflow-commands-for-github-actions#adding-a-job-summary);
the runner says "$GITHUB_STEP_SUMMARY upload aborted, supports content up to a size of 1024k" and
shows none of it."""

SUMMARY_RESERVE = 32 * 1024
"""Bytes of the summary kept for its title and each section's head, failure lines and notes."""

COMMENT_FRAME = 1000
"""Characters of the comment kept for its title, its footer and the note on plans left out; the rest
is shared equally by the sections (:func:`~mlops_infra.cli.pr_workflow.plans.run_plans`)."""

RUN_URL_ROOM = 200
"""Characters counted for each link to the run while the plans are made (the run's URL is known to
the comment step only). A github.com run URL, ``https://github.com/OWNER/REPO/actions/runs/ID``,
fits while ``OWNER/REPO`` and ``ID`` together have at most 167 characters; a longer one (a GitHub
Enterprise Server host) can only make :func:`~mlops_infra.cli.pr_workflow.comment.comment_body` leave a last
section out whole."""
