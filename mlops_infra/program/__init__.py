"""The Pulumi program: registers exactly the compiled desired graph (one of two packages importing pulumi).

- :func:`run`: the entry point of ``stacks/<env>/__main__.py`` (config, load, compile, register);
- :func:`register_graph`: registers any :class:`~mlops_infra.graph.DesiredGraph` (components per ML
  concept, explicit providers, typed SDK classes, Kubernetes custom resources);
- :mod:`.components`, :mod:`.providers`, :mod:`.types`, :mod:`.inputs`: the pieces.

``tests/program/test_program_mocks.py`` proves the program registers the compiled graph exactly,
for every example and environment, under Pulumi's mocks.
"""

from mlops_infra.program.entry import default_system_file, run
from mlops_infra.program.register import GraphRegistrationError, Registration, register_graph

__all__ = ["GraphRegistrationError", "Registration", "default_system_file", "register_graph", "run"]
