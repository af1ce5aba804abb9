"""What the tests ask of the operating system about processes they started."""

from __future__ import annotations

from pathlib import Path


def processes_mentioning(needle: Path) -> list[str]:
    """Command lines of live processes mentioning `needle` (our servers name their data dir)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = cmdline.read_bytes()
        except OSError:
            continue
        if str(needle).encode() in command:
            found.append(command.replace(b"\0", b" ").decode())
    return found
