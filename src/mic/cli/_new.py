"""``mic new``: render the service template shipped in the package (cookiecutter).

An installed mic-kit carries the template as ``mic/_template`` (the wheel force-includes the
repository's ``template/``); a source checkout uses ``template/`` directly.
"""

from __future__ import annotations

from pathlib import Path

from mic._deps import require
from mic.cli._spec import CliError

_PACKAGE = Path(__file__).resolve().parents[1]


def template_dir() -> Path:
    """Where the template is: in the installed package, else in the source checkout.

    Raises:
        CliError: Neither exists (a broken installation).
    """
    for candidate in (_PACKAGE / "_template", _PACKAGE.parents[1] / "template"):
        if (candidate / "cookiecutter.json").is_file():
            return candidate
    raise CliError("the service template is missing from this installation; reinstall mic-kit[cli]")


def render_template(
    *, name: str, framework: str, description: str | None, output_dir: Path, overwrite: bool
) -> Path:
    """Render the template without prompting; the new project's directory.

    Raises:
        CliError: The answers are refused by the template's checks (each problem is
            printed by the template), or the directory exists and `overwrite` is false.
        MissingDependencyError: cookiecutter is not installed (extra ``cli``).
    """
    main = require("cookiecutter.main", "cli")
    exceptions = require("cookiecutter.exceptions", "cli")
    answers = {"service_name": name, "http_framework": framework}
    if description is not None:
        answers["service_description"] = description
    try:
        created = main.cookiecutter(
            str(template_dir()),
            no_input=True,
            extra_context=answers,
            output_dir=str(output_dir),
            overwrite_if_exists=overwrite,
            default_config=True,
        )
    except exceptions.OutputDirExistsException as error:
        raise CliError(f"{error}; choose another name or pass --overwrite") from None
    except exceptions.FailedHookException:
        raise CliError("the template refused these answers (see the errors above)") from None
    return Path(created)
