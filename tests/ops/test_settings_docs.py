"""Every setting is documented in .env.example and the README, and secrets never show in reprs."""

from __future__ import annotations

from pathlib import Path

from midway.settings import Settings
from ops.discord_invite import application_id_from_token, invite_url

ROOT = Path(__file__).resolve().parents[2]


def _env_names() -> list[str]:
    names = []
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names.append(alias.choices[0] if alias is not None else f"MIDWAY_{name.upper()}")
    return names


def test_every_setting_is_in_env_example():
    text = (ROOT / ".env.example").read_text()
    missing = [name for name in _env_names() if f"\n{name}=" not in text]
    assert not missing, f".env.example lacks {missing}"


def test_every_setting_is_in_the_readme_table():
    text = (ROOT / "README.md").read_text()
    missing = [name for name in _env_names() if f"`{name}`" not in text]
    assert not missing, f"README settings table lacks {missing}"


def test_discord_token_never_appears_in_repr(monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "MTIzNDU2Nzg5.secret-part")
    settings = Settings()
    assert "secret-part" not in repr(settings) and "secret-part" not in str(settings.model_dump())


def test_invite_url_uses_the_application_id_inside_the_token():
    token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.abcdef"  # base64("123456789012345678")
    assert application_id_from_token(token) == "123456789012345678"
    url = invite_url("123456789012345678")
    assert "client_id=123456789012345678" in url and "scope=bot%20applications.commands" in url
    assert "permissions=8&" not in url + "&", "the bot must not ask for Administrator"
    assert application_id_from_token("not a token") is None
