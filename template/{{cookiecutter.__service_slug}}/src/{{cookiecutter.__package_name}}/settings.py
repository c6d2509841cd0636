"""The service's settings: mic-kit's sections, read from ``MIC_*`` variables and ``.env``.

Defaults serve a development machine with nothing installed: items in SQLite
(``./{{ cookiecutter.__package_name }}.db``), JSON logs, port 8000. Production sets
``MIC_STORAGE__URL=postgresql+psycopg://...`` (or a file of that name in the secrets
directory). Add a section of your own as a field here: ``MIC_<FIELD>__<NAME>``.
"""

from __future__ import annotations

from mic.settings import MicSettings, SecretUrl, ServiceSettings, StorageSettings
from pydantic import Field

from {{ cookiecutter.__package_name }} import __version__

SERVICE_NAME = "{{ cookiecutter.__service_slug }}"
DEFAULT_DATABASE = "sqlite+aiosqlite:///./{{ cookiecutter.__package_name }}.db"


def _service() -> ServiceSettings:
    return ServiceSettings(name=SERVICE_NAME, version=__version__)


def _storage() -> StorageSettings:
    return StorageSettings(url=SecretUrl(DEFAULT_DATABASE))


class Settings(MicSettings):
    """mic-kit's settings with this service's defaults."""

    service: ServiceSettings = Field(default_factory=_service)
    storage: StorageSettings = Field(default_factory=_storage)
