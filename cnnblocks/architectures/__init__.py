"""Full architectures composed from `cnnblocks.blocks`, with keras.applications' signatures.

`MODELS` maps each registry name to its builder; each family module contributes its own
`MODELS` table (add a family by importing it here and merging its table).
"""

from cnnblocks.architectures import vgg
from cnnblocks.architectures.vgg import VGG11, VGG13, VGG16, VGG19

MODELS = {**vgg.MODELS}

__all__ = ["MODELS", "VGG11", "VGG13", "VGG16", "VGG19"]
