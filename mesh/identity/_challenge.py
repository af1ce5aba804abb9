"""The `WWW-Authenticate` challenge a resource server sends (RFC 6750 §3, RFC 9728 §5.1)."""

from __future__ import annotations

import re

_ERROR_CODE = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]+")
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*")
_DESCRIPTION_FORBIDDEN = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def bearer_challenge(
    *,
    resource_metadata: str,
    scope: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> str:
    """`Bearer resource_metadata="...", scope="...", error="...", error_description="..."`.

    Every value is a quoted-string. `scope` (space-separated scope tokens) and `error` must use
    only the characters RFC 6750 §3 allows there, else ValueError. In `error_description`,
    characters RFC 6750 forbids (quotes, backslashes, controls, non-ASCII) become "?", so a
    message can never break the header. The URL is quoted with `"` and `\\` escaped and must
    not hold control characters.
    """
    if any(ord(character) < 0x20 or ord(character) == 0x7F for character in resource_metadata):
        raise ValueError("resource_metadata holds control characters")
    escaped = resource_metadata.replace("\\", "\\\\").replace('"', '\\"')
    parts = [f'resource_metadata="{escaped}"']
    if scope is not None:
        if _SCOPE.fullmatch(scope) is None:
            raise ValueError(f"malformed scope {scope!r}")
        parts.append(f'scope="{scope}"')
    if error is not None:
        if _ERROR_CODE.fullmatch(error) is None:
            raise ValueError(f"malformed error code {error!r}")
        parts.append(f'error="{error}"')
    if error_description is not None:
        parts.append(f'error_description="{_DESCRIPTION_FORBIDDEN.sub("?", error_description)}"')
    return "Bearer " + ", ".join(parts)
