"""Metrics against their definitions, the reference cache, the protocol stamp, and the CLIs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from gans import restore
from gans.data import cache
from gans.data.digits import DigitsDataModule
from gans.data.mnist import BUILTIN as MNIST_BUILTIN
from gans.errors import ConfigError
from gans.evaluate import evaluate
from gans.metrics import classifier as clf
from gans.metrics import reference
from gans.metrics.classifier import train_classifier
from gans.metrics.features import ClassifierFeatures, inception_weights
from gans.metrics.measurement import Measurement
from gans.metrics.protocol import Protocol
from gans.metrics.suite import MetricSuite, precision_recall_density_coverage
from gans.sample import interpolate, nearest, sample
from gans.train import CONF_DIR, train
from tests.conftest import compose_config


def suite_with(real: torch.Tensor, fake: torch.Tensor, logits=None, **kwargs) -> dict[str, float]:
    suite = MetricSuite(real.shape[1], **kwargs)
    suite.set_reference(real)
    suite.update(fake, torch.zeros(fake.shape[0], 10) if logits is None else logits)
    return suite.compute()


def test_fid_of_a_feature_set_against_itself_is_zero():
    x = torch.randn(500, 16, generator=torch.Generator().manual_seed(0))
    assert abs(suite_with(x, x, metrics=("fid",))["fid"]) < 1e-6


def test_fid_equals_the_closed_form_frechet_distance():
    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 1.0, (2000, 8))
    b = rng.normal(0.5, 1.0, (2000, 8)) @ rng.normal(0, 0.6, (8, 8))
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(cov_a @ cov_b).real
    want = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * covmean)
    got = suite_with(torch.from_numpy(a), torch.from_numpy(b), metrics=("fid",))["fid"]
    assert got == pytest.approx(want, rel=1e-4)


def test_inception_score_of_uniform_predictions_is_one_and_of_confident_balanced_is_k():
    feats = torch.randn(400, 4)
    uniform = torch.zeros(400, 10)
    confident = torch.nn.functional.one_hot(torch.arange(400) % 10, 10).float() * 50
    one = suite_with(feats, feats, uniform, metrics=("is",), is_splits=1)["is"]
    ten = suite_with(feats, feats, confident, metrics=("is",), is_splits=1)["is"]
    assert one == pytest.approx(1.0, abs=1e-5) and ten == pytest.approx(10.0, rel=1e-4)


def test_kid_is_near_zero_for_the_same_distribution_and_positive_for_a_shifted_one():
    g = torch.Generator().manual_seed(0)
    real, same, shifted = (torch.randn(600, 8, generator=g) for _ in range(3))
    near = suite_with(real, same, metrics=("kid",), kid_subset_size=200)["kid"]
    far = suite_with(real, shifted + 1.0, metrics=("kid",), kid_subset_size=200)["kid"]
    assert abs(near) < 0.01 and far > 0.1


def test_precision_recall_density_coverage_on_a_hand_made_example():
    # k = 1: real balls have radii 1, 1, 1, 8 (distance to the nearest other real point), fake
    # balls 19.5, 1, 1. Fake 0.5 lies in the balls of reals 0 and 1, fakes 20 and 21 in none:
    # precision 1/3, density (2 + 0 + 0) / 3. The ball of fake 0.5 holds every real: recall 1.
    # Reals 0 and 1 have their nearest fake (0.5) inside their ball, 2 and 10 do not: coverage 1/2.
    real = torch.tensor([[0.0], [1.0], [2.0], [10.0]])
    fake = torch.tensor([[0.5], [20.0], [21.0]])
    got = precision_recall_density_coverage(real, fake, k=1)
    want = {"precision": 1 / 3, "recall": 1.0, "density": 2 / 3, "coverage": 0.5}
    assert got == pytest.approx(want)


def test_protocol_fields_each_change_the_logged_key():
    base = Protocol("classifier", "1a2b3c4d", 2000, 1797, "digits/all", "native-32", True)
    variants = [
        Protocol("inception", "6726825d", 2000, 1797, "digits/all", "tf1-bilinear-299", True),
        Protocol("classifier", "ffffffff", 2000, 1797, "digits/all", "native-32", True),
        Protocol("classifier", "1a2b3c4d", 10000, 1797, "digits/all", "native-32", True),
        Protocol("classifier", "1a2b3c4d", 2000, 1000, "digits/all", "native-32", True),
        Protocol("classifier", "1a2b3c4d", 2000, 1797, "mnist/train", "native-32", True),
        Protocol("classifier", "1a2b3c4d", 2000, 1797, "digits/all", "native-16", True),
        Protocol("classifier", "1a2b3c4d", 2000, 1797, "digits/all", "native-32", False),
    ]
    keys = {p.key("fid") for p in [base, *variants]}
    assert len(keys) == 8
    assert base.key("fid") == "fid/classifier-1a2b3c4d_g2000_r1797_digits-all_native-32_ema"


def test_classifier_learns_the_digits_and_its_features_clamp_inputs():
    dm = DigitsDataModule(image_size=8, batch_size=64)
    dm.setup()
    model, accuracy = train_classifier(dm.dataset.images, dm.dataset.labels, 10, steps=300)
    assert accuracy > 0.85
    assert not any(p.requires_grad for p in model.parameters()) and not model.training
    net = ClassifierFeatures(model, "ab" * 32, 8)
    x = torch.rand(4, 1, 8, 8)
    over = x.clone()
    over[:, :, 0, 0] = 3.0  # a generator overshooting [-1, 1] maps above 1 after (x + 1) / 2
    clamped = x.clone()
    clamped[:, :, 0, 0] = 1.0
    assert torch.equal(net(over)[0], net(clamped)[0])


def test_data_mnist_uses_the_shipped_classifier_wherever_gans_and_the_cache_live(
    tmp_path, monkeypatch
):
    cfg = compose_config(["data=mnist", "data.root=builtin", f"metrics.cache_dir={tmp_path}"])
    dm = restore.datamodule(cfg)
    assert dm.key()["root"] == "builtin" and str(MNIST_BUILTIN) not in json.dumps(dm.key())

    def no_training(*args, **kwargs):
        raise AssertionError("trained a classifier although one ships for the built-in digits")

    monkeypatch.setattr(clf, "timed_train", no_training)
    model, accuracy, digest = Measurement(cfg, dm).classifier()
    assert accuracy > 0.95 and not list(tmp_path.glob("classifier-*"))
    images, labels = dm.dataset.images[:2000], dm.dataset.labels[:2000]
    assert clf.accuracy(model, images, labels) > 0.95  # the weights, not just the stored figure
    other = compose_config(
        [
            "data=mnist",
            "data.root=builtin",
            "metrics.classifier.steps=7",
            f"metrics.cache_dir={tmp_path}",
        ]
    )
    with pytest.raises(AssertionError, match="trained a classifier"):  # other settings: no match
        Measurement(other, restore.datamodule(other)).classifier()


def test_reference_features_are_cached_and_invalidated_by_the_protocol(tmp_path):
    dm = DigitsDataModule(image_size=8, batch_size=64)
    model, _ = train_classifier(
        *(lambda d: (d.images, d.labels))(dm.setup() or dm.dataset), 10, steps=5
    )
    net = ClassifierFeatures(model, "ab" * 32, 8)
    first = reference.reference_features(net, dm, 300, str(tmp_path))
    assert first.shape == (300, 128)
    (path,) = tmp_path.glob("reference-digits-*.pt")
    payload = torch.load(path, weights_only=True)
    del payload["checksum"]
    payload["features"] = torch.zeros_like(payload["features"])  # prove the next call reads it
    cache.save(path, payload)
    assert reference.reference_features(net, dm, 300, str(tmp_path)).abs().sum() == 0
    torch.save({**payload, "checksum": "0" * 64}, path)  # damaged on disk: computed afresh
    assert reference.reference_features(net, dm, 300, str(tmp_path)).abs().sum() > 0
    assert reference.reference_features(net, dm, 200, str(tmp_path)).abs().sum() > 0  # new N
    net.weights = "cdcdcdcd"  # another feature network checksum
    assert reference.reference_features(net, dm, 300, str(tmp_path)).abs().sum() > 0
    assert len(list(tmp_path.glob("reference-digits-*.pt"))) == 3


def test_missing_inception_weights_fail_at_start_up_saying_where_and_how(
    tmp_path, tiny_config, monkeypatch
):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    cfg = tiny_config(
        "data=cifar10",
        "metrics=default",
        "metrics.features=inception",
        "metrics.download=false",
        "logger=none",
        "data.verify_checksums=false",
        f"data.root={tmp_path / 'data'}",
        "data.num_workers=0",
    )
    from tests import layouts

    layouts.cifar10(tmp_path / "data")
    with pytest.raises(ConfigError) as err:
        train(cfg)
    message = str(err.value)
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in message
    assert "weights-inception-2015-12-05-6726825d.pth" in message and "curl -L" in message
    assert "metrics.inception_weights=" in message
    assert not (tmp_path / "run" / "checkpoints").exists()  # nothing trained


def test_inception_weights_with_the_wrong_checksum_are_refused(tmp_path):
    fake = tmp_path / "weights.pth"
    fake.write_bytes(b"not inception")
    with pytest.raises(ConfigError, match="is not the FID Inception checkpoint"):
        inception_weights(str(fake))
    with pytest.raises(ConfigError, match="does not exist"):
        inception_weights(str(tmp_path / "absent.pth"))


METRIC_RUN = [
    "metrics=default",
    "metrics.every=2",
    "metrics.num_samples=100",
    "metrics.num_reference=300",
    "metrics.kid_subset_size=50",
    "metrics.batch_size=50",
    "metrics.classifier.steps=20",
    "iterations=2",
    "logger=csv",
]


@pytest.fixture(scope="module")
def metric_run(tmp_path_factory):
    """A 2-iteration DCGAN on digits with metrics on: its summary and its folder."""
    root = tmp_path_factory.mktemp("metric-run")
    from tests.conftest import TINY, compose_config

    cfg = compose_config(
        [*TINY, *METRIC_RUN, f"paths.run_dir={root}", f"metrics.cache_dir={root / 'cache'}"]
    )
    return train(cfg), root


def test_training_logs_stamped_scores_and_keeps_the_best_fid_checkpoint(metric_run):
    summary, root = metric_run
    tag = summary["protocol"]
    assert tag.startswith("classifier-") and "_g100_r300_digits-all_native-16_ema" in tag
    assert set(summary["metrics"]) >= {
        "fid",
        "kid",
        "is",
        "precision",
        "recall",
        "density",
        "coverage",
    }
    (metrics_csv,) = root.glob("csv/**/metrics.csv")
    header = metrics_csv.read_text().splitlines()[0].split(",")
    assert f"fid/{tag}" in header and f"precision/{tag}" in header
    best = root / "checkpoints" / "best-fid.ckpt"
    assert best.is_file()
    state = torch.load(best, weights_only=True)["state_dict"]
    assert {k.split(".")[0] for k in state} == {"generator", "discriminator", "generator_ema"}


def _cli_config(name: str, overrides: list[str]):
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose(config_name=name, overrides=overrides)


def test_evaluate_scores_a_checkpoint_and_writes_json_with_the_stamp(metric_run, tmp_path):
    summary, root = metric_run
    cfg = _cli_config(
        "evaluate",
        [
            f"ckpt={root / 'checkpoints' / 'last.ckpt'}",
            "num_samples=150",
            "metrics.num_reference=300",
            "metrics.kid_subset_size=50",
            "metrics.classifier.steps=20",
            f"metrics.cache_dir={root / 'cache'}",
            f"out={tmp_path / 'eval.json'}",
        ],
    )
    record = evaluate(cfg)
    written = json.loads((tmp_path / "eval.json").read_text())
    assert written["iteration"] == 2 and written["protocol"]["generated"] == 150
    assert written["protocol"]["features"] == "classifier" and written["protocol"]["ema"] is True
    assert 0 <= written["protocol"]["classifier_accuracy"] <= 1
    assert record["tag"] != summary["protocol"]  # 150 samples is another protocol than 100
    assert written["scores"]["fid"] > 0


def test_sample_writes_grid_interpolation_and_neighbours(metric_run, tmp_path):
    _, root = metric_run
    cfg = _cli_config(
        "sample",
        [
            f"ckpt={root / 'checkpoints' / 'last.ckpt'}",
            f"out={tmp_path}",
            "num=16",
            "interpolations=3",
            "steps=5",
            "neighbours=2",
            "k=3",
        ],
    )
    written = sample(cfg)
    from PIL import Image

    for name in ("grid", "interpolation", "neighbours"):
        assert Path(written[name]).is_file()
    width, height = Image.open(written["interpolation"]).size
    assert (width, height) == (5 * 18 + 2, 3 * 18 + 2)  # 5 steps x 3 rows of 16px images


def test_interpolation_ends_at_its_endpoints_and_neighbours_find_copies():
    a, b = torch.randn(2, 6), torch.randn(2, 6)
    for spherical in (True, False):
        path = interpolate(a, b, 4, spherical)
        assert torch.allclose(path[:, 0], a, atol=1e-5) and torch.allclose(
            path[:, -1], b, atol=1e-5
        )
    reals = torch.randn(50, 1, 4, 4)
    assert nearest(reals[[7, 3]] + 1e-3, reals, 1).flatten().tolist() == [7, 3]


def test_evaluate_without_ckpt_names_the_key():
    with pytest.raises(ConfigError, match="ckpt must be set"):
        evaluate(_cli_config("evaluate", []))
    assert OmegaConf.is_missing(_cli_config("sample", []), "ckpt")


def test_metrics_under_two_process_ddp_sync_and_do_not_hang(tmp_path):
    """Two CPU processes (gloo): each generates half the samples, compute() runs on both."""
    import subprocess
    import sys

    run = tmp_path / "run"
    command = [
        sys.executable, "-m", "gans.train", "trainer=ddp_cpu", "data=digits", *METRIC_RUN,
        "metrics.num_samples=64", "metrics.num_reference=128", "metrics.kid_subset_size=32",
        "data.image_size=16",
        "model.generator.base_channels=8", "model.discriminator.base_channels=8",
        "trainer.enable_progress_bar=false", f"metrics.cache_dir={tmp_path / 'cache'}",
        f"paths.run_dir={run}", "hydra.run.dir=" + str(run),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "metrics at the end: fid" in done.stdout
    assert "_g64_r128_digits-all_native-16_ema" in done.stdout
    (metrics_csv,) = run.glob("csv/**/metrics.csv")
    assert any(
        name.startswith("fid/") for name in metrics_csv.read_text().splitlines()[0].split(",")
    )
    assert (run / "checkpoints" / "best-fid.ckpt").is_file()


@pytest.mark.parametrize(
    ("model", "callbacks"),
    [
        ("cdcgan", ["Evaluation", "IterationCheckpoint"]),
        ("infogan", ["Evaluation", "Disentanglement", "IterationCheckpoint"]),
    ],
)
def test_one_measurement_builds_a_runs_scorers_and_loads_the_classifier_once(
    tmp_path, monkeypatch, model, callbacks
):
    from gans.build import build_model
    from gans.callbacks import monitors
    from gans.metrics import measurement

    cfg = compose_config(
        [
            f"model={model}",
            "data=mnist",
            "data.root=builtin",
            "metrics.every=1",
            "metrics.per_class=20",
            f"paths.run_dir={tmp_path}",
        ]
    )
    loads = []
    real_load = measurement.load_or_train_classifier
    monkeypatch.setattr(
        measurement,
        "load_or_train_classifier",
        lambda *a, **k: loads.append(1) or real_load(*a, **k),
    )
    dm = restore.datamodule(cfg)
    measured = Measurement(cfg, dm)
    game = build_model(cfg)
    built = monitors.evaluation(measured, game)
    assert [type(c).__name__ for c in built] == callbacks
    assert measured.kind(game) == "images"
    evaluation = built[0]
    aware = evaluation.class_aware
    assert (aware is not None) == (model == "cdcgan")
    if aware is not None:  # the FID's features are the classifier the labels are read with
        assert aware.classifier is evaluation.evaluator.features
    if model == "infogan":  # codes are read by the same classifier the FID uses
        assert built[1].classifier is evaluation.evaluator.features.classifier
    assert len(loads) == 1


def test_the_shipped_digits_read_from_another_folder_are_the_shipped_data(tmp_path, monkeypatch):
    import shutil

    from gans.data.mnist import MNISTDataModule

    copy = tmp_path / "raw"
    copy.mkdir()
    for f in MNIST_BUILTIN.glob("t10k-*.gz"):
        shutil.copy(f, copy / f.name)
    shipped = MNISTDataModule("builtin", image_size=32, channels=1, batch_size=64)
    same = MNISTDataModule(str(tmp_path), split="test", image_size=32, channels=1, batch_size=64)
    assert same.key() == shipped.key()
    monkeypatch.setattr(clf, "timed_train", lambda *a, **k: pytest.fail("trained a classifier"))
    cfg = compose_config(["data=mnist", "data.root=builtin", f"metrics.cache_dir={tmp_path}"])
    assert Measurement(cfg, same).classifier()[2] == Measurement(cfg, shipped).classifier()[2]
    labels = copy / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(labels.read_bytes())
    data[-1] ^= 1  # one byte of the gzip trailer: other files, another key
    labels.write_bytes(bytes(data))
    assert same.key() != shipped.key()
