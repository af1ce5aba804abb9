"""Identity: the embedded OAuth 2.1 authorization server, and the bearer token verifier every
resource server uses.

`AuthorizationServer` issues short-lived ES256 JWT access tokens (RFC 9068) by client
credentials and by RFC 8693 token exchange (delegation, with the `act` chain), serves its
metadata (RFC 8414), JWKS and revocation (RFC 7009) on a FastAPI `router`. `TokenVerifier`
checks a token for one audience (RFC 8707) against pinned keys, the embedded server's or an
OIDC provider's JWKS URL, and yields a `Principal`. `MCPTokenVerifier` adapts it to the MCP SDK;
`fetch_token`, `exchange_token` and `ClientCredentialsAuth` get tokens.
"""

from mesh.identity._challenge import bearer_challenge
from mesh.identity._cli import token_command
from mesh.identity._client import ClientCredentialsAuth, exchange_token, fetch_token
from mesh.identity._clients import (
    CLIENTS_FILE,
    ClientConfig,
    ClientSpec,
    hash_secret,
    load_or_create_clients,
    read_client_secret,
    verify_secret,
)
from mesh.identity._errors import (
    ClientsFileError,
    IdentityError,
    InvalidTokenError,
    InvalidTokenReason,
    KeySetUnavailableError,
    SigningKeyError,
    TokenRequestError,
)
from mesh.identity._keys import (
    SIGNING_KEY_FILE,
    KeySource,
    PinnedKeys,
    RemoteKeySet,
    SigningKey,
    load_or_create_signing_key,
)
from mesh.identity._mcp import MCPTokenVerifier
from mesh.identity._revocation import RevocationList
from mesh.identity._server import AuthorizationServer
from mesh.identity._verifier import Principal, TokenVerifier
from mesh.identity._wire import (
    ACCESS_TOKEN_TYPE,
    CLIENT_CREDENTIALS,
    TOKEN_EXCHANGE,
    GrantType,
    TokenResponse,
    resource_allowed,
)

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "CLIENTS_FILE",
    "CLIENT_CREDENTIALS",
    "SIGNING_KEY_FILE",
    "TOKEN_EXCHANGE",
    "AuthorizationServer",
    "ClientConfig",
    "ClientCredentialsAuth",
    "ClientSpec",
    "ClientsFileError",
    "GrantType",
    "IdentityError",
    "InvalidTokenError",
    "InvalidTokenReason",
    "KeySetUnavailableError",
    "KeySource",
    "MCPTokenVerifier",
    "PinnedKeys",
    "Principal",
    "RemoteKeySet",
    "RevocationList",
    "SigningKey",
    "SigningKeyError",
    "TokenRequestError",
    "TokenResponse",
    "TokenVerifier",
    "bearer_challenge",
    "exchange_token",
    "fetch_token",
    "hash_secret",
    "load_or_create_clients",
    "load_or_create_signing_key",
    "read_client_secret",
    "resource_allowed",
    "token_command",
    "verify_secret",
]
