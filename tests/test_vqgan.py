"""VQGAN: the quantizer, the adaptive weight, the perceptual losses, the transformer prior, both
stages' runs, exact resume across disc_start and in stage 2, and the one-line errors."""

from __future__ import annotations

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gans import restore
from gans.data.digits import DigitsDataModule
from gans.errors import ConfigError
from gans.games.vqgan import adaptive_weight
from gans.metrics.classifier import Classifier
from gans.nets.gpt import GPT, sample_tokens, top_k_filter
from gans.nets.quantizer import VectorQuantizer, code_statistics
from gans.nets.vqgan import Decoder, Encoder
from gans.perceptual import ClassifierPerceptual, LPIPSPerceptual
from gans.train import train
from tests.conftest import compose_config
from tests.test_resume import assert_same_state

QUIET = ["logger=none", "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]
VQGAN_TINY = [
    "model=vqgan", "data=digits", "data.image_size=16", "data.batch_size=8", "data.holdout=64",
    "model.encoder.ch=8", "model.encoder.ch_mult=[1,2]", "model.quantizer.num_codes=16",
    "model.quantizer.dim=8", "model.discriminator.base_channels=4",
    "model.discriminator.n_layers=2", "model.perceptual.kind=none", "log_every=1",
    "sample_every=2", "checkpoint_every=2",
]  # fmt: skip
METRICS = ["metrics.every=2", "metrics.classifier.steps=20"]
STAGE2_TINY = [
    "model=vqgan_transformer", "data=digits", "data.image_size=16", "data.batch_size=8",
    "model.transformer.width=16", "model.transformer.depth=1", "model.transformer.heads=2",
    "log_every=1", "sample_every=2", "checkpoint_every=2", "metrics=none",
]  # fmt: skip


# ---------------------------------------------------------------------------- the quantizer
def test_the_quantizer_returns_codebook_vectors_and_passes_gradients_straight_through():
    torch.manual_seed(0)
    quantizer = VectorQuantizer(num_codes=8, dim=4)
    z = torch.randn(2, 4, 3, 3, requires_grad=True)
    q = quantizer(z)
    vectors = q.z_q.permute(0, 2, 3, 1).reshape(-1, 4)
    codes = quantizer.embedding.weight
    # every output vector is the codebook entry of its index, and that entry is the nearest
    assert torch.allclose(vectors, codes[q.indices.flatten()])
    nearest = torch.cdist(z.detach().permute(0, 2, 3, 1).reshape(-1, 4), codes).argmin(1)
    assert torch.equal(q.indices.flatten(), nearest)
    # straight-through: d z_q / d z is the identity, so the encoder gets the decoder's gradient
    upstream = torch.randn_like(q.z_q)
    (q.z_q * upstream).sum().backward()
    assert torch.allclose(z.grad, upstream)


def test_beta_weights_the_commitment_term_and_not_the_codebook_term():
    torch.manual_seed(0)
    z = torch.randn(2, 4, 3, 3)
    plain, weighted = VectorQuantizer(8, 4, beta=1.0), VectorQuantizer(8, 4, beta=0.25)
    weighted.load_state_dict(plain.state_dict())
    a, b = plain(z.clone().requires_grad_()), weighted(z.clone().requires_grad_())
    e = plain.embedding.weight[a.indices.flatten()]
    mse = F.mse_loss(z.permute(0, 2, 3, 1).reshape(-1, 4), e)
    assert torch.allclose(a.codebook, mse) and torch.allclose(b.codebook, mse)  # no beta here
    assert torch.allclose(a.commitment, mse) and torch.allclose(b.commitment, 0.25 * mse)
    # the commitment term moves the encoder output only, the codebook term the codes only
    z_in = z.clone().requires_grad_()
    q = weighted(z_in)
    q.commitment.backward(retain_graph=True)
    assert z_in.grad is not None and weighted.embedding.weight.grad is None
    z_in.grad = None
    q.codebook.backward()
    assert z_in.grad is None and weighted.embedding.weight.grad.abs().sum() > 0


def test_ema_codebook_updates_move_codes_to_their_assigned_means_and_dead_codes_restart():
    torch.manual_seed(0)
    quantizer = VectorQuantizer(4, 2, ema=True, decay=0.0, restart_below=0.5)
    quantizer.embedding.weight.data = torch.tensor([[0.0, 0], [10, 10], [50, 50], [90, 90]])
    flat = torch.tensor([[0.1, 0.1], [-0.1, 0.3], [9.0, 11.0], [11.0, 9.5]])  # codes 0, 1 only
    quantizer(flat.reshape(1, 2, 2, 2).permute(0, 3, 1, 2))  # (N, dim, h, w), row-major
    weights = quantizer.embedding.weight
    assert torch.allclose(weights[0], flat[:2].mean(0), atol=1e-3)
    assert torch.allclose(weights[1], flat[2:].mean(0), atol=1e-3)
    # codes 2 and 3 were not used: restarted onto encoder outputs of this batch
    for k in (2, 3):
        assert any(torch.allclose(weights[k], row) for row in flat)
    assert not quantizer.embedding.weight.requires_grad  # EMA: no SGD on the codebook


def test_code_statistics_count_usage_and_perplexity():
    stats = code_statistics(torch.tensor([0, 1, 2, 3, 0, 1, 2, 3]), 8)
    assert stats["usage"] == pytest.approx(0.5) and stats["perplexity"] == pytest.approx(4.0)


# ---------------------------------------------------------------------------- the networks
def test_encoder_and_decoder_shapes_and_a_size_the_levels_cannot_take():
    enc = Encoder(1, 32, ch=8, ch_mult=(1, 2, 2), z_channels=6)
    dec = Decoder(1, 32, ch=8, ch_mult=(1, 2, 2), z_channels=6)
    z = enc(torch.randn(2, 1, 32, 32))
    assert z.shape == (2, 6, 8, 8) and enc.latent_size == 8
    assert dec(z).shape == (2, 1, 32, 32)
    with pytest.raises(ConfigError, match="divisible by 4"):
        Encoder(1, 30, ch=8, ch_mult=(1, 2, 2))


def test_the_adaptive_weight_equals_its_formula_on_a_two_layer_decoder():
    torch.manual_seed(0)
    first, last = nn.Linear(3, 4), nn.Linear(4, 2)
    out = last(torch.tanh(first(torch.randn(5, 3))))
    rec, gan = out.pow(2).mean(), -out[:, 0].mean()
    g_rec = torch.autograd.grad(rec, last.weight, retain_graph=True)[0]
    g_gan = torch.autograd.grad(gan, last.weight, retain_graph=True)[0]
    expected = g_rec.norm() / (g_gan.norm() + 1e-4)
    assert torch.allclose(adaptive_weight(rec, gan, last.weight), expected)
    assert adaptive_weight(rec * 1e6, gan * 1e-12, last.weight) == pytest.approx(1e4)  # clamp


def test_the_classifier_perceptual_distance_is_zero_for_equal_images_and_differentiable():
    torch.manual_seed(0)
    perceptual = ClassifierPerceptual(Classifier(1, 10, width=4))
    x = torch.rand(3, 1, 16, 16) * 2 - 1
    assert torch.allclose(perceptual(x, x), torch.zeros(3))
    y = (x + 0.5 * torch.randn_like(x)).requires_grad_()
    distance = perceptual(x, y)
    assert (distance > 0).all()
    distance.sum().backward()
    assert y.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in perceptual.parameters())  # frozen


def test_lpips_without_its_package_or_weights_stops_with_one_line():
    try:
        LPIPSPerceptual()
    except ConfigError as exc:
        assert "\n" not in str(exc) and "model.perceptual.kind=classifier" in str(exc)
    else:  # the package and the VGG weights are present here: the real path ran
        pass


# ---------------------------------------------------------------------------- the prior
def test_the_kv_cache_gives_the_full_forward_and_sampling_respects_top_k():
    torch.manual_seed(0)
    model = GPT(12, 8, width=16, depth=2, heads=2).eval()
    tokens = torch.randint(0, 12, (3, 8))
    cache: list = [[] for _ in model.blocks]
    pieces = [model(tokens[:, :3], cache)] + [
        model(tokens[:, i : i + 1], cache) for i in range(3, 8)
    ]
    assert torch.allclose(model(tokens), torch.cat(pieces, 1), atol=1e-5)
    logits = torch.tensor([[0.0, 3.0, 1.0, 2.0]])
    assert torch.isinf(top_k_filter(logits, 2)[0, [0, 2]]).all()
    drawn = sample_tokens(model, torch.zeros(200, 1, dtype=torch.long), 4, top_k=1, limit=10)
    first = model(torch.zeros(1, 1, dtype=torch.long))[0, -1, :10].argmax()
    assert (drawn[:, 0] == first).all()  # top-1 is greedy
    assert int(drawn.max()) < 10  # the limit keeps start tokens out


def test_the_transformer_memorises_a_sequence():
    torch.manual_seed(0)
    model = GPT(10, 9, width=32, depth=2, heads=2)
    sequence = torch.tensor([[9, 3, 1, 4, 1, 5, 9 - 1, 2, 6]])
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(150):
        loss = F.cross_entropy(model(sequence[:, :-1])[0], sequence[0, 1:])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05
    drawn = sample_tokens(model.eval(), sequence[:, :1], 8, top_k=1)
    assert torch.equal(drawn, sequence[:, 1:])


# ---------------------------------------------------------------------------- the runs
def test_holdout_keeps_a_fixed_draw_out_of_training():
    a, b = DigitsDataModule(16, 32, holdout=100), DigitsDataModule(16, 32, holdout=100)
    a.setup(), b.setup()
    held, _ = a.held_out()
    assert held.shape[0] == 100 and len(a.dataset) == 1697
    assert torch.equal(held, b.held_out()[0])  # the same draw every run
    train_rows = a.dataset.images.flatten(1)
    assert not any(bool((train_rows == h.flatten()).all(1).any()) for h in held[:20])
    with pytest.raises(ConfigError, match="data.holdout=1790"):
        DigitsDataModule(16, 32, holdout=1790).setup()


def test_two_iterations_of_both_stages_write_checkpoints_images_and_metrics(tmp_path):
    one = tmp_path / "one"
    summary = train(compose_config([*VQGAN_TINY, *METRICS, *QUIET, "iterations=2",
                                    "model.disc_start=1", "model.perceptual.kind=classifier",
                                    f"paths.run_dir={one}"]))  # fmt: skip
    assert (one / "checkpoints" / "last.ckpt").exists()
    assert (one / "samples" / "recon_000002.png").exists()
    assert {"rfid", "psnr", "ssim", "l1", "codebook_usage"} <= set(summary["metrics"])
    checkpoint = torch.load(one / "checkpoints" / "last.ckpt", weights_only=True)
    assert not any(k.startswith("_perceptual") for k in checkpoint["state_dict"])
    two = tmp_path / "two"
    first_stage = one / "checkpoints" / "last.ckpt"
    summary = train(compose_config([*STAGE2_TINY, *QUIET, "iterations=2",
                                    f"model.first_stage={first_stage}",
                                    f"paths.run_dir={two}"]))  # fmt: skip
    assert summary["iterations"] == 2
    assert (two / "checkpoints" / "last.ckpt").exists()
    assert (two / "samples" / "iter_000002.png").exists()
    # the stage-2 checkpoint restores without the stage-1 file and samples digits-shaped images
    first_stage.rename(tmp_path / "moved.ckpt")
    _, game, _ = restore.restore(two / "checkpoints" / "last.ckpt")
    stage1 = torch.load(tmp_path / "moved.ckpt", weights_only=True)["state_dict"]
    assert torch.equal(
        game.autoencoder["decoder"].conv_out.weight, stage1["decoder.conv_out.weight"]
    )
    assert game.sample(3, labels=torch.tensor([0, 1, 2])).shape == (3, 1, 16, 16)


def test_no_adversarial_gradient_before_disc_start(tmp_path):
    cfg = compose_config([*VQGAN_TINY, *QUIET, "iterations=3", "model.disc_start=100",
                          "metrics=none", f"paths.run_dir={tmp_path}"])  # fmt: skip
    from gans.build import build_model

    L.seed_everything(cfg.seed, verbose=False)  # as train() does before building the game
    before = {k: v.clone() for k, v in build_model(cfg).discriminator.state_dict().items()}
    train(cfg)
    after = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    for key, value in before.items():
        assert torch.equal(after["state_dict"][f"discriminator.{key}"], value), key
    assert len(after["optimizer_states"][1]["state"]) == 0  # D's Adam never stepped


@pytest.mark.parametrize("stage", [1, 2])
def test_resume_is_exact_across_disc_start_and_in_stage_two(tmp_path, stage):
    if stage == 1:
        base = [*VQGAN_TINY, *QUIET, "model.disc_start=3", "metrics=none", "sample_every=0"]
    else:
        train(compose_config([*VQGAN_TINY, *QUIET, "iterations=2", "metrics=none",
                              f"paths.run_dir={tmp_path / 'one'}"]))  # fmt: skip
        first = tmp_path / "one" / "checkpoints" / "last.ckpt"
        base = [*STAGE2_TINY, *QUIET, f"model.first_stage={first}", "sample_every=0"]
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    train(compose_config([*base, f"paths.run_dir={whole}", "iterations=4"]))
    train(compose_config([*base, f"paths.run_dir={parts}", "iterations=2"]))
    last = parts / "checkpoints" / "last.ckpt"
    train(compose_config([*base, f"paths.run_dir={parts}", "iterations=4", f"ckpt_path={last}"]))
    a = torch.load(whole / "checkpoints" / "last.ckpt", weights_only=True)
    assert_same_state(a, torch.load(last, weights_only=True))


# ---------------------------------------------------------------------------- bad input
def test_stage_two_on_a_checkpoint_that_is_not_a_vqgan_names_the_file_and_what_it_holds(tmp_path):
    dcgan = tmp_path / "dcgan"
    train(compose_config(["data=digits", "data.image_size=16", "data.batch_size=8",
                          "model.generator.base_channels=4", "model.discriminator.base_channels=4",
                          "iterations=1", "metrics=none", *QUIET,
                          f"paths.run_dir={dcgan}"]))  # fmt: skip
    ckpt = dcgan / "checkpoints" / "last.ckpt"
    with pytest.raises(ConfigError) as exc:
        train(compose_config([*STAGE2_TINY, *QUIET, f"model.first_stage={ckpt}",
                              f"paths.run_dir={tmp_path / 'two'}"]))  # fmt: skip
    message = str(exc.value)
    assert str(ckpt) in message and "model=dcgan" in message and "\n" not in message
    with pytest.raises(ConfigError, match="does not exist"):
        train(compose_config([*STAGE2_TINY, *QUIET, f"model.first_stage={tmp_path / 'no.ckpt'}",
                              f"paths.run_dir={tmp_path / 'three'}"]))  # fmt: skip


def test_a_codebook_dimension_unlike_the_encoders_output_stops_before_training(tmp_path):
    cfg = compose_config([*VQGAN_TINY, *QUIET, "iterations=2", "model.encoder.z_channels=6",
                          "metrics=none", f"paths.run_dir={tmp_path}"])  # fmt: skip
    with pytest.raises(ConfigError, match=r"model.quantizer.dim=8 does not match .*z_channels=6"):
        train(cfg)
    assert not (tmp_path / "checkpoints").exists()
