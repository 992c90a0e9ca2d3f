"""Pulumi program of this stack: registers the desired graph of one environment (docs/pulumi.md)."""

from mlops_infra.program import run

run()
