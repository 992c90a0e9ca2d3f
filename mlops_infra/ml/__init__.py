"""ML knowledge the checks, compilers and plan share: model memory, checkpoints, framework images.

- :mod:`.dtypes`: bytes per element of the dtypes the spec and checkpoint files name.
- :mod:`.size`: :class:`~.size.ModelSize`, what is known about a model's size (from the spec's
  ``parameters``/``dtype`` or from a checkpoint), and how to get it for a spec model.
- :mod:`.memory`: the published memory formulas (serving: weights, KV cache, runtime overhead;
  training: weights, gradients, optimizer states, activations), pure arithmetic.
- :mod:`.checkpoints`: reads safetensors headers and PyTorch / TorchScript / ``torch.export``
  archives without loading weights or running code (torch is optional).
- :mod:`.images`: SageMaker framework container URIs from the SageMaker SDK's bundled image
  configuration, offline (the SDK is optional).

Contract: pure except :mod:`.checkpoints` (reads the files it is given) and nothing here imports
torch or the SageMaker SDK at module import time, so ``validate`` and ``plan`` pay for neither
unless a model names an artifact or a framework version.
"""
