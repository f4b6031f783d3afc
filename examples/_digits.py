"""The data of the training examples: scikit-learn's digits, a real image dataset that ships
inside the package (1,797 greyscale 8x8 images of the digits 0-9; no download)."""


def load_digits(size=8, channels=1, test_size=0.25, seed=0):
    """Digits as float32 images in [0, 1], split stratified into train and held-out test sets.

    Args:
        size: int, image height and width; above 8 the images are upsampled (bilinear).
        channels: 1 (grey) or 3 (the grey channel repeated, for ImageNet-shaped models).
        test_size: fraction held out. Default 0.25 (450 images).
        seed: the split's random state.

    Returns:
        `(x_train, x_test, y_train, y_test)`, images `(n, size, size, channels)`, labels int.
    """
    import numpy as np
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    import keras

    if channels not in (1, 3):
        raise ValueError(f"`channels` must be 1 or 3, received {channels!r}.")
    digits = sklearn_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]  # pixel values are 0..16
    if size != 8:
        x = keras.ops.convert_to_numpy(
            keras.ops.image.resize(x, (size, size), interpolation="bilinear",
                                   data_format="channels_last"))
    x = np.repeat(x, channels, axis=-1)
    return train_test_split(x, digits.target, test_size=test_size, random_state=seed,
                            stratify=digits.target)
