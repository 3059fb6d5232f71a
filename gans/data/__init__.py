"""LightningDataModules. Every batch is ``(x, y)``: images in [-1, 1] and integer labels."""
