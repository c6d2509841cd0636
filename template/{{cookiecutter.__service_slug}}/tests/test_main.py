"""``python -m {{ cookiecutter.__package_name }}``: settings first, then logs, then the server."""

from __future__ import annotations

import logging

import pytest
from mic.settings import SettingsError

from {{ cookiecutter.__package_name }}.__main__ import main
from {{ cookiecutter.__package_name }}.settings import Settings


def test_main_configures_logging_and_serves_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIC_STORAGE__URL", "memory://")
    monkeypatch.setenv("MIC_LOGGING__LEVEL", "WARNING")
    served: list[Settings] = []
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        main(served.append)
        assert root.level == logging.WARNING
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert [settings.storage.url.scheme for settings in served] == ["memory"]


def test_bad_settings_stop_the_start_with_every_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIC_HTTP__PORT", "0")
    monkeypatch.setenv("MIC_STORAGE__URL", "mysql://app:secret@db/app")
    with pytest.raises(SettingsError, match="2 invalid settings") as info:
        main(lambda settings: None)
    assert "MIC_HTTP__PORT" in str(info.value)
    assert "secret" not in str(info.value)
