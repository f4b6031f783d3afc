"""Image classification with a registered model: the `cnnblocks classify` command's logic.

Each family's preprocessing is keras.applications' public function for that family (wrapped in
the family's module); the ImageNet class index is read by this module from the Keras cache, so
an offline machine gets a clear message instead of a download error deep inside Keras.

Preprocessing per registry name (`PREPROCESSING`):

| models | input | preprocessing |
|---|---|---|
| vgg11/13/16/19, resnet18/34/50/101/152 | 224 | "caffe": RGB -> BGR, ImageNet mean subtracted |
| xception, inception_v3 | 299 | "tf": pixels scaled to [-1, 1] |
| googlenet | 224 | "caffe", as the reference BVLC Caffe model (BGR, mean 104/117/123) |
"""

import contextlib
import difflib
import json
import os
import sys
import time

import numpy as np

import keras

from cnnblocks import _validation as check
from cnnblocks import weights as weight_files
from cnnblocks.architectures import googlenet, inception_v3, resnet, vgg, xception
from cnnblocks.registry import create_model, list_models

#: keras.applications' ImageNet class index: {"0": ["n01440764", "tench"], ...}, kept by Keras
#: in the cache's "models" folder. Source: keras.applications.imagenet_utils, Keras 3.15.
CLASS_INDEX = weight_files.WeightFile(
    "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json",
    "c2c37ea517e94d9795004a39431a14cb")

#: Registry name -> preprocessing function (keras.applications' public function per family).
#: GoogLeNet has none in keras.applications; the reference Caffe model it follows was trained on
#: BGR images with the ImageNet mean subtracted, which is VGG's "caffe" mode.
PREPROCESSING = {
    **{name: vgg.preprocess_input for name in vgg.MODELS},
    **{name: resnet.preprocess_input for name in resnet.MODELS},
    **{name: xception.preprocess_input for name in xception.MODELS},
    **{name: inception_v3.preprocess_input for name in inception_v3.MODELS},
    **{name: vgg.preprocess_input for name in googlenet.MODELS},
}


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
    """Returns the preprocessing function of a registered model (see `PREPROCESSING`)."""
    key = _model_key(model_name)
    return PREPROCESSING[key]


def _model_key(model_name):
    if not isinstance(model_name, str):
        raise TypeError("`model_name` must be a registered model name, received "
                        f"{model_name!r}.")
    key = model_name.lower().replace("-", "_")
    if key not in PREPROCESSING:
        close = difflib.get_close_matches(key, list(PREPROCESSING), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"Unknown model {model_name!r}.{hint} Known models: "
                         f"{', '.join(list_models())}.")
    return key


def _fetch(spec, folder):
    """Local path of a cache file, downloading it when missing; download progress to stderr."""
    path = os.path.join(folder, spec.filename)
    if os.path.exists(path):
        return path
    with contextlib.redirect_stdout(sys.stderr):
        return keras.utils.get_file(spec.filename, spec.url, cache_dir=os.path.dirname(folder),
                                    cache_subdir="models", file_hash=spec.md5)


def imagenet_files(model_name, *, weights=True, class_index=True):
    """Local paths `(weights, class index)` from the Keras cache (None for a file not asked
    for), downloading what is missing; `KERAS_HOME` is read now.

    Args:
        model_name: a registered model with ImageNet weights, e.g. `"resnet50"`.
        weights: bool, fetch the model's ImageNet weight file (with top). Default True.
        class_index: bool, fetch `imagenet_class_index.json`. Default True.

    Raises:
        MissingFilesError: naming every file that is neither cached nor downloadable, and the
            folder to put them in.
    """
    folder = weight_files.keras_cache_dir()
    key = _model_key(model_name)
    wanted = [("weights", weight_files.IMAGENET[key][0])] if weights else []
    wanted += [("index", CLASS_INDEX)] if class_index else []
    paths, missing, reasons = {}, [], []
    for role, spec in wanted:
        try:
            paths[role] = _fetch(spec, folder)
        except Exception as exc:  # offline, proxy, hash mismatch: the same answer for a user
            missing.append((spec.filename, spec.url))
            reasons.append(f"{spec.filename}: {type(exc).__name__}: {exc}"[:300])
    if missing:
        raise MissingFilesError(missing, folder, reasons)
    return paths.get("weights"), paths.get("index")


def read_labels(path):
    """Reads class labels: keras' `imagenet_class_index.json` layout
    (`{"0": ["n01440764", "tench"], ...}`) or a text file with one label per line.

    Returns:
        A list of `(class id, label)` in class order (class id is `""` for a text file).

    Raises:
        ValueError: the file is not one of those layouts; the message names the file.
    """
    path = os.fspath(path)
    with open(path, encoding="utf-8") as f:
        text = f.read()
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


def _progress(message):
    print(f"[cnnblocks classify] {message}", file=sys.stderr, flush=True)


def classify(images, model_name, *, weights="imagenet", top=5, labels=None, input_shape=None,
             batch_size=16, progress=_progress):
    """Classifies image files with a registered model.

    Args:
        images: list of image file paths.
        model_name: str, a registered model name, e.g. `"resnet50"`.
        weights: `"imagenet"` (keras.applications' file from the Keras cache, downloaded when
            missing) or the path of a weight file for the model with its top.
        top: int, how many classes to return per image. Default 5.
        labels: None (the ImageNet class index from the Keras cache, downloaded when missing)
            or a label file (see `read_labels`); the model is built with that many classes.
        input_shape: None (the model's ImageNet size: 224 or 299) or (H, W, 3) (not with
            ImageNet weights).
        batch_size: images per forward pass. Default 16.
        progress: callable taking a message, or None; the default writes to stderr.

    Returns:
        A list with, per image, `[(class id, label, probability), ...]` best first.

    Raises:
        MissingFilesError: ImageNet files missing and not downloadable.
        ValueError / TypeError: bad arguments, unreadable images, weights that do not fit.

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
    if not imagenet and not (isinstance(weights, (str, os.PathLike))
                             and os.path.isfile(weights)):
        raise ValueError("`weights` must be 'imagenet' or the path of an existing weight file; "
                         f"received {weights!r}.")
    if imagenet and _model_key(model_name) not in weight_files.IMAGENET:
        have = ", ".join(sorted(weight_files.IMAGENET))
        raise ValueError(f"No ImageNet weights are published for {model_name!r} (models with "
                         f"them: {have}); pass the path of a weight file instead.")
    if labels is not None and not os.path.isfile(labels):
        raise ValueError(f"`labels` file not found: {labels!r}.")
    weight_path, index_path = (None if imagenet else os.fspath(weights)), labels
    if imagenet or labels is None:
        try:
            fetched_weights, fetched_index = imagenet_files(model_name, weights=imagenet,
                                                            class_index=labels is None)
        except MissingFilesError as err:
            if imagenet:
                raise
            raise MissingFilesError(err.missing, err.folder, err.reasons, hint=(
                " Or give the labels of your classes with `labels` (--labels FILE).")) from None
        weight_path = fetched_weights or weight_path
        index_path = fetched_index or index_path
    class_labels = read_labels(index_path)
    kwargs = {} if input_shape is None else {"input_shape": tuple(input_shape)}
    start = time.perf_counter()
    say(f"building {model_name} with weights {weight_path} ...")
    model = create_model(model_name, weights=weight_path, classes=len(class_labels), **kwargs)
    say(f"built {model.name} in {time.perf_counter() - start:.1f} s")
    shape = tuple(model.input.shape[1:])
    size = shape[:2] if keras.config.image_data_format() == "channels_last" else shape[1:]
    results = []
    for first in range(0, len(images), batch_size):
        chunk = images[first:first + batch_size]
        say(f"classifying images {first + 1}-{first + len(chunk)} of {len(images)} at "
            f"{size[0]}x{size[1]}")
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
