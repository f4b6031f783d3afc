"""torchvision as an oracle, run in its own process (PyTorch and TensorFlow in one process can
crash): `tests/test_lineage_torchvision.py` runs

    python tests/torchvision_oracle.py counts
        -> JSON {model: sum(p.numel() for p in model.parameters())} on stdout
    python tests/torchvision_oracle.py export NAME OUT.npz HEIGHT WIDTH CLASSES
        -> the model (seeded random weights, random BN statistics, eval mode), a fixed input
           batch and its outputs in OUT.npz: `x` (NCHW), `y` (logits), `w:<state dict key>`

Only torchvision's model definitions are used (no weights are downloaded).
"""

import importlib
import importlib.util
import json
import os
import sys
import types

import numpy as np
import torch

MODELS = ("resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2",
          "wide_resnet101_2", "alexnet", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0",
          "shufflenet_v2_x1_5", "shufflenet_v2_x2_0")


def model_builders():
    """`{name: builder}` from torchvision.models.resnet / .alexnet / .shufflenetv2. Where the
    installed torchvision's compiled operators do not load (a CUDA build beside a CPU torch),
    its package `__init__` fails; the model definitions do not need those operators, so the
    subpackages are then imported under a bare package module."""
    try:
        from torchvision.models import alexnet, resnet, shufflenetv2  # noqa: F401
    except Exception:  # noqa: BLE001 - any failure of torchvision's own __init__
        for key in [k for k in sys.modules if k == "torchvision" or k.startswith("torchvision.")]:
            del sys.modules[key]
        package = types.ModuleType("torchvision")
        package.__path__ = [os.path.dirname(importlib.util.find_spec("torchvision").origin)]
        sys.modules["torchvision"] = package
    modules = [importlib.import_module(f"torchvision.models.{module}")
               for module in ("resnet", "alexnet", "shufflenetv2")]
    return {name: next(getattr(m, name) for m in modules if hasattr(m, name)) for name in MODELS}


def counts():
    builders = model_builders()
    print(json.dumps({name: sum(p.numel() for p in builders[name]().parameters())
                      for name in MODELS}))


def export(name, out, height, width, classes):
    torch.manual_seed(0)
    model = model_builders()[name](num_classes=classes)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5, generator=generator)
                module.bias.uniform_(-0.2, 0.2, generator=generator)
                module.running_mean.uniform_(-0.2, 0.2, generator=generator)
                module.running_var.uniform_(0.5, 1.5, generator=generator)
    model.eval()
    x = np.random.RandomState(0).uniform(size=(2, 3, height, width)).astype("float32")
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy()
    state = {f"w:{key}": value.numpy() for key, value in model.state_dict().items()
             if not key.endswith("num_batches_tracked")}
    np.savez(out, x=x, y=y, **state)


if __name__ == "__main__":
    if sys.argv[1] == "counts":
        counts()
    else:
        name, out, height, width, classes = sys.argv[2:7]
        export(name, out, int(height), int(width), int(classes))
