"""Point the generated Makefile's ``MIC_KIT`` at where mic-kit can be installed from.

mic-kit is not on the package index yet. When the template is rendered from a mic-kit
checkout (``mic new``, or cookiecutter on ``<checkout>/template``), that checkout is the
default; otherwise the default is the requirement ``mic-kit`` (the index). Either way
``make bootstrap-dev MIC_KIT=/path/to/mic-kit-or-wheel`` overrides it.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

repo_dir = {{ cookiecutter._repo_dir|tojson }}


def mic_kit_source(template: Path) -> str:
    """The checkout holding `template`, or ``mic-kit`` when it is not in one."""
    checkout = template.resolve().parent
    try:
        project = tomllib.loads((checkout / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "mic-kit"
    return str(checkout) if project.get("project", {}).get("name") == "mic-kit" else "mic-kit"


def main() -> int:
    """Write the default into the Makefile of the generated project (the working directory)."""
    makefile = Path("Makefile")
    text = makefile.read_text(encoding="utf-8")
    makefile.write_text(text.replace("@MIC_KIT_DEFAULT@", mic_kit_source(Path(repo_dir))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
