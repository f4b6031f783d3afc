"""Two Inception modules with dimension reductions, at GoogLeNet's 3a and 3b widths.

    python examples/reduced_inception.py out/examples
"""

from _show import out_dir, show

import keras
from cnnblocks.blocks import inception_module


def two_modules():
    inputs = keras.Input((256, 256, 3))
    #                      #1x1 #3x3red #3x3 #5x5red #5x5 pool proj   (GoogLeNet Table 1)
    x = inception_module(inputs, 64, 96, 128, 16, 32, 32, name="inception_3a")
    x = inception_module(x, 128, 128, 192, 32, 96, 64, name="inception_3b")
    return keras.Model(inputs, x, name="reduced_inception_x2")


if __name__ == "__main__":
    show(two_modules(), out_dir(__doc__))
