"""What the estimate tests compare: a built model's figures and an estimate's, as one tuple
(parameters, trainable parameters, multiply-adds, activations of one image, output shape)."""

import numpy as np

import cnnblocks


def measured(model):
    """The built `model`'s figures (activations: every layer's output but the input's)."""
    return (model.count_params(),
            sum(int(np.prod(w.shape)) for w in model.trainable_weights),
            cnnblocks.count_macs(model),
            sum(int(np.prod(layer.output.shape[1:])) for layer in model.layers[1:]),
            tuple(model.output.shape[1:]))


def estimated(costs):
    """A `cnnblocks.cost.Estimate`'s figures, in `measured`'s order."""
    return (costs.params, costs.trainable, costs.macs, costs.activations, costs.output_shape)
