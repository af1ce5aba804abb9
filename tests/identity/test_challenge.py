"""The RFC 6750 / RFC 9728 `WWW-Authenticate` challenge of a resource server."""

from __future__ import annotations

import pytest

from mesh.identity import bearer_challenge

METADATA = "http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp/demand"


def test_the_challenge_names_the_resource_metadata_scope_and_error() -> None:
    value = bearer_challenge(
        resource_metadata=METADATA,
        scope="demand:read inventory:read",
        error="insufficient_scope",
        error_description="the tool needs demand:read",
    )

    assert value == (
        f'Bearer resource_metadata="{METADATA}", scope="demand:read inventory:read", '
        'error="insufficient_scope", error_description="the tool needs demand:read"'
    )


def test_only_the_resource_metadata_is_required() -> None:
    assert bearer_challenge(resource_metadata=METADATA) == f'Bearer resource_metadata="{METADATA}"'


def test_a_description_cannot_break_out_of_its_quotes() -> None:
    value = bearer_challenge(
        resource_metadata=METADATA, error="invalid_token", error_description='a "b" \\ c\r\nd é'
    )

    assert value.endswith('error_description="a ?b? ? c??d ?"')


def test_quotes_in_the_metadata_url_are_escaped() -> None:
    assert bearer_challenge(resource_metadata='http://h/"x"') == 'Bearer resource_metadata="http://h/\\"x\\""'


@pytest.mark.parametrize(
    "arguments",
    [
        {"scope": 'demand:read"'},
        {"scope": "demand:read  inventory:read"},
        {"error": 'invalid"token'},
        {"resource_metadata": "http://h/\r\nX-Injected: 1"},
    ],
)
def test_values_that_cannot_be_quoted_safely_are_refused(arguments: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"malformed|control"):
        bearer_challenge(**({"resource_metadata": METADATA} | arguments))
