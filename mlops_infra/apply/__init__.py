"""Applying a desired graph: the Automation API (needs the Pulumi CLI) and post-apply checks.

- :mod:`.engine`: ``preview``/``up``/``refresh``/``export_state`` of a stack directory;
- :mod:`.verify`: checks after an apply, such as SageMaker's silent rollback of an endpoint update.

Importing this package imports neither Pulumi nor boto3; each module imports what it needs.
"""
