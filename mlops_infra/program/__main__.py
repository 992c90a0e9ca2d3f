"""Program entry for a Pulumi project whose ``main`` points here (the root ``Pulumi.yaml``).

Equivalent to ``stacks/<env>/__main__.py``: ``mlops_infra.program.run()`` reads ``mlops:systemFile``
and ``mlops:environment`` from the stack config (defaults: the bundled example, the stack name).
"""

from mlops_infra.program import run

run()
