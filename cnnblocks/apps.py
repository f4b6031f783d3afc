"""Image classification with a registered model: the `cnnblocks classify` command's logic.

Each family's preprocessing (`preprocess_input` in its module, recorded in its `FAMILY`) is
`cnnblocks.preprocessing`'s, checked against keras.applications' in the tests; a published
weight set such as `"torchvision"` carries its own (`PretrainedConfig`: resize, crop, mean,
std), applied with `cnnblocks.preprocessing.prepare`. The ImageNet class index ships with the
package, so labels need no download. Only the weight file comes from the Keras cache (checked
against its published hash), with a clear message offline.
"""

import json
import os
import sys
import time

import numpy as np

import keras

from cnnblocks import _validation as check
from cnnblocks import preprocessing, registry
from cnnblocks import weights as weight_files


class MissingFilesError(FileNotFoundError):
    """Files the command needs are neither in the Keras cache nor downloadable.

    Attributes:
        missing: list of `(file name, URL)`.
        folder: where to put them.
        reasons: why each download failed, as text.
    """

    def __init__(self, missing, folder, reasons=(), hint=""):
        self.missing, self.folder, self.reasons = list(missing), folder, tuple(reasons)
        names = "\n".join(f"  {name}  (from {url})" for name, url in self.missing)
        why = "".join(f"\n  ({reason})" for reason in self.reasons)
        super().__init__(
            f"these files are missing and could not be downloaded:\n{names}{why}\n"
            f"Put them in {folder} (the Keras cache: $KERAS_HOME/models, else "
            f"~/.keras/models) and run the command again.{hint}")


def preprocessing_for(model_name):
    """The preprocessing function of a registered model (its family's `preprocess_input`)."""
    return registry.family_of(model_name).preprocess_input


def imagenet_weights(model_name):
    """The checked local path of a model's ImageNet weight file (with top), from the Keras
    cache or downloaded; `KERAS_HOME` is read now.

    Raises:
        ValueError: the model has no ImageNet weights.
        MissingFilesError: the file is neither cached nor downloadable; names it and the folder.
        cnnblocks.weights.WeightFileError: the cached file has the wrong hash.
    """
    entry = registry.entry(model_name, "model_name")
    if entry.imagenet is None:
        have = ", ".join(m for m in registry.list_models()
                         if registry.entry(m).imagenet is not None)
        raise ValueError(f"No ImageNet weights are published for {model_name!r} (models with "
                         f"them: {have}); pass the path of a weight file instead.")
    try:
        return weight_files.imagenet_file(entry, include_top=True)
    except weight_files.WeightsUnavailableError as err:
        spec = entry.imagenet[0]
        raise MissingFilesError([(spec.filename, spec.url)], weight_files.keras_cache_dir(),
                                [str(err)[:300]]) from None


def pretrained_weights(model_name, weights):
    """The checked local path of a model's published weight set (`"torchvision"`, ...), from
    the Keras cache or downloaded, and its `PretrainedConfig`.

    Raises:
        ValueError: the model has no weight set of that name (the message lists those it has).
        MissingFilesError: the file is neither cached nor downloadable; names it and the folder.
        cnnblocks.weights.WeightFileError: the cached file has the wrong hash.
    """
    entry = registry.entry(model_name, "model_name")
    config = entry.pretrained.get(weights)
    if config is None:
        have = ", ".join(repr(n) for n in entry.pretrained) or "none"
        raise ValueError(f"{entry.name} has no weight set {weights!r} (it has: {have}); pass "
                         "'imagenet', one of those or the path of a weight file.")
    try:
        return weight_files.pretrained_file(entry, weights), config
    except weight_files.WeightsUnavailableError as err:
        raise MissingFilesError([(config.file.filename, config.file.url)],
                                weight_files.keras_cache_dir(), [str(err)[:600]]) from None


def read_labels(path):
    """Reads class labels: keras' `imagenet_class_index.json` layout
    (`{"0": ["n01440764", "tench"], ...}`) or a text file with one label per line.

    Returns:
        A list of `(class id, label)` in class order (class id is `""` for a text file).

    Raises:
        ValueError: the file is not one of those layouts; the message names the file.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError as err:
        raise ValueError(f"Label file {path!r} is not UTF-8 text (byte {err.start}: "
                         f"{err.reason}); save it as UTF-8.") from None
    if path.endswith(".json"):
        try:
            index = json.loads(text)
            labels = [tuple(index[str(i)]) for i in range(len(index))]
            if not labels or any(len(entry) != 2 for entry in labels):
                raise ValueError("entries must be [class id, label] pairs")
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"Label file {path!r} is not in keras' class-index layout "
                             f'{{"0": ["n01440764", "tench"], ...}} with keys 0..N-1 '
                             f"({type(err).__name__}: {err}).") from None
        return [(str(wnid), str(label)) for wnid, label in labels]
    labels = [line.strip() for line in text.splitlines() if line.strip()]
    if not labels:
        raise ValueError(f"Label file {path!r} has no labels (one label per line expected).")
    return [("", label) for label in labels]


def check_images(paths):
    """Raises ValueError naming every path that is missing or not an image (cheap: headers
    only, so a typo is reported before a model is built)."""
    from PIL import Image
    bad = []
    for path in paths:
        try:
            with Image.open(path) as image:
                image.verify()
        except Exception as exc:  # PIL raises several types for unreadable files
            bad.append(f"{os.fspath(path)!r} ({type(exc).__name__}: {exc})")
    if bad:
        raise ValueError(f"Cannot read image file(s): {'; '.join(bad)}.")


def load_images(paths, size):
    """Loads images as RGB, resized to `size` = (height, width) with bilinear interpolation
    (the aspect ratio is not kept, as in keras.applications' examples).

    Returns:
        A float32 array `(n, height, width, 3)` (channels first under that data format),
        pixel values in [0, 255].

    Raises:
        ValueError: a file is missing or is not an image; the message names it.
    """
    arrays = []
    for path in paths:
        try:
            image = keras.utils.load_img(path, color_mode="rgb", target_size=tuple(size),
                                         interpolation="bilinear")
        except Exception as exc:  # PIL raises several types for unreadable files
            raise ValueError(f"Cannot read image {os.fspath(path)!r} "
                             f"({type(exc).__name__}: {exc}).") from None
        arrays.append(keras.utils.img_to_array(image, dtype="float32"))
    return np.stack(arrays)


def top_k(probabilities, labels, k):
    """`[(class id, label, probability), ...]`, the `k` most probable classes, best first."""
    order = np.argsort(-np.asarray(probabilities), kind="stable")[:k]  # ties: lower class first
    return [(*labels[i], float(probabilities[i])) for i in order]


def _image_shape(input_shape):
    """`input_shape` as a tuple of 3 positive ints with 3 channels: images are read as RGB."""
    echo = check.describe(input_shape)
    if (not isinstance(input_shape, (list, tuple)) or len(input_shape) != 3
            or any(isinstance(d, bool) or not isinstance(d, int) or d < 1
                   for d in input_shape)):
        raise ValueError(f"`input_shape` must be (height, width, 3) (or (3, height, width) "
                         f"channels first) with positive ints; received {echo}.")
    channels = input_shape[0] if keras.config.image_data_format() == "channels_first" else (
        input_shape[-1])
    if channels != 3:
        raise ValueError(f"`input_shape` must have 3 channels: classify reads images as RGB and "
                         f"preprocesses them for RGB models; received {echo}.")
    return tuple(input_shape)


def _progress(message):
    print(f"[cnnblocks classify] {message}", file=sys.stderr, flush=True)


def classify(images, model_name, *, weights="imagenet", top=5, labels=None, input_shape=None,
             batch_size=16, progress=_progress):
    """Classifies image files with a registered model.

    Args:
        images: list of image file paths.
        model_name: str, a registered model name, e.g. `"resnet50"`.
        weights: `"imagenet"` (keras.applications' file from the Keras cache, checked against
            its hash, downloaded when missing), the name of another published weight set of
            the model (`"torchvision"`: its file is found the same way and converted, its
            structure built, and the images prepared as its configuration says: resize,
            center crop, mean and std) or the path of a weight file for the model with its
            top.
        top: int, how many classes to return per image. Default 5.
        labels: None (the ImageNet class index shipped with cnnblocks) or a label file (see
            `read_labels`); the model is built with that many classes.
        input_shape: None (the model's ImageNet size: 224 or 299) or (H, W, 3) (not with
            ImageNet weights; 3 channels, as images are read as RGB: a 1-channel shape is a
            ValueError).
        batch_size: images per forward pass. Default 16.
        progress: callable taking a message, or None; the default writes to stderr.

    Returns:
        A list with, per image, `[(class id, label, probability), ...]` best first.

    Raises:
        MissingFilesError: the ImageNet weight file is missing and not downloadable.
        ValueError / TypeError: bad arguments, unreadable images, a label file that is not
            UTF-8, weights that do not fit.

    Example:
        >>> from cnnblocks import apps
        >>> apps.classify(["cat.jpg"], "resnet50")  # doctest: +SKIP
        [[('n02123045', 'tabby', 0.41), ...]]
    """
    say = progress or (lambda message: None)
    if isinstance(images, (str, os.PathLike)) or not images:
        raise TypeError(f"`images` must be a non-empty list of file paths, received {images!r}.")
    top = check.positive_int(top, "top")
    batch_size = check.positive_int(batch_size, "batch_size")
    preprocess = preprocessing_for(model_name)
    check_images(images)
    imagenet = isinstance(weights, str) and weights == "imagenet"
    named = isinstance(weights, str) and weights in registry.entry(model_name).pretrained
    if not imagenet and not named and not (isinstance(weights, (str, os.PathLike))
                                           and os.path.isfile(weights)):
        sets = "".join(f", {n!r}" for n in registry.entry(model_name).pretrained)
        raise ValueError(f"`weights` must be 'imagenet'{sets} or the path of an existing weight "
                         f"file; received {weights!r}.")
    if named and input_shape is not None:
        raise ValueError(f"`input_shape` cannot be given with weights={weights!r}: the weight "
                         f"set's configuration fixes the input size; received {input_shape!r}.")
    if labels is not None and not os.path.isfile(labels):
        raise ValueError(f"`labels` file not found: {labels!r}.")
    if input_shape is not None:
        input_shape = _image_shape(input_shape)
    config = None
    if named:
        weight_path, config = pretrained_weights(model_name, weights)
    else:
        weight_path = imagenet_weights(model_name) if imagenet else os.fspath(weights)
    index_path = labels if labels is not None else preprocessing.CLASS_INDEX_PATH
    class_labels = read_labels(index_path)
    kwargs = {} if input_shape is None else {"input_shape": input_shape}
    if config is not None:
        size = config.input_size
        kwargs = {"input_shape": (size, size, 3) if keras.config.image_data_format() ==
                  "channels_last" else (3, size, size), "variant": config.variant}
    start = time.perf_counter()
    say(f"building {model_name} with weights {weight_path} ...")
    model = registry.create_model(model_name, weights=weights if named else weight_path,
                                  classes=len(class_labels), **kwargs)
    say(f"built {model.name} in {time.perf_counter() - start:.1f} s")
    shape = tuple(model.input.shape[1:])
    size = shape[:2] if keras.config.image_data_format() == "channels_last" else shape[1:]
    results = []
    for first in range(0, len(images), batch_size):
        chunk = images[first:first + batch_size]
        say(f"classifying images {first + 1}-{first + len(chunk)} of {len(images)} at "
            f"{size[0]}x{size[1]}")
        if config is not None:  # the weight set's own pipeline: resize, crop, mean/std
            batch = preprocessing.prepare(list(chunk), config)
        else:
            batch = preprocess(load_images(chunk, size))
        probabilities = keras.ops.convert_to_numpy(model(batch, training=False))
        results += [top_k(row, class_labels, top) for row in probabilities]
    return results


def format_results(images, results):
    """Text for stdout: per image its path, then one line per class."""
    lines = []
    for path, rows in zip(images, results):
        lines.append(f"{os.fspath(path)}:")
        for rank, (wnid, label, probability) in enumerate(rows, 1):
            ident = f" ({wnid})" if wnid else ""
            lines.append(f"  {rank}. {probability:7.2%}  {label}{ident}")
    return "\n".join(lines)
