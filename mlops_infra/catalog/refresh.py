"""Regenerate ``data/sagemaker_instance_types.json`` from botocore's SageMaker service model.

Run ``python -m mlops_infra.catalog.refresh`` after upgrading botocore. The snapshot is shipped so
that validation never loads botocore's 1 MB service model (about 0.3 s) on the hot path.
"""

from __future__ import annotations

import json
from pathlib import Path

SHAPES = {"inference": "ProductionVariantInstanceType", "training": "TrainingInstanceType",
          "processing": "ProcessingInstanceType"}
OUT = Path(__file__).parent / "data" / "sagemaker_instance_types.json"


def snapshot() -> dict:
    """The enums of instance types per SageMaker use, from the installed botocore."""
    import botocore
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    return {
        "source": f"botocore {botocore.__version__} service model sagemaker, shapes {', '.join(SHAPES.values())}",
        **{use: sorted(model.shape_for(shape).enum) for use, shape in SHAPES.items()},
    }


def main() -> None:
    OUT.write_text(json.dumps(snapshot(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
