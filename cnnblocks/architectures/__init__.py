"""Full architectures composed from `cnnblocks.blocks`."""

__all__ = []
