"""Issue 28, still open items: a builder's name with `name=None`, the input layer's name,
duplicate block names, two models built flat on one input, and `classify`'s errors for a
1-channel model and a non-UTF-8 label file. Each case fails on the code before the fix."""

import numpy as np
import pytest
from PIL import Image

import keras

import cnnblocks
from cnnblocks import apps
from cnnblocks.blocks import inception_module, vgg_block


def test_name_none_gives_the_builders_default_name():
    # keras.applications' builders name their models (`resnet50`); `name=None` was
    # `functional` (Keras' name for an unnamed model)
    assert cnnblocks.ResNet18(weights=None, input_shape=(32, 32, 3), name=None).name == \
        "resnet18"
    assert cnnblocks.EfficientNetB0(weights=None, include_top=False, input_shape=(32, 32, 3),
                                    name=None).name == "efficientnetb0"
    assert cnnblocks.ResNet18(weights=None, input_shape=(32, 32, 3), name="mine").name == "mine"
    assert cnnblocks.MobileNet(weights=None, input_shape=(128, 128, 3), name=None).name == \
        "mobilenet_1.00_128"  # keras.applications' own rule, unchanged


def test_input_layer_name_is_the_same_in_every_build():
    first = cnnblocks.VGG11(weights=None, include_top=False, input_shape=(32, 32, 3))
    second = cnnblocks.VGG11(weights=None, include_top=False, input_shape=(32, 32, 3))
    # was input_layer_<n>, input_layer_<n + 1>: keras.applications' name in a fresh session
    assert first.layers[0].name == second.layers[0].name == "input_layer"
    assert [layer.name for layer in first.layers] == [layer.name for layer in second.layers]
    # two such models still combine (nested, each under its name)
    image = keras.Input((32, 32, 3))
    pair = keras.Model(image, [first(image), keras.Model(second.input, second.output,
                                                         name="other")(image)])
    assert len(pair.outputs) == 2


@pytest.mark.backend_independent
def test_duplicate_block_names_are_refused_by_cnnblocks():
    inputs = keras.Input((16, 16, 3))
    x = vgg_block(inputs, 4, 1, name="b1")
    with pytest.raises(ValueError, match=r"^`name` 'b1' of this vgg_block is already the name "
                                         r"of a vgg_block block this block's input is computed "
                                         r"from; give each block of a model its own name"):
        vgg_block(x, 4, 1, name="b1")
    with pytest.raises(ValueError, match=r"`name` 'b1' of this inception_module is already the "
                                         r"name of a vgg_block block"):
        inception_module(x, 4, 4, 4, 4, 4, 4, name="b1")  # another kind, layers named apart
    y = vgg_block(x, 4, 1, pool=False, name="b2")  # neighbours: other names, unnamed blocks
    y = vgg_block(y, 4, 1, pool=False)
    y = vgg_block(y, 4, 1, pool=False)
    assert keras.Model(inputs, y).count_params() > 0
    # the same name on a branch that is not upstream: two models built on one input
    other = vgg_block(inputs, 4, 1, name="b2")
    assert keras.Model(inputs, other).layers[-1].name == "b2_pool"


def test_two_models_built_flat_on_one_input_clash_clearly():
    x = keras.Input((32, 32, 3))
    cnnblocks.VGG11(input_tensor=x, weights=None, include_top=False, pooling="avg")
    # both have keras.applications' head name `avg_pool`: Keras refused the pair later with
    # 'The name "avg_pool" is used 2 times in the model'
    with pytest.raises(ValueError, match=r"^`input_tensor`: resnet18 would have layers named "
                                         r"as those of another model already built on this "
                                         r"input \('avg_pool'; 1 in all\).*`model\(input_tensor"
                                         r"\)` nests it under its name 'resnet18'"):
        cnnblocks.ResNet18(input_tensor=x, weights=None, include_top=False, pooling="avg")
    # neighbours: without a shared name they combine flat, single models keep keras' names
    x = keras.Input((32, 32, 3))
    a = cnnblocks.VGG11(input_tensor=x, weights=None, include_top=False)
    b = cnnblocks.ResNet18(input_tensor=x, weights=None, include_top=False, pooling="avg")
    assert b.layers[-1].name == "avg_pool"
    assert len(keras.Model(x, [a.output, b.output]).outputs) == 2
    # an input tensor computed by the user's own layers is no clash
    pre = keras.layers.Conv2D(3, 1, name="pre")(keras.Input((32, 32, 3)))
    assert cnnblocks.ResNet18(input_tensor=pre, weights=None).get_layer("pre") is not None


@pytest.fixture
def picture(tmp_path):
    path = tmp_path / "a.png"
    Image.fromarray(np.random.RandomState(0).randint(0, 256, (20, 20, 3)).astype("uint8")).save(
        path)
    return str(path)


@pytest.mark.parametrize("shape,message", [
    ((32, 32, 1), "`input_shape` must have 3 channels: classify reads images as RGB"),
    ((32, 32, 4), "`input_shape` must have 3 channels"),
    ((32, 32), "`input_shape` must be (height, width, 3)"),
    ((32, 32, "3"), "`input_shape` must be (height, width, 3)"),
])
def test_classify_refuses_an_input_that_is_not_rgb(tmp_path, picture, shape, message):
    weight_file = tmp_path / "r18.weights.h5"
    weight_file.write_bytes(b"")
    with pytest.raises(ValueError) as info:
        apps.classify([picture], "resnet18", weights=str(weight_file), input_shape=shape,
                      progress=None)
    assert message in str(info.value) and repr(shape) in str(info.value)


def test_classify_refuses_a_label_file_that_is_not_utf8(tmp_path, picture):
    labels = tmp_path / "labels.txt"
    labels.write_bytes("zéro\none\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"Label file '.*labels.txt' is not UTF-8 text "
                                         r"\(byte 1: invalid continuation byte\); save it as "
                                         r"UTF-8."):
        apps.read_labels(labels)
    labels.write_bytes("zéro\none\n".encode("utf-8"))  # neighbour: the same labels in UTF-8
    assert apps.read_labels(labels) == [("", "zéro"), ("", "one")]
