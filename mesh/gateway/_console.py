"""The operator console: one static page served by the gateway at `/console`.

The page is plain HTML, CSS and JavaScript from `mesh/gateway/console/` (no build step, nothing
fetched from anywhere but this gateway). It logs in with the operator client's credentials at
`/oauth/token`, keeps its tokens in memory only, and calls the gateway's `/api` routes.

Contract:

- `GET /console` (and `/console/`): the page, with the API's audience in a `<meta>` tag (the
  only server-side substitution, HTML-escaped), `Cache-Control: no-store`.
- `GET /console/static/<name>`: one of `STATIC_FILES`, nothing else (404); files are read once,
  when the routes are mounted, so a missing file stops the gateway at start-up, not at a request.
- Every response carries `SECURITY_HEADERS`: a Content-Security-Policy allowing only this origin
  (no inline script or style, no framing, no form posts), `X-Frame-Options: DENY`, `nosniff`,
  no referrer.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from importlib import resources

from fastapi import FastAPI, HTTPException
from fastapi.responses import RedirectResponse, Response

from mesh.gateway._clients import DIRECTORY_SCOPE, OPERATOR_SCOPE
from mesh.gateway._errors import GatewayConfigError

CONSOLE_PATH = "/console"
STATIC_PATH = f"{CONSOLE_PATH}/static"
STATIC_FILES = {
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
_PAGE = "index.html"
_AUDIENCE_MARKER = "{{API_AUDIENCE}}"
_OPERATOR_SCOPE_MARKER = "{{OPERATOR_SCOPE}}"
_DIRECTORY_SCOPE_MARKER = "{{DIRECTORY_SCOPE}}"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


@dataclass(frozen=True, slots=True)
class ConsoleFiles:
    """The console's files, read once: the page (with the API audience filled in) and its assets."""

    page: bytes
    static: dict[str, bytes]

    @classmethod
    def load(cls, api_audience: str) -> ConsoleFiles:
        folder = resources.files("mesh.gateway") / "console"
        try:
            template = (folder / _PAGE).read_text(encoding="utf-8")
            static = {name: (folder / name).read_bytes() for name in STATIC_FILES}
        except OSError as error:
            raise GatewayConfigError(f"the operator console's files are missing: {error}") from None
        if _AUDIENCE_MARKER not in template:
            raise GatewayConfigError(f"console/{_PAGE} has no {_AUDIENCE_MARKER} marker")
        page = (
            template.replace(_AUDIENCE_MARKER, html.escape(api_audience, quote=True))
            .replace(_OPERATOR_SCOPE_MARKER, OPERATOR_SCOPE)
            .replace(_DIRECTORY_SCOPE_MARKER, DIRECTORY_SCOPE)
        )
        return cls(page=page.encode(), static=static)


def mount_console(app: FastAPI, public_base_url: str) -> None:
    """Serve the console at `/console` of the gateway whose public base URL is `public_base_url`."""
    files = ConsoleFiles.load(f"{public_base_url.rstrip('/')}/api")

    @app.api_route(CONSOLE_PATH, methods=["GET", "HEAD"], include_in_schema=False)
    async def console_page() -> Response:
        return Response(
            files.page,
            media_type="text/html; charset=utf-8",
            headers={**SECURITY_HEADERS, "Cache-Control": "no-store"},
        )

    @app.api_route(f"{CONSOLE_PATH}/", methods=["GET", "HEAD"], include_in_schema=False)
    async def console_slash() -> Response:
        return RedirectResponse(CONSOLE_PATH, status_code=308, headers=SECURITY_HEADERS)

    @app.api_route(f"{STATIC_PATH}/{{name:path}}", methods=["GET", "HEAD"], include_in_schema=False)
    async def console_static(name: str) -> Response:
        media_type = STATIC_FILES.get(name)
        if media_type is None:
            raise HTTPException(404, f"no console file {name!r}", headers=SECURITY_HEADERS)
        return Response(
            files.static[name],
            media_type=media_type,
            headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
        )
