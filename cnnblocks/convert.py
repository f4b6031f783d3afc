"""PyTorch weights into cnnblocks models: torchvision `.pth` state dicts and timm `.safetensors`
files, converted exactly.

The engine knows no architecture. A model's family records, per model, a
`cnnblocks.family.TorchLayout`: which state-dict module (`layer1.0.conv1`) holds the weights of
which Keras layer (`conv2_block1_1_conv`), and which dense layers follow a `Flatten`. The engine
reads the file, transforms each tensor by the type of the layer it goes to, checks every shape,
and assigns everything at once:

- `Conv2D` (grouped too): `weight` (O, I/g, kh, kw) to the kernel (kh, kw, I/g, O); `bias`.
- `DepthwiseConv2D`: `weight` (C m, 1, kh, kw) to the kernel (kh, kw, C, m); `bias`.
- `Dense`: `weight` (O, I), or a convolution's (O, C, kh, kw) used as one, to the kernel
  (I, O); after a `Flatten` of an (H, W, C) map the rows go from PyTorch's C-H-W order to
  Keras' H-W-C. `bias`.
- `BatchNormalization`: `weight`, `bias`, `running_mean`, `running_var` to gamma, beta and the
  moving mean and variance (`num_batches_tracked` is a counter, not a weight).
- `LayerNormalization`: `weight`, `bias` to gamma and beta (torchvision's `LayerNorm2d` on
  channels-first maps normalizes the channels, as Keras' on channels-last).
- `cnnblocks.layers.LayerScale`: the module's own `layer_scale` parameter (C, 1, 1) to gamma
  (C,) (torchvision's ConvNeXt blocks).

Promises:

- **Safe reading.** A `.pth` file is a pickle; reading one never runs code from it: with torch
  installed, `torch.load(weights_only=True)`; without, a restricted reader that rebuilds
  tensors only (torch's zip format and its older single-pickle format) and refuses any other
  object. A `.safetensors` file is read with the `safetensors` package and NumPy (no torch).
- **Exact or refused.** A file that does not fit (another architecture, another variant,
  another number of classes) raises `ConversionError` naming the first mismatching tensor,
  and the model keeps the weights it had. Tensors the model has no layer for are an error,
  except those of layers the layout knows and this model lacks (the classifier without a top,
  auxiliary classifiers).

The engine is `cnnblocks.torch_weights` (below the registry, so the builders load torchvision's
weights through it); this module adds what needs the registry: a model's layout from its
record (`layout_of`) and converting a file for a registered model name (`convert_file`).
"""

import os

from cnnblocks import _validation as check
from cnnblocks import identity, registry, torch_weights
from cnnblocks.torch_weights import (  # noqa: F401  (the engine's public names, re-exported)
    IGNORED_SUFFIXES, ConversionError, assign, plan, read_state_dict, read_torch_pickle)


def layout_of(model):
    """The `TorchLayout` of a cnnblocks model, from its model record (registry name and
    variant).

    Raises:
        ConversionError: the model is not a cnnblocks architecture with a layout, or was built
            with another variant than the layout's.
    """
    record = identity.model_record(model) or {}
    name = record.get("model")
    if not name:
        raise ConversionError(f"Model {model.name!r} is not a registered cnnblocks "
                              "architecture: pass its `layout` (a cnnblocks.family.TorchLayout).")
    return torch_weights.layout_for(registry.entry(name), record.get("variant", "keras"),
                                    model.name)


def load_torch_weights(model, source, layout=None):
    """Loads a PyTorch state dict into a cnnblocks model, exactly (see the module docstring).

    Args:
        model: a model built with `variant="torchvision"` (e.g.
            `cnnblocks.create_model("resnet50", variant="torchvision")`).
        source: a weight file path (`.pth`, `.pt`, `.bin`, `.safetensors`) or a state dict
            (`{key: NumPy array or torch tensor}`).
        layout: a `cnnblocks.family.TorchLayout`; default: the model's registered one.

    Returns:
        The model.

    Raises:
        ConversionError: the file does not fit; the model is unchanged.

    Example:
        >>> import cnnblocks
        >>> from cnnblocks import convert
        >>> model = cnnblocks.create_model("resnet18", variant="torchvision")
        >>> convert.load_torch_weights(model, "resnet18-f37072fd.pth")  # doctest: +SKIP
    """
    return torch_weights.load(model, source, layout_of(model) if layout is None else layout)


def convert_file(model_name, path, output, *, include_top=True, classes=None, **kwargs):
    """Converts a PyTorch weight file into a Keras weight file (`cnnblocks convert`).

    Args:
        model_name: a registered model with a PyTorch layout (e.g. `"resnet50"`).
        path: the `.pth` or `.safetensors` file.
        output: the Keras file to write, ending in `.weights.h5`.
        include_top: bool, keep the classifier. Default True.
        classes: int or None: the classifier's size, at most 1,000,000
            (`cnnblocks._validation.MAX_CLASSES`); default: read from the file.
        **kwargs: more builder arguments (`input_shape`, `aux_classifiers`, ...).

    Returns:
        The built and loaded `keras.Model` (its weights are in `output`).
    """
    output = os.fspath(output)
    if not output.endswith(".weights.h5"):
        raise ValueError(f"`output` must end in '.weights.h5'; received {output!r}.")
    if classes is not None:  # before the file is read (the builder checks it again)
        check.classes(classes)
    entry = registry.entry(model_name, "model_name")
    if entry.torch_layout is None:
        have = [m for m in registry.list_models() if registry.entry(m).torch_layout]
        raise ValueError(f"{entry.name} has no PyTorch layout: models with one: "
                         f"{', '.join(have)}.")
    tensors = read_state_dict(path)
    if include_top and classes is None:
        classes = _classes_in(tensors, entry.torch_layout)
    if include_top and classes is not None:
        kwargs["classes"] = classes
    model = registry.create_model(entry.name, weights=None, include_top=include_top,
                                  variant=entry.torch_layout.variant, **kwargs)
    assign(model, tensors, entry.torch_layout)
    model.save_weights(output)
    return model


def _classes_in(tensors, layout):
    for prefix in layout.layers.get("predictions", ()):
        bias = tensors.get(f"{prefix}.bias")
        if bias is not None:
            return int(bias.shape[0])
    return None


__all__ = ["ConversionError", "read_state_dict", "read_torch_pickle", "load_torch_weights",
           "convert_file", "layout_of", "plan", "assign"]
