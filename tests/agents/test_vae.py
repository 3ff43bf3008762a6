import numpy as np
import pytest
import torch

from bc_gym.agents.vae import VAE, VAEConfig, encode_frames, fg_error, linear_probe, save_grids

pytestmark = pytest.mark.train


@pytest.mark.parametrize("recon", ["mse", "fg", "edge"])
def test_every_loss_variant_trains(recon):
    torch.manual_seed(42)
    vae = VAE(VAEConfig(obs_shape=(32, 32, 3), latent_dim=4, channels=(4, 4, 8, 8), recon=recon))
    x = torch.randint(0, 255, (8, 3, 32, 32), dtype=torch.uint8)
    opt = torch.optim.Adam(vae.parameters(), lr=1e-3)
    losses = []
    for _ in range(5):
        _, loss = vae(x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]


def test_foreground_weights_mark_pixels_off_the_background():
    vae = VAE(VAEConfig(obs_shape=(16, 16, 1), latent_dim=2, fg_weight=9.0))
    x = torch.zeros(1, 1, 16, 16)
    x[0, 0, 3, 4] = 1.0
    w = vae.recon_weights(x)
    assert w[0, 0, 3, 4] == 10.0 and w.sum() == 16 * 16 - 1 + 10


def test_bad_size_names_the_fix():
    with pytest.raises(ValueError, match="multiples of 16"):
        VAEConfig(obs_shape=(60, 60, 3))


def test_encode_errors_grids_and_probe(tmp_path):
    vae = VAE(VAEConfig(obs_shape=(32, 32, 3), latent_dim=4, channels=(4, 4, 8, 8)))
    frames = np.random.default_rng(42).integers(0, 255, (10, 32, 32, 3), dtype=np.uint8)
    mu, logvar = encode_frames(vae, frames, batch_size=4)
    assert mu.shape == logvar.shape == (10, 4)
    mse, fg = fg_error(vae, frames)
    assert 0 < mse < 1 and 0 < fg < 1
    save_grids(vae, frames, tmp_path)
    assert (tmp_path / "reconstructed.png").is_file() and (tmp_path / "samples.png").is_file()
    rng = np.random.default_rng(42)
    z = rng.normal(size=(200, 3))
    y = (z[:, 0] > 0).astype(int)
    probe = linear_probe(z[:150], y[:150], z[150:], y[150:], 2)
    assert probe["probe_acc"] > 0.9
    assert probe["probe_train_frames"] == 150
    sample = linear_probe(z[:150], y[:150], z[150:], y[150:], 2, max_train=40)
    assert sample["probe_acc"] > 0.8 and sample["probe_train_frames"] == 40


def test_loss_from_stats_is_the_forward_loss():
    """The end-to-end GPT reuses an encoding: the same loss as encoding inside ``forward``."""
    torch.manual_seed(42)
    vae = VAE(VAEConfig(obs_shape=(32, 32, 3), latent_dim=4, channels=(4, 4, 8, 8))).eval()
    x = torch.randint(0, 255, (3, 3, 32, 32), dtype=torch.uint8)
    _, loss = vae(x)
    mu, logvar = vae.encode(x)
    _, again = vae.loss_from_stats(x, mu, logvar)
    assert float(again) == pytest.approx(float(loss))
    _, other = vae.loss_from_stats(x, mu + 1.0, logvar)
    assert float(other) != pytest.approx(float(loss))
