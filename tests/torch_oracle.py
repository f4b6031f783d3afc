"""PyTorch as the oracle of the conversion tests: torchvision's (and timm's) models with random
weights and non-trivial batch-norm statistics, their state dicts on disk, their outputs.

Importing this module needs torch (the tests call `pytest.importorskip("torch")` first).
"""

import sys

import numpy as np
import pytest
import torch

#: Kept alive: a `torch.library.Library` unregisters its definitions when collected.
_SHIM = []


def import_torchvision():
    """`torchvision`, or a skip when it cannot be imported.

    Environment workaround, not part of what is tested: a torchvision wheel whose C extension
    does not match the installed torch (e.g. a CUDA build of torchvision beside a CPU build of
    torch) fails at import in `torchvision/_meta_registrations.py`, which registers fake
    kernels for `torchvision::nms` and `torchvision::qnms` without checking that the extension
    defined them. Where that happens, the two operator schemas are defined here (no kernels)
    and the import retried; the models and transforms the tests use are pure Python. Where the
    extension loads, nothing is done.
    """
    try:
        import torchvision
        return torchvision
    except RuntimeError as err:
        if "torchvision::" not in str(err):
            pytest.skip(f"torchvision cannot be imported: {err}")
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    library = torch.library.Library("torchvision", "DEF")
    for op in ("nms", "qnms"):
        if not hasattr(torch.ops.torchvision, op):
            library.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _SHIM.append(library)
    try:
        import torchvision
    except Exception as err:  # noqa: BLE001 - any failure here means: no oracle, skip
        pytest.skip(f"torchvision cannot be imported: {type(err).__name__}: {err}")
    return torchvision


def import_timm():
    """`timm` (after torchvision, which it imports), or a skip when it is not installed."""
    import_torchvision()
    return pytest.importorskip("timm")


def randomize(model, seed=0):
    """Gives every BatchNorm2d trained-looking statistics (as `cnnblocks.testing.
    randomize_batchnorm` does on the Keras side) and puts the model in inference mode.

    running mean ~ N(0, 0.2), running var ~ U(0.5, 2), gamma ~ U(0.5, 1.5), beta ~ N(0, 0.2);
    a fresh model's BN layers are identities, which would hide a mistake in their conversion.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                module.running_mean.copy_(torch.randn(n, generator=generator) * 0.2)
                module.running_var.copy_(torch.rand(n, generator=generator) * 1.5 + 0.5)
                if module.affine:
                    module.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                    module.bias.copy_(torch.randn(n, generator=generator) * 0.2)
    return model.eval()


def images(size, n=2, seed=0):
    """`n` random NHWC float32 images in [-2, 2] (the range of normalized inputs)."""
    return (np.random.RandomState(seed).rand(n, size, size, 3).astype("float32") * 4 - 2)


def run(model, x, taps=()):
    """The model's output on NHWC images `x`, and the outputs of the submodules `taps` as
    `(tap module, head module)` pairs: head(tap output), e.g. an auxiliary classifier (which
    torchvision evaluates only in training mode)."""
    captured = {}
    hooks = [tap.register_forward_hook(lambda m, i, o, key=id(tap): captured.__setitem__(key, o))
             for tap, _ in taps]
    with torch.no_grad():
        out = model(torch.from_numpy(x.transpose(0, 3, 1, 2)))
        extra = [head(captured[id(tap)]).numpy() for tap, head in taps]
    for hook in hooks:
        hook.remove()
    return [out.numpy(), *extra]


def save(model, folder, stem):
    """The model's state dict as `<stem>.pth` (torch.save) and `<stem>.safetensors`; returns
    both paths."""
    from safetensors.torch import save_file
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    pth, st = folder / f"{stem}.pth", folder / f"{stem}.safetensors"
    torch.save(state, pth)
    save_file(state, str(st))
    return pth, st


def relative_error(ours, reference):
    """max |ours - reference| / max |reference|, over a list of outputs."""
    ours = ours if isinstance(ours, (list, tuple)) else [ours]
    return max(float(np.max(np.abs(np.asarray(a) - b)) / np.max(np.abs(b)))
               for a, b in zip(ours, reference))
