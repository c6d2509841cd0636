"""Refuse answers the generated service cannot work with, before any file is written.

Cookiecutter renders this file with the answers, then runs it; a non-zero exit stops the
generation and nothing is left on disk.
"""

from __future__ import annotations

import keyword
import re
import sys

FRAMEWORKS = ("fastapi", "litestar")
# A distribution name that is also a valid import name once dashes become underscores.
SLUG = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
# Import names the generated package must not shadow.
RESERVED = frozenset({"mic", "tests", "test", "src", "app", "migrations", "alembic"})

service_name = {{ cookiecutter.service_name|tojson }}
service_slug = {{ cookiecutter.__service_slug|tojson }}
package_name = {{ cookiecutter.__package_name|tojson }}
service_description = {{ cookiecutter.service_description|tojson }}
http_framework = {{ cookiecutter.http_framework|tojson }}


def problems() -> list[str]:
    """Every reason the answers are unusable; empty when they are fine."""
    found: list[str] = []
    if http_framework not in FRAMEWORKS:
        found.append(
            f"http_framework must be one of {', '.join(FRAMEWORKS)}, not {http_framework!r}"
        )
    if not SLUG.fullmatch(service_slug):
        found.append(
            f"service_name {service_name!r} gives the name {service_slug!r}; use lower-case "
            "letters, digits and single dashes, starting with a letter (e.g. 'orders-api')"
        )
    elif (
        keyword.iskeyword(package_name)
        or package_name in RESERVED
        or package_name in sys.stdlib_module_names
    ):
        found.append(
            f"service_name {service_name!r} gives the package {package_name!r}, which would "
            "shadow a Python keyword, the standard library, mic or the tests; choose another"
        )
    unsafe = any(char in service_description for char in '"\\')
    if unsafe or not service_description.isprintable():
        found.append(
            "service_description must be one line without double quotes or backslashes "
            "(it is written into pyproject.toml and Python source)"
        )
    return found


def main() -> int:
    """Print every problem to stderr; the exit status tells cookiecutter whether to go on."""
    errors = problems()
    for error in errors:
        print(f"ERROR: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
