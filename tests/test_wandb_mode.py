from gans.loggers import choose_wandb_mode, wandb_credentials_available


def _clear(monkeypatch, tmp_path):
    for var in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE", "WANDB_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))


def test_no_credentials_means_offline(monkeypatch, tmp_path):
    _clear(monkeypatch, tmp_path)
    assert not wandb_credentials_available()
    assert choose_wandb_mode() == "offline"
    import os

    assert os.environ["WANDB_MODE"] == "offline"


def test_netrc_entry_or_key_means_online(monkeypatch, tmp_path):
    _clear(monkeypatch, tmp_path)
    (tmp_path / "netrc").write_text("machine api.wandb.ai\n  login user\n  password abc\n")
    assert choose_wandb_mode() == "online"
    _clear(monkeypatch, tmp_path)
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert choose_wandb_mode() == "online"


def test_user_choice_wins(monkeypatch, tmp_path):
    _clear(monkeypatch, tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert choose_wandb_mode() == "disabled"
