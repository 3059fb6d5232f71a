"""The real loaders on tiny datasets written in each dataset's on-disk layout (no downloads)."""

from __future__ import annotations

import gzip
import os
import pickle
import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image

from gans.data import cache
from gans.data.celeba import CelebADataModule
from gans.data.cifar import CIFAR10DataModule
from gans.data.folder import ImageFolderDataModule
from gans.data.idx import read_idx
from gans.data.mnist import FashionMNISTDataModule, MNISTDataModule
from gans.data.stacked_mnist import StackedMNISTDataModule
from gans.errors import ConfigError
from tests import layouts
from tests.conftest import MNIST_TEST, compose_config

FAST = {"num_workers": 0, "batch_size": 4}


def images_of(dm) -> tuple[torch.Tensor, torch.Tensor]:
    """All images as the model sees them (after the on-device scaling) and their labels."""
    dm.setup()
    batch = dm.on_after_batch_transfer((dm.dataset.images, dm.dataset.labels), 0)
    return batch.x, getattr(batch, "y", dm.dataset.labels)


@pytest.mark.parametrize(
    ("cls", "folder"), [(MNISTDataModule, "MNIST"), (FashionMNISTDataModule, "FashionMNIST")]
)
def test_idx_files_load_through_torchvision(tmp_path, cls, folder):
    layouts.mnist(tmp_path, folder, train=40, test=20)
    raw, labels = layouts.digits(40, 0)
    dm = cls(tmp_path, image_size=28, channels=1, split="train", **FAST)
    x, y = images_of(dm)
    assert x.shape == (40, 1, 28, 28) and x.dtype == torch.float32
    assert torch.equal(dm.dataset.images[:, 0], torch.from_numpy(raw))  # exact uint8, no resize
    assert torch.allclose(x[:, 0], torch.from_numpy(raw).float() / 127.5 - 1)
    assert torch.equal(y, torch.from_numpy(labels).long()) and dm.num_classes == 10
    test = cls(tmp_path, image_size=32, channels=1, split="test", **FAST)
    assert images_of(test)[0].shape == (20, 1, 32, 32)


def test_scaling_maps_0_and_255_to_the_ends_of_minus_one_one(tmp_path):
    layouts.png_folder(tmp_path / "f", {"a": 4})
    for value in (0, 255):
        Image.fromarray(np.full((28, 28), value, np.uint8)).save(tmp_path / "f" / "a" / "000.png")
        dm = ImageFolderDataModule(tmp_path / "f", image_size=28, channels=1, cache=False, **FAST)
        x, _ = images_of(dm)
        assert x.min() >= -1 and x.max() <= 1
        assert torch.all(x[0] == (-1.0 if value == 0 else 1.0))


def test_missing_mnist_names_the_files_and_where(tmp_path):
    dm = MNISTDataModule(tmp_path, image_size=32, channels=1, download=False, **FAST)
    with pytest.raises(ConfigError) as err:
        dm.setup()
    message = str(err.value)
    assert f"{tmp_path}/MNIST/raw" in message and "train-images-idx3-ubyte" in message
    assert "train-labels-idx1-ubyte" in message and "data.download=true" in message


def test_only_the_chosen_split_is_needed(tmp_path):
    layouts.mnist(tmp_path, train=0, test=20)  # like ../shared/data/mnist-test: t10k only
    dm = MNISTDataModule(tmp_path, image_size=16, channels=1, split="test", **FAST)
    assert images_of(dm)[0].shape == (20, 1, 16, 16)
    with pytest.raises(ConfigError, match="train-images-idx3-ubyte"):
        MNISTDataModule(tmp_path, image_size=16, channels=1, split="train", **FAST).setup()


def test_cifar10_pickled_batches(tmp_path):
    first = layouts.cifar10(tmp_path, per_batch=8)
    dm = CIFAR10DataModule(tmp_path, image_size=32, channels=3, verify_checksums=False, **FAST)
    x, y = images_of(dm)
    assert x.shape == (40, 3, 32, 32) and dm.num_classes == 10
    assert torch.equal(dm.dataset.images[0], torch.from_numpy(first).permute(2, 0, 1))
    assert y.tolist()[:10] == list(range(8)) + [0, 1]
    test = CIFAR10DataModule(tmp_path, split="test", verify_checksums=False, **FAST)
    assert images_of(test)[0].shape == (8, 3, 32, 32)


def test_cifar10_checks_torchvision_md5_by_default(tmp_path):
    layouts.cifar10(tmp_path)
    with pytest.raises(ConfigError) as err:
        CIFAR10DataModule(tmp_path, **FAST).setup()
    assert "md5" in str(err.value) and "data_batch_1" in str(err.value)


def test_missing_cifar10_names_the_batches(tmp_path):
    with pytest.raises(ConfigError) as err:
        CIFAR10DataModule(tmp_path, download=False, **FAST).setup()
    message = str(err.value)
    assert f"{tmp_path}/cifar-10-batches-py" in message
    assert "data_batch_1" in message and "data_batch_5" in message and "batches.meta" in message


def test_celeba_torchvision_layout_crop_and_resize(tmp_path):
    layouts.celeba(tmp_path, count=12)
    dm = CelebADataModule(tmp_path, image_size=64, crop=178, **FAST)
    x, y = images_of(dm)
    assert x.shape == (12, 3, 64, 64) and dm.num_classes == 0
    assert torch.all(y == -1)  # unconditional: no labels
    # crop 178 around the centre of the 178x218 face, then resize: compare with PIL doing the same
    face = Image.open(tmp_path / "celeba" / "img_align_celeba" / "000001.jpg")
    want = face.crop((0, 20, 178, 198)).resize((64, 64), Image.BILINEAR)
    got = dm.dataset.images[0].permute(1, 2, 0).numpy().astype(int)
    assert np.abs(got - np.asarray(want).astype(int)).mean() < 3


def test_celeba_split_and_attribute_labels(tmp_path):
    names = layouts.celeba(tmp_path, count=12)
    dm = CelebADataModule(
        tmp_path, image_size=16, split="valid", target="attr", attribute="Smiling", **FAST
    )
    x, y = images_of(dm)
    valid = [i for i in range(len(names)) if i % 3 == 1]
    assert x.shape[0] == len(valid) and dm.num_classes == 2
    assert y.tolist() == [i % 2 for i in valid]  # Smiling is +1 on odd rows -> label 1


def test_celeba_unknown_attribute_lists_the_allowed_ones(tmp_path):
    layouts.celeba(tmp_path, count=3)
    dm = CelebADataModule(tmp_path, image_size=16, target="attr", attribute="Smile", **FAST)
    with pytest.raises(ConfigError, match="data.attribute=Smile .*Smiling"):
        dm.setup()


def test_celeba_bare_folder_of_jpgs(tmp_path):
    for i in range(5):
        layouts.jpg(tmp_path / "faces" / f"{i + 1:06d}.jpg", seed=i)
    dm = CelebADataModule(tmp_path / "faces", image_size=32, **FAST)
    assert images_of(dm)[0].shape == (5, 3, 32, 32)
    with pytest.raises(ConfigError, match="list_eval_partition.txt"):
        CelebADataModule(tmp_path / "faces", image_size=32, split="train", **FAST).setup()


def test_missing_celeba_says_which_files_where_and_where_to_get_them(tmp_path):
    dm = CelebADataModule(tmp_path, split="train", target="attr", attribute="Smiling", **FAST)
    with pytest.raises(ConfigError) as err:
        dm.setup()
    message = str(err.value)
    assert f"{tmp_path}/celeba/img_align_celeba/000001.jpg" in message
    assert "list_eval_partition.txt" in message and "list_attr_celeba.txt" in message
    assert "img_align_celeba.zip" in message and "mmlab.ie.cuhk.edu.hk" in message


def test_labeled_image_folder(tmp_path):
    layouts.png_folder(tmp_path / "f", {"cat": 3, "dog": 5})
    (tmp_path / "f" / ".ipynb_checkpoints").mkdir()  # hidden folders are not classes
    dm = ImageFolderDataModule(tmp_path / "f", image_size=16, channels=3, cache=False, **FAST)
    x, y = images_of(dm)
    assert x.shape == (8, 3, 16, 16) and dm.num_classes == 2
    assert y.tolist() == [0, 0, 0, 1, 1, 1, 1, 1]
    assert torch.equal(x[:, 0], x[:, 1])  # greyscale PNGs converted to RGB


def test_flat_image_folder_is_unlabeled(tmp_path):
    for i in range(6):
        layouts.jpg(tmp_path / "flat" / f"{i}.jpg", size=(40, 30), seed=i)
    (tmp_path / "flat" / "notes.txt").write_text("not an image")
    dm = ImageFolderDataModule(tmp_path / "flat", image_size=16, channels=3, cache=False, **FAST)
    x, y = images_of(dm)
    assert x.shape == (6, 3, 16, 16) and dm.num_classes == 0 and torch.all(y == -1)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: p.mkdir(), "holds no images"),
        (lambda p: None, "is not a folder of images"),
        (lambda p: (layouts.png_folder(p, {"a": 2}), layouts.jpg(p / "x.jpg")), "mixes 1 loose"),
        (lambda p: ((p / "a").mkdir(parents=True), (p / "b").mkdir()), "no valid file"),
    ],
)
def test_bad_folders_fail_with_one_line_naming_the_folder(tmp_path, make, match):
    folder = tmp_path / "f"
    make(folder)
    with pytest.raises(ConfigError, match=match) as err:
        ImageFolderDataModule(folder, image_size=16, cache=False, **FAST).setup()
    assert str(folder) in str(err.value) and "\n" not in str(err.value)


def test_corrupt_file_is_skipped_and_counted_or_stops_naming_it(tmp_path, caplog):
    layouts.png_folder(tmp_path / "f", {"a": 4, "b": 4})
    bad = tmp_path / "f" / "b" / "002.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    dm = ImageFolderDataModule(tmp_path / "f", image_size=16, cache=False, **FAST)
    x, y = images_of(dm)
    assert x.shape[0] == 7 and y.tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert dm.skipped == [str(bad)] and "skipped 1 unreadable" in caplog.text
    strict = ImageFolderDataModule(
        tmp_path / "f", image_size=16, on_corrupt="error", cache=False, **FAST
    )
    with pytest.raises(ConfigError, match=f"cannot read image {bad}.*on_corrupt=skip"):
        strict.setup()


def test_streaming_serves_the_same_images_as_the_cache(tmp_path):
    layouts.png_folder(tmp_path / "f", {"a": 4, "b": 4})
    common = dict(image_size=16, channels=1, cache=False, num_workers=0, batch_size=8)
    memory = ImageFolderDataModule(tmp_path / "f", in_memory=True, **common)
    stream = ImageFolderDataModule(tmp_path / "f", in_memory=False, **common)
    ((xs, ys),) = list(stream.train_dataloader())
    assert stream.dataset is None and xs.dtype == torch.uint8
    memory.setup()  # one shuffled batch of all 8: the same images and labels, as sets
    assert sorted(map(bytes, xs.numpy())) == sorted(map(bytes, memory.dataset.images.numpy()))
    assert sorted(ys.tolist()) == memory.dataset.labels.tolist()


def test_auto_streams_what_does_not_fit_the_memory_budget(tmp_path):
    layouts.png_folder(tmp_path / "f", {"a": 8})
    small = ImageFolderDataModule(
        tmp_path / "f", image_size=16, max_memory_gb=1, cache=False, **FAST
    )
    tiny = ImageFolderDataModule(
        tmp_path / "f", image_size=16, max_memory_gb=1e-6, cache=False, **FAST
    )
    small.setup()
    tiny.setup()
    assert small.dataset is not None and tiny.streamed is not None and tiny.dataset is None


def test_cache_is_used_and_invalidated_by_size_and_by_edits(tmp_path):
    layouts.png_folder(tmp_path / "f", {"a": 4, "b": 4})
    common = dict(channels=1, cache_dir=tmp_path / "cache", **FAST)
    first = ImageFolderDataModule(tmp_path / "f", image_size=16, **common)
    first.setup()
    assert first.cache_path is not None and first.cache_path.is_file()
    # served from the cache: rewrite it (checksum and all) and a new module sees the rewrite
    payload = torch.load(first.cache_path, weights_only=True)
    del payload["checksum"]
    payload["images"] = torch.zeros_like(payload["images"])
    cache.save(first.cache_path, payload)
    again = ImageFolderDataModule(tmp_path / "f", image_size=16, **common)
    again.setup()
    assert again.cache_path == first.cache_path and again.dataset.images.sum() == 0
    # changed behind the checksum's back (damaged on disk): not used, decoded afresh
    torch.save({**payload, "checksum": "0" * 64}, first.cache_path)
    rebuilt = ImageFolderDataModule(tmp_path / "f", image_size=16, **common)
    rebuilt.setup()
    assert rebuilt.dataset.images.sum() > 0
    # another size is another cache file, decoded from the images
    bigger = ImageFolderDataModule(tmp_path / "f", image_size=32, **common)
    bigger.setup()
    assert bigger.cache_path != first.cache_path and bigger.dataset.images.shape[-1] == 32
    assert bigger.dataset.images.sum() > 0
    # editing an image changes the source fingerprint: decoded afresh
    Image.fromarray(np.full((28, 28), 255, np.uint8)).save(tmp_path / "f" / "a" / "000.png")
    edited = ImageFolderDataModule(tmp_path / "f", image_size=16, **common)
    edited.setup()
    assert edited.cache_path != first.cache_path and torch.all(edited.dataset.images[0] == 255)


def test_cache_file_holds_its_key(tmp_path):
    key = {"dataset": "d", "image_size": 8, "x": 1}
    path = cache.cache_file(tmp_path, tmp_path, key)
    cache.save(path, {"key": key, "images": torch.ones(2, 1, 8, 8, dtype=torch.uint8)})
    assert cache.load(path, key)["images"].sum() == 128
    assert cache.load(path, {**key, "x": 2}) is None


def test_stacked_mnist_stacks_three_digits_with_1000_classes(tmp_path):
    layouts.mnist(tmp_path, train=40, test=0)
    raw, labels = layouts.digits(40, 0)
    dm = StackedMNISTDataModule(tmp_path, image_size=28, count=50, seed=3, **FAST)
    x, y = images_of(dm)
    assert x.shape == (50, 3, 28, 28) and dm.num_classes == 1000
    triples = dm.get_source().triples
    for i in range(3):
        a, b, c = triples[i].tolist()
        assert torch.equal(
            dm.dataset.images[i], torch.from_numpy(np.stack([raw[a], raw[b], raw[c]]))
        )
        assert y[i] == 100 * int(labels[a]) + 10 * int(labels[b]) + int(labels[c])
    same = StackedMNISTDataModule(tmp_path, image_size=28, count=50, seed=3, **FAST).get_source()
    other = StackedMNISTDataModule(tmp_path, image_size=28, count=50, seed=4, **FAST).get_source()
    assert torch.equal(same.triples, triples) and not torch.equal(other.triples, triples)


def test_hflip_mirrors_about_half_of_a_batch(tmp_path):
    layouts.png_folder(tmp_path / "f", {"a": 4})
    dm = ImageFolderDataModule(tmp_path / "f", image_size=16, hflip=True, cache=False, **FAST)
    images = torch.randint(0, 256, (2000, 1, 4, 4), dtype=torch.uint8)
    x = dm.on_after_batch_transfer((images, torch.zeros(2000)), 0).x
    base = images.float() / 127.5 - 1
    mirrored = (x == base.flip(-1)).flatten(1).all(1)
    assert ((x == base).flatten(1).all(1) | mirrored).all()
    assert 0.45 < mirrored.float().mean() < 0.55


def test_pickled_module_config_round_trips(tmp_path):
    """DataLoader workers receive the source by pickling (spawn start method)."""
    layouts.png_folder(tmp_path / "f", {"a": 2})
    dm = ImageFolderDataModule(tmp_path / "f", image_size=16, cache=False, **FAST)
    source = pickle.loads(pickle.dumps(dm.get_source()))
    assert source[0][0].shape == (3, 16, 16)


def test_shared_mnist_test_images_when_present(mnist_test_cache):
    if not MNIST_TEST.is_dir():
        pytest.skip(f"{MNIST_TEST} is absent (it sits beside the repository on dev and CI)")
    dm = ImageFolderDataModule(
        MNIST_TEST, image_size=16, channels=1, cache_dir=mnist_test_cache, num_workers=2
    )
    x, y = images_of(dm)
    assert x.shape == (10_000, 1, 16, 16) and dm.num_classes == 10
    assert torch.bincount(y).tolist()[:2] == [980, 1135]  # the real test split's class counts


def test_download_failures_are_told_in_one_line():
    from gans.data.images import failure

    exc = RuntimeError("Error downloading x.gz:\nTried http://a/, got:\n<urlopen error refused>\n")
    assert failure(exc) == "RuntimeError: <urlopen error refused>"


def test_loader_workers_default_to_the_cores_this_process_may_use(tmp_path, monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert ImageFolderDataModule(tmp_path, num_workers="auto").num_workers == 3
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(64)), raising=False)
    assert ImageFolderDataModule(tmp_path, num_workers="auto").num_workers == 8
    with pytest.raises(ConfigError, match="data.num_workers=many must be an integer >= 0 or auto"):
        ImageFolderDataModule(tmp_path, num_workers="many")


def test_a_second_process_on_the_machine_waits_for_the_first_ones_cache(tmp_path, monkeypatch):
    layouts.png_folder(tmp_path / "f", {"a": 6, "b": 6})
    settings = dict(image_size=16, channels=1, num_workers=0, batch_size=4)
    images, labels = ImageFolderDataModule(tmp_path / "f", cache=False, **settings).load()
    monkeypatch.setenv("LOCAL_RANK", "1")
    second = ImageFolderDataModule(tmp_path / "f", cache_dir=tmp_path / "c", **settings)
    path = cache.cache_file(tmp_path / "c", second.root, second.key())

    def first_process_writes_it() -> None:
        time.sleep(1.0)
        cache.save(path, {"key": second.key(), "images": images, "labels": labels, "skipped": []})

    def decode() -> None:
        raise AssertionError("the second process decoded the data itself")

    monkeypatch.setattr(second, "decode", decode)
    writer = threading.Thread(target=first_process_writes_it)
    writer.start()
    got_images, got_labels = second.load()
    writer.join()
    assert torch.equal(got_images, images) and torch.equal(got_labels, labels)


def test_data_mnist_without_a_root_reads_the_10000_real_test_digits_it_ships(tmp_path):
    cfg = compose_config(["data=mnist", f"paths.run_dir={tmp_path}"])
    assert cfg.data.root == "builtin" or "GANS_DATA_DIR" in os.environ
    dm = MNISTDataModule("builtin", image_size=16, channels=1, cache_dir=tmp_path, **FAST)
    dm.setup()
    assert dm.split == "test" and dm.dataset.images.shape == (10000, 1, 16, 16)
    # the MNIST test set's class sizes (LeCun et al.): these are the real digits
    assert dm.dataset.labels.bincount().tolist() == [
        980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009
    ]  # fmt: skip


def test_idx_files_read_alike_bare_gzipped_or_in_torchvisions_layout(tmp_path):
    layouts.mnist(tmp_path / "tv", train=30, test=0)
    raw = tmp_path / "tv" / "MNIST" / "raw"
    (tmp_path / "bare").mkdir()
    for f in raw.iterdir():
        (tmp_path / "bare" / f"{f.name}.gz").write_bytes(gzip.compress(f.read_bytes()))
    (tmp_path / "plain" / "raw").mkdir(parents=True)  # <root>/raw: ../shared/data/mnist-test
    for f in raw.iterdir():
        (tmp_path / "plain" / "raw" / f.name).write_bytes(f.read_bytes())
    loaded = []
    for root in (tmp_path / "tv", tmp_path / "bare", tmp_path / "plain"):
        dm = MNISTDataModule(root, image_size=16, channels=1, cache=False, **FAST)
        dm.setup()
        loaded.append((dm.dataset.images, dm.dataset.labels))
    assert loaded[0][0].shape == (30, 1, 16, 16)
    for other in loaded[1:]:
        assert torch.equal(loaded[0][0], other[0]) and torch.equal(loaded[0][1], other[1])
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04\x05")
    with pytest.raises(ConfigError, match="is not an IDX file"):
        read_idx(tmp_path / "bad")


def test_a_failed_download_leaves_no_folder_behind(tmp_path, monkeypatch):
    """Offline (here: a mirror that refuses the connection), ``data.root=<new folder>`` must not
    leave ``<folder>/MNIST/raw`` behind."""
    import torchvision

    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", ["http://127.0.0.1:9/"])
    root = tmp_path / "nonexistent" / "deeper"
    dm = MNISTDataModule(str(root), split="test", download=True, **FAST)
    with pytest.raises(ConfigError, match="the download failed"):
        dm.prepare_data()
    assert not (tmp_path / "nonexistent").exists()
