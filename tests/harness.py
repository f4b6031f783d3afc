"""One harness for every block: build, exact parameters, exact shape, deterministic names,
block records (every layer in a recorded block, kinds and arguments), `.keras` save and
safe-mode load with identical outputs and the same records."""

import numpy as np

import keras

import cnnblocks


def build(block, input_shape, name="blk"):
    """Wraps `block(x, name=name)` into a model on a `keras.Input(input_shape)`."""
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, block(inputs, name=name), name=f"{name}_model")


def layer_names(model):
    return [layer.name for layer in model.layers[1:]]


def check_block(block, input_shape, *, params, output_shape, tmp_path, name="blk",
                save=True):
    """Asserts the harness' properties for one block; returns the built model."""
    model = build(block, input_shape, name)
    assert model.count_params() == params, (
        f"params: expected {params:,}, got {model.count_params():,}")
    assert tuple(model.output.shape) == (None, *output_shape)
    twin = build(block, input_shape, name)
    assert layer_names(model) == layer_names(twin), "names differ between two builds"
    assert all(n.startswith(name) for n in layer_names(model)), layer_names(model)
    rows = records(model)
    assert rows and all(row.recorded for row in cnnblocks.summarize(model)), \
        "every layer belongs to a recorded block call"
    assert not any(isinstance(layer, (keras.layers.Lambda, keras.Model))
                   for layer in model.layers), "no Lambda layers, no nested models"
    if save:
        x = np.random.RandomState(0).standard_normal((1, *input_shape)).astype("float32")
        path = tmp_path / f"{name}.keras"
        model.save(path)
        loaded = keras.models.load_model(path, safe_mode=True)
        np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                                   rtol=1e-6, atol=1e-6)
        assert layer_names(loaded) == layer_names(model)
        assert records(loaded) == rows, "the block records survive the .keras round trip"
    return model


def records(model):
    """`(name, kind, args, params)` of each summary row."""
    return [(row.name, row.kind, row.args, row.params) for row in cnnblocks.summarize(model)]


class SubclassedModel(keras.Model):
    """A subclassed model (one Dense layer): it has no functional graph, so every function that
    walks a model's graph must refuse it with a ValueError."""

    def __init__(self, name="subclassed"):
        super().__init__(name=name)
        self.dense = keras.layers.Dense(2)

    def call(self, x):
        return self.dense(x)
