"""A policy set on disk: its Rego modules, its data, and its version."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mesh.policy._errors import PolicyLoadError

ENTRYPOINT = "mesh/results"
"""The one rule every decision queries (`data.mesh.results`): the set of every rule's results."""

_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")


@dataclass(frozen=True)
class PolicySet:
    """The contents of a policy directory, read once.

    `modules` are every `*.rego` file but the Rego tests (`*_test.rego`), by path relative to the
    directory; `data` is every `data/**/*.json` file merged into one document (each file holds
    its values from the root of `data`); `version` is `VERSION` + "+" + the first 12 hex digits
    of a SHA-256 over the paths and contents of those files, in sorted path order.
    """

    directory: Path
    modules: dict[str, str]
    data: dict[str, Any]
    version: str

    @classmethod
    def read(cls, directory: Path) -> PolicySet:
        if not directory.is_dir():
            raise PolicyLoadError(directory, "not a policy directory")
        version_file = directory / "VERSION"
        try:
            release = version_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise PolicyLoadError(version_file, f"cannot read the policy set version: {error}") from None
        if not _SEMVER.match(release):
            raise PolicyLoadError(version_file, f"not a semantic version: {release!r}")

        rego_files = sorted(
            path
            for path in directory.rglob("*.rego")
            if path.is_file() and not path.name.endswith("_test.rego")
        )
        data_files = sorted(path for path in (directory / "data").rglob("*.json") if path.is_file())
        if not rego_files:
            raise PolicyLoadError(directory, "no Rego modules")

        digest = hashlib.sha256()
        texts: dict[Path, str] = {}
        for path in sorted(rego_files + data_files):
            relative = path.relative_to(directory).as_posix()
            try:
                raw = path.read_bytes()
                texts[path] = raw.decode("utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise PolicyLoadError(path, f"cannot read: {error}") from None
            digest.update(relative.encode() + b"\0" + raw + b"\0")

        data: dict[str, Any] = {}
        for path in data_files:
            try:
                document = json.loads(texts[path])
            except json.JSONDecodeError as error:
                raise PolicyLoadError(path, f"not valid JSON: {error}") from None
            if not isinstance(document, dict):
                raise PolicyLoadError(
                    path, "a data file holds a JSON object (its values from the root of data)"
                )
            _merge(data, document, path, ())

        return cls(
            directory=directory,
            modules={path.relative_to(directory).as_posix(): texts[path] for path in rego_files},
            data=data,
            version=f"{release}+{digest.hexdigest()[:12]}",
        )


def _merge(into: dict[str, Any], document: dict[str, Any], path: Path, at: tuple[str, ...]) -> None:
    for key, value in document.items():
        if key not in into:
            into[key] = value
        elif isinstance(into[key], dict) and isinstance(value, dict):
            _merge(into[key], value, path, (*at, key))
        else:
            raise PolicyLoadError(path, f"data.{'.'.join((*at, key))} is already set by another data file")
