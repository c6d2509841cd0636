"""`MicSettings`: every feature's section, read from the environment, ``.env`` and secrets."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    NestedSecretsSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from mic.settings._errors import SettingsError
from mic.settings._sections import (
    AuthSettings,
    CacheSettings,
    EventBusSettings,
    HttpSettings,
    LoggingSettings,
    RateLimitSettings,
    ServiceSettings,
    StorageSettings,
)

DEFAULT_SECRETS_DIR = "/run/secrets"


class MicSettings(BaseSettings):
    """The settings of a mic-kit service, one section per feature.

    Sources, strongest first: keyword arguments, environment variables (``MIC_`` prefix,
    ``__`` between a section and its field: ``MIC_STORAGE__URL``), the ``.env`` file of the
    working directory, then one file per variable in the secrets directory
    (``MIC_SECRETS_DIR``, default ``/run/secrets``: a file named ``MIC_STORAGE__URL``
    holding the URL, as Docker and Kubernetes mount secrets).

    A feature adds its section in one place: a field on a subclass (or here), typed with
    a section model::

        class OrdersSettings(MicSettings):
            orders: OrdersSection = OrdersSection()   # MIC_ORDERS__...

    Load with `load`, which turns every validation problem into one `SettingsError`.
    Secret values (`SecretUrl`, ``SecretStr``) are masked in ``repr()`` and dumps.
    """

    model_config = SettingsConfigDict(
        env_prefix="MIC_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        secrets_nested_delimiter="__",
        secrets_dir_missing="ok",
    )

    prefix: ClassVar[str] = "MIC_"

    service: ServiceSettings = Field(default_factory=ServiceSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    eventbus: EventBusSettings = Field(default_factory=EventBusSettings)
    ratelimit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment, ``.env``, then the secrets directory (files named like variables)."""
        secrets_dir = os.environ.get(f"{cls.prefix}SECRETS_DIR", DEFAULT_SECRETS_DIR)
        secrets = NestedSecretsSettingsSource(
            file_secret_settings, secrets_dir=secrets_dir, secrets_dir_missing="ok"
        )
        return init_settings, env_settings, dotenv_settings, secrets

    @classmethod
    def load(cls, *, env_file: str | Path | None = ".env", **overrides: Any) -> Self:
        """Read the settings, or fail with every problem at once.

        Args:
            env_file: The dotenv file to read (``None``: none).
            overrides: Values that win over every source (tests, the command line).

        Raises:
            SettingsError: One message listing every missing or malformed field, named as
                its environment variable, without the values.
        """
        try:
            return cls(_env_file=env_file, **overrides)
        except ValidationError as error:
            raise SettingsError.from_validation_error(error, cls.prefix) from None
