import torch

from gans.data.digits import DigitsDataModule


def test_digits_are_the_real_sklearn_digits_scaled_and_resized():
    dm = DigitsDataModule(image_size=32, batch_size=64)
    dm.setup()
    images, labels = dm.dataset.images, dm.dataset.labels
    assert images.shape == (1797, 1, 32, 32) and images.dtype == torch.float32
    assert images.min() >= -1 and images.max() <= 1
    assert images.min() == -1 and images.max() > 0.9
    assert labels.dtype == torch.long and set(labels.tolist()) == set(range(10))


def test_digits_native_size_is_exact():
    from sklearn.datasets import load_digits

    dm = DigitsDataModule(image_size=8, batch_size=8)
    dm.setup()
    want = torch.as_tensor(load_digits().images[0], dtype=torch.float32) / 8 - 1
    assert torch.allclose(dm.dataset.images[0, 0], want)


def test_digits_batches_are_full_and_shuffled():
    dm = DigitsDataModule(image_size=16, batch_size=100)
    batches = list(dm.train_dataloader())
    assert len(batches) == 1797 // 100
    x, y = batches[0]
    assert x.shape == (100, 1, 16, 16) and y.shape == (100,)
    seen = torch.cat([b[1] for b in batches])
    assert not torch.equal(seen[:50], dm.dataset.labels[:50])
