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

`prepare` is the whole pipeline of a published weight set (`cnnblocks.family.PretrainedConfig`,
torchvision's `ImageClassification` transform): the shorter side resized with PIL (bilinear by
default; PIL filters over the whole footprint when it shrinks, as torchvision's antialiased
resize does), a center crop, scaling to [0, 1], then mean/std per channel. On PIL images it is
torchvision's own computation (torchvision resizes PIL images with PIL); `tests/` compare it with
torchvision's transforms on a photograph.
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


#: PIL's resampling filters by the names timm's and torchvision's configurations use.
INTERPOLATIONS = ("nearest", "bilinear", "bicubic")


def resized_size(width, height, size):
    """`(width, height)` with the shorter side `size` and the aspect ratio kept, the longer side
    rounded down (torchvision's `Resize(size)` for an int `size`)."""
    size = check.positive_int(size, "size")
    if width <= height:
        return size, int(size * height / width)
    return int(size * width / height), size


def resize_and_crop(image, *, resize_size, crop_size, interpolation="bilinear"):
    """Resizes a PIL image's shorter side to `resize_size`, then crops the central
    `crop_size` square (torchvision's `Resize(resize_size)` + `CenterCrop(crop_size)`).

    The crop's top-left corner is `round((side - crop) / 2)` with Python's rounding (half to
    even), as torchvision's `center_crop`. A crop larger than the resized image is refused.

    Returns:
        The cropped RGB PIL image.
    """
    from PIL import Image
    check.choice(interpolation, "interpolation", INTERPOLATIONS)
    crop_size = check.positive_int(crop_size, "crop_size")
    image = image.convert("RGB")
    width, height = resized_size(image.width, image.height, resize_size)
    if (width, height) != image.size:
        image = image.resize((width, height), getattr(Image.Resampling, interpolation.upper()))
    if crop_size > min(width, height):
        raise ValueError(f"`crop_size` ({crop_size}) is larger than the resized image "
                         f"({width}x{height}); received resize_size={resize_size}.")
    top, left = int(round((height - crop_size) / 2.0)), int(round((width - crop_size) / 2.0))
    return image.crop((left, top, left + crop_size, top + crop_size))


def prepare(images, config=None, *, resize_size=256, crop_size=224, interpolation="bilinear",
            mean=TORCH_MEAN, std=TORCH_STD, data_format=None):
    """Images to a model's input batch, as a published weight set was evaluated.

    Args:
        images: a list of image file paths, PIL images or uint8 RGB arrays (H, W, 3).
        config: a `cnnblocks.family.PretrainedConfig` (e.g.
            `cnnblocks.registry.entry("resnet50").pretrained["torchvision"]`); its
            `resize_size`, `input_size`, `interpolation`, `mean` and `std` replace the
            keyword arguments.
        resize_size, crop_size, interpolation, mean, std: the pipeline without a config
            (defaults: torchvision's ImageNet evaluation: 256, 224, bilinear, ImageNet mean
            and std).
        data_format: None (Keras' setting), `"channels_last"` or `"channels_first"`.

    Returns:
        A float32 array `(n, crop, crop, 3)` (channels first under that data format).

    Example:
        >>> import numpy as np
        >>> from cnnblocks import preprocessing
        >>> image = np.zeros((300, 400, 3), "uint8")
        >>> preprocessing.prepare([image]).shape
        (1, 224, 224, 3)
    """
    from PIL import Image
    if config is not None:
        resize_size, crop_size = config.resize_size, config.input_size
        interpolation, mean, std = config.interpolation, config.mean, config.std
    if data_format is None:
        data_format = keras.config.image_data_format()
    check.choice(data_format, "data_format", ("channels_last", "channels_first"))
    if isinstance(images, (str, os.PathLike, np.ndarray)) or not isinstance(images,
                                                                           (list, tuple)):
        images = [images]
    batch = []
    for item in images:
        if isinstance(item, (str, os.PathLike)):
            with Image.open(item) as opened:
                image = opened.convert("RGB")
        elif isinstance(item, np.ndarray):
            if item.dtype != np.uint8 or item.ndim != 3 or item.shape[-1] != 3:
                raise ValueError("Array images must be uint8 RGB (H, W, 3); received dtype "
                                 f"{item.dtype}, shape {item.shape}.")
            image = Image.fromarray(item)
        else:
            image = item
        image = resize_and_crop(image, resize_size=resize_size, crop_size=crop_size,
                                interpolation=interpolation)
        batch.append(np.asarray(image, dtype=np.float32))
    x = np.stack(batch) / 255.0
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    x = x.astype(np.float32)
    return x.transpose(0, 3, 1, 2) if data_format == "channels_first" else x


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
