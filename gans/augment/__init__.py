"""Differentiable augmentation of what the discriminator sees (``augment=`` config group):
DiffAugment (:mod:`gans.augment.diffaugment`) and ADA (:mod:`gans.augment.ada`)."""
