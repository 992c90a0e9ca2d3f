"""The test suite (a regular package: sagemaker-core's dependency smdebug-rulesconfig installs a top-level
``tests`` package into site-packages, which would otherwise shadow this namespace package)."""
