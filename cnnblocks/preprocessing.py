"""ImageNet preprocessing and decoding, written with NumPy and `keras.ops` (any backend).

Three modes, the ones keras.applications and torchvision weights expect (`tests/` check them
against keras.applications' `preprocess_input` as an oracle):

| mode | what | used by |
|---|---|---|
| `"caffe"` | RGB to BGR, ImageNet mean (103.939, 116.779, 123.68) subtracted, no scaling | VGG, ResNet v1, GoogLeNet |
| `"tf"` | pixels in [0, 255] scaled to [-1, 1] | Xception, Inception-V3 |
| `"torch"` | scaled to [0, 1], then mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225) per RGB channel | torchvision weights |

`decode_predictions` reads the ImageNet class index shipped with the package
(`cnnblocks/data/imagenet_class_index.json`), so it works offline.
"""

import json
import os

import numpy as np

import keras

from cnnblocks import _validation as check

MODES = ("caffe", "tf", "torch")
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
TORCH_MEAN = (0.485, 0.456, 0.406)
TORCH_STD = (0.229, 0.224, 0.225)

#: The ImageNet class index shipped with the package: keras' `imagenet_class_index.json`
#: layout `{"0": ["n01440764", "tench"], ...}`.
CLASS_INDEX_PATH = os.path.join(os.path.dirname(__file__), "data", "imagenet_class_index.json")


def preprocess(x, mode, data_format=None):
    """Preprocesses a batch of RGB images in [0, 255] as `mode` says.

    Args:
        x: array or tensor `(..., H, W, 3)` (or `(..., 3, H, W)` channels first), float values.
        mode: `"caffe"`, `"tf"` or `"torch"` (table in the module docstring).
        data_format: None (Keras' setting), `"channels_last"` or `"channels_first"`.

    Returns:
        A float32 array (for NumPy input) or tensor of the same shape.
    """
    check.choice(mode, "mode", MODES)
    if data_format is None:
        data_format = keras.config.image_data_format()
    check.choice(data_format, "data_format", ("channels_last", "channels_first"))
    is_numpy = isinstance(x, (np.ndarray, list, tuple, int, float))
    x = np.asarray(x, dtype="float32") if is_numpy else keras.ops.cast(x, "float32")
    axis = -1 if data_format == "channels_last" else -3
    if len(x.shape) < 3 or x.shape[axis] != 3:
        raise ValueError(f"`x` must hold RGB images with 3 channels on axis {axis} "
                         f"({data_format}); received shape {tuple(x.shape)}.")
    ops = np if is_numpy else keras.ops
    if mode == "tf":
        return x / 127.5 - 1.0
    shape = [1] * len(x.shape)
    shape[axis] = 3
    if mode == "torch":
        mean = np.reshape(np.asarray(TORCH_MEAN, "float32"), shape)
        std = np.reshape(np.asarray(TORCH_STD, "float32"), shape)
        return (x / 255.0 - mean) / std
    bgr = ops.flip(x, axis=axis)
    return bgr - np.reshape(np.asarray(CAFFE_MEAN_BGR, "float32"), shape)


def class_index():
    """The ImageNet class index shipped with the package: a list of `(synset id, label)`."""
    with open(CLASS_INDEX_PATH, encoding="utf-8") as f:
        index = json.load(f)
    return [tuple(index[str(i)]) for i in range(len(index))]


def decode_predictions(preds, top=5):
    """The `top` most probable ImageNet classes per row of `preds` (batch, 1000).

    Returns:
        A list per row of `(synset id, label, probability)`, best first, as
        keras.applications' `decode_predictions`.
    """
    top = check.positive_int(top, "top")
    preds = np.asarray(keras.ops.convert_to_numpy(preds))
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError("`preds` must be a batch of ImageNet predictions of shape (samples, "
                         f"1000); received shape {preds.shape}.")
    labels = class_index()
    results = []
    for row in preds:
        order = np.argsort(-row, kind="stable")[:top]
        results.append([(*labels[i], float(row[i])) for i in order])
    return results


def family_utils(mode, description):
    """A family's `(preprocess_input, decode_predictions)` pair for `mode`."""
    def preprocess_input(x, data_format=None):
        return preprocess(x, mode, data_format)

    preprocess_input.__doc__ = (f"Preprocesses RGB images in [0, 255] for this family: "
                                f"{description} (`cnnblocks.preprocessing`, mode {mode!r}).")
    return preprocess_input, decode_predictions
