"""`MicSettings`: sources, nesting, one error for every bad field, secrets masked."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

import mic.settings
from mic.settings import (
    AuthSettings,
    MicSettings,
    SecretUrl,
    SettingsError,
    StorageSettings,
    mask_url,
)

PASSWORD = "pw-Secret-42"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ``.env`` nor ``MIC_*`` of the outer environment leaks in; no /run/secrets."""
    monkeypatch.chdir(tmp_path)
    for name in list(__import__("os").environ):
        if name.startswith("MIC_") and name != "MIC_REQUIRE_SERVICES":
            monkeypatch.delenv(name)
    monkeypatch.setenv("MIC_SECRETS_DIR", str(tmp_path / "no-secrets"))


def test_all_is_pinned() -> None:
    public = {n for n, v in vars(mic.settings).items() if not n.startswith("_")}
    public -= {"require", "annotations"}
    assert sorted(mic.settings.__all__) == sorted(
        n
        for n in public
        if getattr(getattr(mic.settings, n), "__module__", "").startswith("mic.settings")
    )


def test_defaults_need_no_environment() -> None:
    settings = MicSettings.load()
    assert ("fastapi", "127.0.0.1", 8000, 30.0) == (
        settings.http.framework,
        settings.http.host,
        settings.http.port,
        settings.http.shutdown_timeout,
    )
    assert ("json", "INFO") == (settings.logging.format, settings.logging.level)
    assert all(
        section.url.scheme == "memory"
        for section in (settings.storage, settings.eventbus, settings.ratelimit, settings.cache)
    )
    assert not settings.auth.enabled


def test_variables_are_prefixed_and_nested(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIC_HTTP__FRAMEWORK", "litestar")
    monkeypatch.setenv("MIC_HTTP__PORT", "9001")
    monkeypatch.setenv("MIC_LOGGING__LEVEL", "debug")
    monkeypatch.setenv("MIC_STORAGE__URL", "sqlite+aiosqlite:///./x.db")
    monkeypatch.setenv("HTTP__PORT", "1")  # no prefix: not ours
    settings = MicSettings.load()
    assert ("litestar", 9001, "DEBUG") == (
        settings.http.framework,
        settings.http.port,
        settings.logging.level,
    )
    assert "sqlite+aiosqlite:///./x.db" == settings.storage.url.get_secret_value()


def test_dotenv_is_read_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("MIC_HTTP__PORT=7000\nMIC_SERVICE__NAME=orders\n")
    monkeypatch.setenv("MIC_HTTP__PORT", "7001")
    settings = MicSettings.load()
    assert (7001, "orders") == (settings.http.port, settings.service.name)
    assert "mic-service" == MicSettings.load(env_file=None).service.name


def test_secrets_come_from_files_named_like_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    url = f"postgresql+psycopg://app:{PASSWORD}@db/app"
    (secrets / "MIC_STORAGE__URL").write_text(url + "\n")
    monkeypatch.setenv("MIC_SECRETS_DIR", str(secrets))
    settings = MicSettings.load()
    assert url == settings.storage.url.get_secret_value()


def test_keyword_overrides_win_over_every_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIC_HTTP__PORT", "7001")
    assert 1234 == MicSettings.load(http={"port": 1234}).http.port


def test_every_bad_field_is_listed_in_one_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MIC_HTTP__PORT", "0")
    monkeypatch.setenv("MIC_HTTP__FRAMEWORK", "django")
    monkeypatch.setenv("MIC_HTTP__SHUTDOWN_TIMEOUT", "nan")
    monkeypatch.setenv("MIC_STORAGE__URL", f"mysql://app:{PASSWORD}@db/app")
    monkeypatch.setenv("MIC_STORAGE__URLL", "typo")
    monkeypatch.setenv("MIC_EVENTBUS__URL", "localhost:4222")
    monkeypatch.setenv("MIC_RATELIMIT__URL", f"nats://u:{PASSWORD}@h")
    monkeypatch.setenv("MIC_CACHE__DEFAULT_TTL", "-1")
    monkeypatch.setenv("MIC_AUTH__KEY_FILES", str(tmp_path / "missing.json"))
    monkeypatch.setenv("MIC_AUTH__HMAC_SECRET", "short")
    monkeypatch.setenv("MIC_AUTH__JWKS_URL", "ftp://keys")
    with pytest.raises(SettingsError, match=r"^11 invalid settings:\n") as info:
        MicSettings.load()
    variables = [variable for variable, _ in info.value.problems]
    assert [
        "MIC_HTTP__FRAMEWORK",
        "MIC_HTTP__PORT",
        "MIC_HTTP__SHUTDOWN_TIMEOUT",
        "MIC_STORAGE__URL",
        "MIC_STORAGE__URLL",
        "MIC_EVENTBUS__URL",
        "MIC_RATELIMIT__URL",
        "MIC_CACHE__DEFAULT_TTL",
        "MIC_AUTH__KEY_FILES",
        "MIC_AUTH__JWKS_URL",
        "MIC_AUTH__HMAC_SECRET",
    ] == variables
    message = str(info.value)
    assert "  MIC_STORAGE__URL: scheme 'mysql' is not one of memory, sqlite," in message
    assert "  MIC_EVENTBUS__URL: must be a URL such as memory://..." in message
    assert "  MIC_STORAGE__URLL: Extra inputs are not permitted" in message
    assert "cannot read" in message
    assert PASSWORD not in message
    assert "short" not in message


def test_one_bad_field_says_setting_not_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIC_HTTP__PORT", "x")
    with pytest.raises(SettingsError, match=r"^1 invalid setting:\n  MIC_HTTP__PORT: "):
        MicSettings.load()


def test_secrets_never_show_in_reprs_dumps_or_logs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MIC_STORAGE__URL", f"postgresql+psycopg://app:{PASSWORD}@db/app?sslkey=k")
    monkeypatch.setenv("MIC_EVENTBUS__URL", f"redis://:{PASSWORD}@cache:6379/0")
    monkeypatch.setenv("MIC_AUTH__HMAC_SECRET", PASSWORD * 4)
    settings = MicSettings.load()
    logging.getLogger("test").warning("settings: %s %r", settings, settings)
    for text in (
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        caplog.text,
        json.dumps(settings.model_dump(mode="json")),
    ):
        assert PASSWORD not in text
    assert "postgresql+psycopg://app:***@db/app?***" == str(settings.storage.url)
    assert "redis://:***@cache:6379/0" == str(settings.eventbus.url)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("memory://", "memory://"),
        ("sqlite+aiosqlite:///./x.db", "sqlite+aiosqlite:///./x.db"),
        ("redis://user@h:1/0", "redis://user@h:1/0"),
        ("nats://u:p@a:4222", "nats://u:***@a:4222"),
        ("redis://h/0?password=p#f", "redis://h/0?***#f"),
        ("http://[::1", "***"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert masked == mask_url(url)
    assert masked == str(SecretUrl(url))


def test_a_section_is_added_in_one_place(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import BaseModel, ConfigDict, Field

    class OrdersSection(BaseModel):
        model_config = ConfigDict(extra="forbid")
        max_lines: int = Field(default=10, ge=1)

    class OrdersSettings(MicSettings):
        orders: OrdersSection = OrdersSection()

    monkeypatch.setenv("MIC_ORDERS__MAX_LINES", "25")
    assert 25 == OrdersSettings.load().orders.max_lines
    monkeypatch.setenv("MIC_ORDERS__MAX_LINES", "0")
    with pytest.raises(SettingsError, match="MIC_ORDERS__MAX_LINES: Input should be greater"):
        OrdersSettings.load()


def test_logging_settings_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        MicSettings.load(logging={"format": "text", "level": "warning"}).logging.apply()
        assert logging.WARNING == root.level
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_storage_without_engine_or_in_memory() -> None:
    with pytest.raises(ValueError, match="MIC_STORAGE__URL is memory://: there is no SQL engine"):
        StorageSettings().create_engine()
    sql = StorageSettings(url=SecretUrl("sqlite+aiosqlite://"))
    with pytest.raises(ValueError, match="a SQL storage needs the engine of create_engine"):
        sql.build(object)


def test_auth_needs_audience_issuers_and_a_key_source(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="MIC_AUTH__AUDIENCE and MIC_AUTH__ISSUERS are both"):
        AuthSettings().build_verifier()
    with pytest.raises(
        ValueError, match="token auth needs MIC_AUTH__KEY_FILES, MIC_AUTH__JWKS_URL"
    ):
        AuthSettings(audience="orders", issuers=["billing"]).build_verifier()
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    listed = tmp_path / "list.json"
    listed.write_text("[1]")
    for path, message in ((bad, "is not JSON"), (listed, "is not a JWK with a 'kid'")):
        with pytest.raises(SettingsError, match=message):
            MicSettings.load(auth={"key_files": str(path)})


def test_without_the_extra_the_error_names_it() -> None:
    from tests.test_core_surface import _run

    result = _run(
        {"pydantic_settings"},
        """
        from mic import MissingDependencyError
        import mic.service, mic.testing  # neither needs the extra to import
        try:
            import mic.settings
        except MissingDependencyError as error:
            print(error.extra, error)
        """,
    )
    expected = "settings 'pydantic_settings' is not installed; install it with: pip install 'mic-kit[settings]'"
    assert expected == result.stdout.strip(), result.stderr
