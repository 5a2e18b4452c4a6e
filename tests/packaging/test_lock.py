"""The locks (requirements/runtime.txt for the image, requirements/dev.txt for make install and CI) agree with
pyproject.toml: every dependency is pinned, within its range, with hashes; a dependency added without `make lock`
fails here."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def pins(name: str) -> dict[str, Version]:
    text = (ROOT / "requirements" / name).read_text()
    found: dict[str, Version] = {
        canonicalize_name(m[1]): Version(m[2]) for line in text.splitlines() if (m := PIN.match(line))
    }
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert all("--hash=sha256:" in block for block in blocks if PIN.match(block)), f"{name}: a pin without hashes"
    return found


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def check(requirements: list[str], locked: dict[str, Version], lock: str) -> None:
    for line in requirements:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is not in requirements/{lock}: run make lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"requirements/{lock} pins {name}=={locked[name]}, outside {requirement.specifier}: run make lock"
        )


def test_runtime_lock_covers_the_dependencies_and_nothing_of_development() -> None:
    runtime = pins("runtime.txt")
    check(project()["dependencies"], runtime, "runtime.txt")
    assert not {"honcho", "pytest", "ruff", "mypy", "uv", "playwright"} & set(runtime)


def test_dev_lock_covers_the_test_extra_with_the_runtime_versions() -> None:
    runtime, dev = pins("runtime.txt"), pins("dev.txt")
    check(project()["dependencies"] + project()["optional-dependencies"]["test"], dev, "dev.txt")
    assert {name: dev.get(name) for name in runtime} == runtime  # dev.txt is resolved within runtime.txt
