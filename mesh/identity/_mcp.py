"""Our tokens for the MCP SDK's servers: an adapter to `mcp.server.auth.provider.TokenVerifier`."""

from __future__ import annotations

import logging

from mcp.server.auth.provider import AccessToken
from mcp.server.auth.provider import TokenVerifier as MCPTokenVerifierProtocol

from ._errors import InvalidTokenError, KeySetUnavailableError
from ._verifier import TokenVerifier

logger = logging.getLogger(__name__)


class MCPTokenVerifier(MCPTokenVerifierProtocol):
    """Accepts, for an `MCPServer(token_verifier=..., auth=AuthSettings(...))`, only tokens our
    verifier accepts for `audience` (the server's own URL, as `resource_server_url`).

    Any refusal, including keys that cannot be fetched, is `None` (the SDK then answers 401).
    The returned `AccessToken.resource` is `audience`, so `validate_token_resource=True` holds;
    `claims` carries `iss`, `jti` and `act_chain` (outermost actor first).
    """

    def __init__(self, verifier: TokenVerifier, *, audience: str) -> None:
        self._verifier = verifier
        self.audience = audience

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            principal = self._verifier.verify(token, audience=self.audience)
        except InvalidTokenError as error:
            logger.info("MCP bearer token refused (%s): %s", error.reason, error)
            return None
        except KeySetUnavailableError as error:
            logger.warning("MCP bearer token refused: %s", error)
            return None
        return AccessToken(
            token=token,
            client_id=principal.client_id,
            scopes=sorted(principal.scopes),
            expires_at=int(principal.expires_at.timestamp()),
            resource=self.audience,
            subject=principal.subject,
            claims={
                "iss": principal.issuer,
                "jti": principal.token_id,
                "act_chain": list(principal.act_chain),
            },
        )
