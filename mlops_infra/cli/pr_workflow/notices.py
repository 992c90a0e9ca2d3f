"""What ``targets`` found besides the plans to run (``DIR/notices.json``: the repository-wide inputs changed,
name clashes, systems and environments removed or renamed), as the comment's sections
(:func:`notice_sections`): only file names, system and environment names."""

from __future__ import annotations

from pathlib import PurePosixPath

NOTICES = "notices.json"
"""What ``targets`` found about the repository besides the plans to run (:func:`notice_sections`)."""


def notice_sections(notices: dict) -> list[str]:
    """The comment's sections on what ``targets`` found besides plans (``DIR/notices.json``): each
    name clash (:func:`~mlops_infra.cli.pr_workflow.clashes.find_clashes`) as an error, each system or
    environment removed (:func:`removed_section`). Only file names, system and environment names."""
    from mlops_infra.render.markdown import code_span

    texts = []
    if notices.get("repo_wide"):
        paths = ", ".join(code_span(path) for path in notices["repo_wide"])
        texts.append(f"**Every system is planned:** this pull request changes {paths}, which every system's "
                     f"plan depends on (the mlops-infra and packages the plans and `pulumi up` use).\n\n---\n\n")
    for clash in notices.get("clashes", []):
        files = ", ".join(code_span(f"{file}:{line}" if line else file) for file, line in clash["files"])
        envs = ", ".join(code_span(env) for env in clash["envs"])
        name = clash["name"]
        texts.append(
            f"**Error: system files share `metadata.name`** {code_span(name)}: {files} (environment(s) {envs}).\n\n"
            f"They would be ONE Pulumi stack {code_span(f'{name}/<env>')} (the project is `metadata.name`, the "
            f"stack the environment; a stack name is unique within its project) and use the same AWS names "
            f"{code_span(f'{name}-<env>-...')}: applying one replaces or takes over the other's resources. "
            f"Their plans are not shown. Fix: give the new system a `metadata.name` of its own (renaming a "
            f"deployed system replaces its resources, so rename the one not yet applied).\n\n---\n\n")
    texts.extend(removed_section(removed) for removed in notices.get("removed", []))
    return texts


def notices_text(notices: dict, run_url: str, room: int) -> str:
    """The notice sections (:func:`notice_sections`) that fit in ``room`` characters, whole and in
    order, and a note on the rest (the ``targets`` step printed them all to the log)."""
    texts = notice_sections(notices)

    def note(n: int) -> str:
        return f"**{n} more notice(s) did not fit in one comment:** see the log of the [run]({run_url}).\n\n"

    omitted = 0
    while texts and sum(map(len, texts)) + (len(note(omitted)) if omitted else 0) > room:
        texts.pop()
        omitted += 1
    return "".join(texts) + (note(omitted) if omitted else "")


def removed_section(removed: dict) -> str:
    """The comment's section on a system file or environments the pull request removes, or a system
    it renames (:func:`~mlops_infra.cli.pr_workflow.removals.find_removed`): the files go, the resources stay; how
    to destroy them first.

    The ``pulumi destroy`` named runs on the stack's backend: a bare ``pulumi`` in the stack
    directory uses ``PULUMI_BACKEND_URL``, the project's ``backend.url`` or the current login, and
    with none asks to log in to Pulumi Cloud (pulumi/pulumi ``pkg/cmd/pulumi/backend/backend.go``
    ``CurrentBackend``; non-interactive: "PULUMI_ACCESS_TOKEN must be set for login during
    non-interactive CLI sessions", ``pkg/backend/backenderr/backenderr.go``), while ``mlops-infra``
    then keeps the stack in the stack directory (``file://<stack dir>``, needing the passphrase).
    So a stack whose base commit holds ``.pulumi/``
    (:attr:`~mlops_infra.cli.pr_workflow.removals.Removed.local_state`) gets
    ``PULUMI_BACKEND_URL=file://$PWD``; any other, both forms, each with the case it is for."""
    from mlops_infra.render.markdown import code_span

    file, name, envs = removed["file"], removed["name"], removed["envs"]
    local = set(removed.get("local_state", ()))
    system = f"{code_span(file)} ({code_span(name)})" if name else f"{code_span(file)} (its name unreadable)"
    listed = ", ".join(code_span(env) for env in envs) or "its environments"
    directory = PurePosixPath(file).parent

    def destroy(env: str, backend: str) -> str:
        return code_span(f"cd {directory / 'stacks' / env} && {backend}pulumi destroy --stack {env}")

    passphrase = "with the `PULUMI_CONFIG_PASSPHRASE` (or `PULUMI_CONFIG_PASSPHRASE_FILE`) apply used"
    in_dir = [destroy(env, "PULUMI_BACKEND_URL=file://$PWD ") for env in envs if env in local]
    other = [env for env in envs if env not in local]
    parts = []
    if in_dir:
        parts.append(f"{'; '.join(in_dir)} (their state is in the stack directory's `.pulumi/`: {passphrase})")
    if other:
        parts.append(f"{'; '.join(destroy(env, 'PULUMI_BACKEND_URL=file://$PWD ') for env in other)} if apply ran "
                     f"with no `pulumi login` (mlops-infra's default: the state is in the stack directory; "
                     f"{passphrase}), else {'; '.join(destroy(env, '') for env in other)}, which runs against "
                     f"the current `pulumi login` (or the stack's `backend.url`)")
    how = ("; ".join(parts) + " (the stack directories `mlops-infra init` made)" if envs
           else "`pulumi destroy` in each of its stack directories, on the backend apply used")
    renamed = removed.get("renamed_to")
    if renamed:
        stale = removed.get("stale_stacks", ())
        kind = "Error" if stale else "Warning"
        lead = (f"**{kind}: system renamed** {code_span(name)} -> {code_span(renamed)} in {code_span(file)}. "
                f"Not an environment removed: its stacks {code_span(f'{name}/<env>')} (environment(s) {listed}) are "
                f"Pulumi project {code_span(name)}, another project than {code_span(renamed)}, and every AWS and "
                f"Kubernetes name holds `metadata.name`, so nothing is kept by a rename: the plans below are a first "
                f"apply of new resources, and the old ones stay. ")
        if stale:
            dirs = ", ".join(code_span(f"{directory / 'stacks' / env}/Pulumi.yaml") for env in stale)
            lead += (f"The stack directories' {dirs} still name {code_span(name)}, so `mlops-infra apply` refuses "
                     f"there until they are made again (`mlops-infra init --force` next to the system file, in this "
                     f"pull request: it overwrites the stack files, so add back any config you set). ")
        return (f"{lead}Unless the old stacks are destroyed already, destroy them first, from the base branch: "
                f"{how}. Or keep the old name.\n\n---\n\n")
    if removed["file_deleted"]:
        head = f"**System removed:** {system}, environment(s) {listed}. This pull request deletes its file"
    else:
        head = f"**Environment removed:** {listed} of {system}. This pull request removes the environment"
    return (f"{head}, not its resources: removing a Pulumi program or stack directory destroys nothing, "
            f"and after the merge nothing here plans or applies those stacks. Unless they are destroyed "
            f"already, destroy them first, from the base branch: {how}. They are not planned here."
            f"\n\n---\n\n")
