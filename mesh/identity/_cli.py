"""`mesh token`: a client credentials token for a client whose secret is in the clients file."""

from __future__ import annotations

from pathlib import Path

import httpx
from rich.console import Console
from rich.text import Text

from ._client import basic_credentials, client_credentials_form, token_response
from ._clients import read_client_secret
from ._errors import ClientsFileError, TokenRequestError

EXIT_ISSUED = 0
EXIT_REFUSED = 1
"""The token endpoint refused the request (its error is printed)."""
EXIT_UNAVAILABLE = 2
"""No secret for the client in the clients file, or the token endpoint could not be reached."""


def token_command(
    *,
    token_url: str,
    clients_file: Path,
    client_id: str,
    scope: str | None,
    resource: str,
    console: Console,
    err_console: Console | None = None,
    http: httpx.Client | None = None,
    timeout: float = 10.0,
) -> int:
    """Print only the access token on `console` (stdout, so `TOKEN=$(mesh token ...)` works);
    what was granted, or why not, goes to `err_console` (stderr). Returns the exit code."""
    errors = err_console if err_console is not None else Console(stderr=True)
    try:
        secret = read_client_secret(clients_file, client_id)
    except ClientsFileError as error:
        errors.print(Text(f"error: {error}", style="red"), soft_wrap=True)
        return EXIT_UNAVAILABLE
    form = client_credentials_form(scope=scope, resource=resource)
    headers = {"Authorization": basic_credentials(client_id, secret), "Accept": "application/json"}
    try:
        try:
            if http is None:
                with httpx.Client(timeout=timeout) as own:
                    response = own.post(token_url, data=form, headers=headers)
            else:
                response = http.post(token_url, data=form, headers=headers, timeout=timeout)
        except httpx.HTTPError as error:
            reason = str(error) or type(error).__name__
            raise TokenRequestError("unreachable", f"{token_url}: {reason}", status_code=None) from None
        issued = token_response(response.status_code, response.content)
    except TokenRequestError as error:
        errors.print(Text(f"error: {error}", style="red"), soft_wrap=True)
        return EXIT_UNAVAILABLE if error.status_code is None else EXIT_REFUSED
    console.out(issued.access_token, highlight=False)
    expires = f"{issued.expires_in} s" if issued.expires_in is not None else "an unstated time"
    granted = issued.scope or "(none)"
    summary = f"token for {client_id}: scope {granted!r}, resource {resource}, expires in {expires}"
    errors.print(Text(summary), soft_wrap=True)
    return EXIT_ISSUED
