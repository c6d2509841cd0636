"""`SettingsError`: every bad setting, in one message, without the values."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError

from mic._errors import MicError


class SettingsError(MicError, ValueError):
    """The settings are missing or malformed; the message lists every bad field.

    Each line names the environment variable (``MIC_STORAGE__URL``) and what is wrong with
    it, never the value it holds, which may be a secret.

    Attributes:
        problems: One ``(variable, message)`` pair per bad field.
    """

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  {variable}: {message}" for variable, message in self.problems)
        count = len(self.problems)
        super().__init__(f"{count} invalid setting{'s' if count != 1 else ''}:\n{lines}")

    @classmethod
    def from_validation_error(cls, error: ValidationError, prefix: str) -> SettingsError:
        """The problems of a pydantic `error`, named as environment variables under `prefix`."""
        problems = []
        for detail in error.errors(include_url=False, include_input=False):
            path = "__".join(str(part) for part in detail["loc"]).upper()
            message = detail["msg"].removeprefix("Value error, ")
            problems.append((f"{prefix}{path}" if path else prefix.rstrip("_"), message))
        return cls(problems)
