"""``mlops-infra graph [FILE] [--env ENV] [--format text|json|dot]``: the desired resources.

Contract: loads FILE (default: the quickstart shipped in the package), resolves ENV (optional when
the system has exactly one environment), compiles it and prints the desired graph on stdout:

- ``text``: a tree by component (type, name, key ML facts; custom resources with their role and
  protection), providers and other top-level resources first, then a count line;
- ``json``: :meth:`mlops_infra.graph.DesiredGraph.dumps` (each resource: urn, type, name, parent,
  provider, dependencies, inputs with Pulumi engine names and the ``$ref``/``$json``/``$archive``
  sentinels, options), byte-stable;
- ``dot``: Graphviz, one node per resource, dashed parent -> child edges and solid
  resource -> dependency edges.

An invalid document prints its diagnostics on stderr (with source lines) and exits 1; nothing is
printed on stdout. Every format passes the redaction layer before a byte is printed: a graph
holding a secret-shaped value is refused whole, naming the resource, input path and kind (never
the value). The command never imports Pulumi.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from mlops_infra.cli.inputs import load_for_env, resolve_target
from mlops_infra.cli.output import emit_document, emit_json, error_console, graph_places, keep_for_exit
from mlops_infra.compile import compile_system
from mlops_infra.graph import DesiredGraph, DesiredResource


class Format(StrEnum):
    """Output formats of graph."""

    TEXT = "text"
    JSON = "json"
    DOT = "dot"


def register(app: typer.Typer) -> None:
    """Add the ``graph`` command to ``app``."""
    app.command("graph")(graph)


def graph(
    file: Path | None = typer.Argument(None, help="The MLSystem YAML file (default: ./mlsystem.yaml, else the embedded quickstart).",
                                       show_default=False),
    env: str | None = typer.Option(None, "--env", "-e",
                                   help="Environment to compile (default: the only one, else dev, else the first)."),
    output_format: Format = typer.Option(Format.TEXT, "--format", "-f", help="text, json or dot (Graphviz)."),
) -> None:
    """Print the resources an environment needs: the desired graph the planner and Pulumi program share."""
    err = error_console()
    target = resolve_target(file, env)
    if target.note:
        err.print(target.note)
    system, env = load_for_env(target.path, target.env, err)
    desired = compile_system(system, env)
    if output_format is Format.JSON:  # desired.dumps_bytes(), checked and printed in one pass
        emit_json(desired.written_json(), "the graph", lambda: graph_places(desired))
    else:
        text = render_dot(desired) if output_format is Format.DOT else render_tree(desired)
        emit_document(text, "the graph", lambda: graph_places(desired))
    keep_for_exit(desired, system)


FACT_SKIP = {"factsVersion", "kind", "name"}


def key_facts(facts: dict[str, Any], limit: int = 100) -> str:
    """``key=value`` for the scalar and short-list facts of a component, cut at ``limit`` characters."""
    parts = []
    for key, value in facts.items():
        if key in FACT_SKIP or value is None or value == [] or isinstance(value, dict):
            continue
        text = ",".join(map(str, value)) if isinstance(value, list) else json.dumps(value).strip('"')
        parts.append(f"{key}={text}")
    line = " ".join(parts)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _label(r: DesiredResource) -> str:
    if not r.custom:
        facts = key_facts(r.inputs)
        return f"{r.address or r.name}  {r.type}" + (f"  {facts}" if facts else "")
    extras = [r.role] if r.role else []
    if r.options.protect:
        extras.append("protected")
    return f"{r.type}  {r.name}" + (f"  ({', '.join(extras)})" if extras else "")


def render_tree(desired: DesiredGraph) -> str:
    """The text format: a tree by parent; custom resources before components at each level."""
    children: dict[str | None, list[DesiredResource]] = {}
    for r in desired.resources:
        children.setdefault(r.parent, []).append(r)
    for items in children.values():
        items.sort(key=lambda r: (not r.custom, r.address, r.type, r.name))
    target = ", ".join(f"{k}={v}" for k, v in sorted(desired.metadata.items()) if isinstance(v, str | int))
    lines = [f"{desired.project} / {desired.stack}" + (f"  ({target})" if target else "")]

    def walk(parent: str | None, prefix: str) -> None:
        items = children.get(parent, [])
        for i, r in enumerate(items):
            last = i == len(items) - 1
            lines.append(f"{prefix}{'└── ' if last else '├── '}{_label(r)}")
            walk(r.urn, prefix + ("    " if last else "│   "))

    walk(None, "")
    components = sum(1 for r in desired.resources if not r.custom)
    lines.append(f"{len(desired.resources)} resources: {components} components, "
                 f"{len(desired.resources) - components} cloud resources")
    return "\n".join(lines) + "\n"


def _dot_id(text: str) -> str:
    return json.dumps(text)  # a double-quoted string with quotes and backslashes escaped


def render_dot(desired: DesiredGraph) -> str:
    """The dot format (see the module contract)."""
    lines = [f"digraph {_dot_id(f'{desired.project}-{desired.stack}')} {{", "  rankdir=LR;",
             '  node [shape=box, fontname="Helvetica", fontsize=10];']
    for r in desired.resources:
        shape = "folder" if not r.custom else "hexagon" if r.type.startswith("pulumi:providers:") else "box"
        label = _dot_id(r.type + "\n" + r.name)
        lines.append(f"  {_dot_id(r.urn)} [label={label}, shape={shape}];")
    for r in desired.resources:
        if r.parent:
            lines.append(f"  {_dot_id(r.parent)} -> {_dot_id(r.urn)} [style=dashed, color=gray50, arrowhead=none];")
        lines.extend(f"  {_dot_id(r.urn)} -> {_dot_id(dep)};" for dep in r.dependencies)
    lines.append("}")
    return "\n".join(lines) + "\n"
