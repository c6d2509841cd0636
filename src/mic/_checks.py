"""Argument checks shared by every options class: durations (seconds) and counts.

One rule everywhere (STYLE.md, issue 15): a duration is a finite number of seconds, above
zero or at least zero as the option says; a count is an integer (``bool`` is not one). NaN
fails every comparison, so each check is written so that NaN fails it too.
"""

from __future__ import annotations

import math
from typing import Any


def check_duration(
    name: str,
    value: Any,
    *,
    allow_zero: bool = False,
    at_most: float = math.inf,
    optional: bool = False,
) -> None:
    """Refuse a duration that is not a finite number of seconds in range.

    Args:
        name: The option's name, for the message.
        value: What the caller passed.
        allow_zero: Whether 0 is acceptable (``>= 0`` instead of ``> 0``).
        at_most: The largest acceptable value.
        optional: Whether ``None`` is acceptable.

    Raises:
        ValueError: NaN, infinite, negative, zero (unless allowed), too large, or not a
            number.
    """
    if value is None and optional:
        return
    number = not isinstance(value, bool) and isinstance(value, int | float)
    low_ok = number and (value >= 0 if allow_zero else value > 0)
    if not (low_ok and value <= at_most and math.isfinite(value)):
        bound = ">= 0" if allow_zero else "> 0"
        if math.isfinite(at_most):
            bound += f" and <= {at_most}"
        kind = "a finite number of seconds, or None" if optional else "a finite number of seconds"
        raise ValueError(f"{name} must be {bound} ({kind}), got {value!r}")


def check_count(name: str, value: Any, *, minimum: int = 1, maximum: int | None = None) -> None:
    """Refuse a count that is not an integer in ``[minimum, maximum]``.

    Raises:
        ValueError: Not an integer (``bool`` included), or out of range.
    """
    integer = not isinstance(value, bool) and isinstance(value, int)
    if not (integer and value >= minimum and (maximum is None or value <= maximum)):
        bound = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ValueError(f"{name} must be {bound} (an integer), got {value!r}")
