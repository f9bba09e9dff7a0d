"""The conda environment and the pip project list the same packages (DESIGN section 10)."""

from __future__ import annotations

import re
import tomllib

import yaml

from arinsight import config


def _name(requirement: str) -> str:
    return re.split(r"[<>=~!\s\[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_has_every_pyproject_package():
    project = tomllib.loads((config.PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    pip_names = {_name(r) for r in project["dependencies"]}
    pip_names |= {_name(r) for r in project["optional-dependencies"]["test"]}
    env = yaml.safe_load((config.PROJECT_ROOT / "environment.yml").read_text())
    conda_names = {_name(d) for d in env["dependencies"] if isinstance(d, str)}
    # a package conda-forge does not carry is installed by pip, listed under "- pip:"
    pip_listed = {_name(r) for d in env["dependencies"] if isinstance(d, dict)
                  for r in d.get("pip") or []}  # fmt: skip
    assert pip_names - conda_names - pip_listed == set()
    # everything else comes from conda-forge; these three are installed by pip there (small,
    # pure Python): axe-core for the browser tests, the MT940 and BAI2 statement parsers
    assert pip_listed <= {"axe-playwright-python", "mt-940", "bai2"}
    assert "quarto" in conda_names  # the site renders with real Quarto in the conda environment


def test_lock_pins_every_pyproject_package():
    project = tomllib.loads((config.PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    wanted |= {_name(r) for r in project["optional-dependencies"]["test"]}
    lock = (config.PROJECT_ROOT / "requirements.lock").read_text().splitlines()
    pinned = {_name(line) for line in lock if "==" in line}
    assert wanted - pinned == set()
