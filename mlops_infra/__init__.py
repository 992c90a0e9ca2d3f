"""mlops-infra: a declarative reconciler for whole ML systems."""

__version__ = "0.1.0"
