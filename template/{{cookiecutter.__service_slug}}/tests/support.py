"""Test helpers shared by the test modules."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config

from {{ cookiecutter.__package_name }}.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def settings_for(storage_url: str) -> Settings:
    """The service's settings with `storage_url`, ignoring ``.env`` (tests are reproducible)."""
    return Settings.load(env_file=None, storage={"url": storage_url})


def migrate(storage_url: str, revision: str = "head") -> None:
    """Run the Alembic migrations up (or down) to `revision` on `storage_url`."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["storage_url"] = storage_url
    step = command.downgrade if revision.startswith("-") or revision == "base" else command.upgrade
    # Alembic's env.py runs its own event loop: a thread keeps it off the test's loop.
    errors: list[BaseException] = []

    def run() -> None:
        try:
            step(config, revision)
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if errors:
        raise errors[0]
