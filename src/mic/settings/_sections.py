"""The per-feature settings sections; each builds its backend from a URL.

A section is a frozen pydantic model with ``extra="forbid"``, so a misspelt variable
(``MIC_STORAGE__URLL``) fails at start instead of being ignored. Builders import their
backend at call time: ``import mic.settings`` needs no extra beyond ``settings``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from mic.settings._secret_url import SecretUrl

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from mic.auth import ServiceAuthVerifier, ServiceKey
    from mic.cache import CacheBackend
    from mic.datastorage import DataStorage, StorageOptions
    from mic.eventbus import EventBus
    from mic.ratelimit import RateLimiter, RateLimitPolicy

_SECTION = ConfigDict(extra="forbid", frozen=True)


def _check_scheme(url: SecretUrl, allowed: Sequence[str]) -> SecretUrl:
    # The message names the scheme only: the rest of the URL may hold a password.
    if "://" not in url.get_secret_value():
        raise ValueError(f"must be a URL such as {allowed[0]}://...")
    if url.scheme not in allowed:
        raise ValueError(f"scheme {url.scheme!r} is not one of {', '.join(allowed)}")
    return url


def _split(value: object) -> object:
    """A comma-separated environment value as a list (a JSON list is accepted too)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


class ServiceSettings(BaseModel):
    """``MIC_SERVICE__*``: who this service is.

    Attributes:
        name: The service's name (logs, the OpenAPI title, token issuer by default).
        version: Its version (the OpenAPI document).
    """

    model_config = _SECTION

    name: str = Field(default="mic-service", min_length=1)
    version: str = Field(default="0.1.0", min_length=1)


class HttpSettings(BaseModel):
    """``MIC_HTTP__*``: how the service serves HTTP.

    Attributes:
        framework: ``fastapi`` or ``litestar``.
        host: Interface to bind.
        port: TCP port.
        shutdown_timeout: Seconds a shutdown waits for in-flight requests and handlers
            before closing resources anyway.
    """

    model_config = _SECTION

    framework: Literal["fastapi", "litestar"] = "fastapi"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    shutdown_timeout: float = Field(default=30.0, gt=0, allow_inf_nan=False)

    @field_validator("framework", mode="before")
    @classmethod
    def _normalized(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class LoggingSettings(BaseModel):
    """``MIC_LOGGING__*``: `mic.observability.configure_logging` options.

    Attributes:
        format: ``json`` (one object per line) or ``text``.
        level: The root logger's level.
    """

    model_config = _SECTION

    format: Literal["json", "text"] = "json"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    def apply(self) -> None:
        """Configure the process's logging from these settings."""
        from mic.observability import configure_logging

        configure_logging(format=self.format, level=self.level)


STORAGE_SCHEMES = ("memory", "sqlite", "sqlite+aiosqlite", "postgresql", "postgresql+psycopg")


class StorageSettings(BaseModel):
    """``MIC_STORAGE__*``: where records live.

    Attributes:
        url: ``memory://``, ``sqlite+aiosqlite:///path.db`` or
            ``postgresql+psycopg://user:password@host/db`` (masked in reprs).
        pool_size: Connections kept per process (SQL; the driver's default when unset).
        echo: Log every SQL statement (development only).
    """

    model_config = _SECTION

    url: SecretUrl = SecretUrl("memory://")
    pool_size: int | None = Field(default=None, ge=1)
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _scheme(cls, url: SecretUrl) -> SecretUrl:
        return _check_scheme(url, STORAGE_SCHEMES)

    @property
    def in_memory(self) -> bool:
        """Whether records live in this process only (``memory://``)."""
        return self.url.scheme == "memory"

    def create_engine(self) -> AsyncEngine:
        """A SQLAlchemy async engine for `url`; the caller disposes of it.

        Raises:
            ValueError: `url` is ``memory://`` (there is no engine to create).
            MissingDependencyError: The ``sql`` (or ``postgres``) extra is missing.
        """
        if self.in_memory:
            raise ValueError("MIC_STORAGE__URL is memory://: there is no SQL engine")
        from mic.datastorage import create_sql_engine

        options: dict[str, Any] = {"echo": self.echo}
        if self.pool_size is not None and self.url.scheme.startswith("postgresql"):
            options["pool_size"] = self.pool_size
        return create_sql_engine(self.url.get_secret_value(), **options)

    def build(
        self,
        model: type[Any],
        *,
        engine: AsyncEngine | None = None,
        options: StorageOptions | None = None,
    ) -> DataStorage[Any]:
        """A storage of `model`: in memory, or SQL on `engine` (a SQLModel table model).

        Raises:
            ValueError: A SQL URL without `engine`.
        """
        if self.in_memory:
            from mic.datastorage import InMemoryDataStorage

            return InMemoryDataStorage(model, options=options)
        if engine is None:
            raise ValueError("a SQL storage needs the engine of create_engine()")
        from mic.datastorage import SqlDataStorage

        return SqlDataStorage(model, engine, options=options)


EVENTBUS_SCHEMES = ("memory", "redis", "rediss", "nats", "tls")


class EventBusSettings(BaseModel):
    """``MIC_EVENTBUS__*``: where events go.

    Attributes:
        url: ``memory://``, ``redis://host:6379/0`` or ``nats://host:4222`` (several NATS
            servers: comma-separated in the URL's host part is not supported, give one).
        stream: The JetStream stream (NATS).
        subject_prefix: Prefix of NATS subjects.
        redis_prefix: Prefix of Redis stream keys.
        connect_timeout: Seconds `connect` waits for a NATS server before failing (nats-py
            would otherwise keep retrying, holding the service's start).
    """

    model_config = _SECTION

    url: SecretUrl = SecretUrl("memory://")
    stream: str = Field(default="MIC_EVENTS", min_length=1)
    subject_prefix: str = Field(default="mic.events", min_length=1)
    redis_prefix: str = Field(default="mic:events:", min_length=1)
    connect_timeout: float = Field(default=5.0, gt=0, allow_inf_nan=False)

    @field_validator("url")
    @classmethod
    def _scheme(cls, url: SecretUrl) -> SecretUrl:
        return _check_scheme(url, EVENTBUS_SCHEMES)

    async def connect(self) -> EventBus:
        """The bus for `url`, connected; ``close()`` releases what it opened.

        Raises:
            MissingDependencyError: The ``redis`` or ``nats`` extra is missing.
            ConnectionError: No NATS server answered within `connect_timeout` (Redis
                connects lazily, at the first command).
        """
        scheme, url = self.url.scheme, self.url.get_secret_value()
        if scheme == "memory":
            from mic.eventbus import InMemoryEventBus

            return InMemoryEventBus()
        if scheme in ("redis", "rediss"):
            from mic.eventbus import RedisStreamsEventBus

            return RedisStreamsEventBus.from_url(url, prefix=self.redis_prefix)
        from mic.eventbus import NATSEventBus

        try:
            async with asyncio.timeout(self.connect_timeout):
                return await NATSEventBus.connect(
                    url, stream=self.stream, subject_prefix=self.subject_prefix
                )
        except TimeoutError:
            # The URL is not in the message: it may hold a password.
            raise ConnectionError(
                f"no NATS server answered within {self.connect_timeout}s"
            ) from None


REDIS_OR_MEMORY = ("memory", "redis", "rediss")


class RateLimitSettings(BaseModel):
    """``MIC_RATELIMIT__*``: where rate-limit counters live.

    Attributes:
        url: ``memory://`` or ``redis://host:6379/0``.
        failure_mode: What a Redis limiter does when Redis is down (ADR 0031).
        prefix: Prefix of Redis keys.
    """

    model_config = _SECTION

    url: SecretUrl = SecretUrl("memory://")
    failure_mode: Literal["open", "closed"] = "closed"
    prefix: str = Field(default="mic:ratelimit:", min_length=1)

    @field_validator("url")
    @classmethod
    def _scheme(cls, url: SecretUrl) -> SecretUrl:
        return _check_scheme(url, REDIS_OR_MEMORY)

    def build(self, policy: RateLimitPolicy | None = None) -> RateLimiter:
        """The limiter for `url`; close a Redis one's client with ``limiter.client.aclose()``.

        Raises:
            MissingDependencyError: The ``redis`` extra is missing.
        """
        if self.url.scheme == "memory":
            from mic.ratelimit import InMemoryRateLimiter

            return InMemoryRateLimiter(policy)
        from mic.ratelimit import RedisRateLimiter

        return RedisRateLimiter(
            _redis_client(self.url), policy, prefix=self.prefix, failure_mode=self.failure_mode
        )


class CacheSettings(BaseModel):
    """``MIC_CACHE__*``: where cached values live.

    Attributes:
        url: ``memory://`` or ``redis://host:6379/0``.
        default_ttl: Seconds a value lives when `set` gives no ttl (unset: forever).
        prefix: Prefix of Redis keys.
    """

    model_config = _SECTION

    url: SecretUrl = SecretUrl("memory://")
    default_ttl: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    prefix: str = Field(default="mic:cache:", min_length=1)

    @field_validator("url")
    @classmethod
    def _scheme(cls, url: SecretUrl) -> SecretUrl:
        return _check_scheme(url, REDIS_OR_MEMORY)

    def build(self) -> CacheBackend:
        """The cache for `url`; close a Redis one's client with ``cache.client.aclose()``.

        Raises:
            MissingDependencyError: The ``redis`` extra is missing.
        """
        if self.url.scheme == "memory":
            from mic.cache import InMemoryCache

            return InMemoryCache(default_ttl=self.default_ttl)
        from mic.cache import RedisCache

        return RedisCache(_redis_client(self.url), prefix=self.prefix, default_ttl=self.default_ttl)


def _redis_client(url: SecretUrl) -> Any:
    from mic._deps import require

    redis_asyncio = require("redis.asyncio", "redis")
    return redis_asyncio.Redis.from_url(url.get_secret_value())


class AuthSettings(BaseModel):
    """``MIC_AUTH__*``: how incoming service tokens are verified.

    Attributes:
        audience: This service's audience in tokens (unset: token auth is off).
        issuers: Accepted issuers, comma-separated.
        key_files: JWK files (JSON, each with a ``kid``), comma-separated.
        jwks_url: A JWKS endpoint to fetch verification keys from.
        hmac_secret: A shared HS256 secret (at least 32 bytes; masked in reprs).
        hmac_kid: The ``kid`` of `hmac_secret`.
    """

    model_config = _SECTION

    audience: str | None = None
    issuers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    key_files: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    jwks_url: str | None = None
    hmac_secret: SecretStr | None = None
    hmac_kid: str = "default"

    _split_lists = field_validator("issuers", "key_files", mode="before")(_split)

    @field_validator("key_files")
    @classmethod
    def _readable_jwks(cls, paths: list[Path]) -> list[Path]:
        for path in paths:
            _read_jwk(path)
        return paths

    @field_validator("jwks_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return url

    @field_validator("hmac_secret")
    @classmethod
    def _long_enough(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and len(secret.get_secret_value().encode()) < 32:
            raise ValueError("an HS256 secret must be at least 32 bytes long")
        return secret

    @property
    def enabled(self) -> bool:
        """Whether token verification is configured (an audience is set)."""
        return self.audience is not None

    def service_keys(self) -> list[ServiceKey]:
        """The verification keys from `key_files` and `hmac_secret`.

        Raises:
            MissingDependencyError: The ``auth`` extra is missing.
        """
        from mic.auth import ServiceKey

        keys = [ServiceKey.from_jwk(_read_jwk(path)) for path in self.key_files]
        if self.hmac_secret is not None:
            keys.append(ServiceKey.hmac(self.hmac_kid, self.hmac_secret.get_secret_value()))
        return keys

    def build_verifier(self) -> ServiceAuthVerifier:
        """A `ServiceAuthVerifier` from these settings (`RemoteJwks` when `jwks_url` is set).

        Raises:
            ValueError: No audience, no issuer, or no key source.
            MissingDependencyError: The ``auth`` (and for JWKS ``client``) extra is missing.
        """
        if self.audience is None or not self.issuers:
            raise ValueError("MIC_AUTH__AUDIENCE and MIC_AUTH__ISSUERS are both needed")
        from mic.auth import RemoteJwks, ServiceAuthVerifier

        keys = self.service_keys()
        jwks = RemoteJwks(self.jwks_url) if self.jwks_url is not None else None
        if not keys and jwks is None:
            raise ValueError(
                "token auth needs MIC_AUTH__KEY_FILES, MIC_AUTH__JWKS_URL or MIC_AUTH__HMAC_SECRET"
            )
        return ServiceAuthVerifier(
            audience=self.audience, issuers=self.issuers, keys=keys, jwks=jwks
        )


def _read_jwk(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror}") from None
    except ValueError:
        raise ValueError(f"{path} is not JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("kid"), str):
        raise ValueError(f"{path} is not a JWK with a 'kid'")  # noqa: TRY004 - pydantic collects ValueError
    return document
