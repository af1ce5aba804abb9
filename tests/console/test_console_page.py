"""The operator console as served: security headers, the page's audience, the allow-listed static
files, no inline code, text-only rendering; and `mesh console` without a running mesh."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from mesh.cli import app as cli_app
from mesh.gateway._console import STATIC_FILES, mount_console

BASE = "http://127.0.0.1:4100"
CONSOLE_FILES = resources.files("mesh.gateway") / "console"


def _client(base: str = BASE) -> httpx.AsyncClient:
    app = FastAPI()
    mount_console(app, base)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (part.split() for part in policy.split(";") if part.strip())
    return {name: values for name, *values in parts}


async def test_the_page_is_served_no_store_with_a_same_origin_content_security_policy() -> None:
    async with _client() as http:
        page = await http.get("/console")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    policy = _directives(page.headers["content-security-policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["form-action"] == ["'none'"]


async def test_the_page_carries_the_api_audience_and_scopes_html_escaped() -> None:
    async with _client('http://127.0.0.1:4100/x"&<y>/') as http:
        page = (await http.get("/console")).text
    assert '<meta name="mesh-api-audience" content="http://127.0.0.1:4100/x&quot;&amp;&lt;y&gt;/api">' in page
    assert '<meta name="mesh-operator-scope" content="mesh:operator">' in page
    assert '<meta name="mesh-directory-scope" content="mesh:directory">' in page
    assert "{{" not in page


async def test_every_static_file_is_served_with_its_type_and_the_same_headers() -> None:
    async with _client() as http:
        for name, media_type in STATIC_FILES.items():
            answer = await http.get(f"/console/static/{name}")
            assert answer.status_code == 200, name
            assert answer.headers["content-type"] == media_type
            assert answer.content == (CONSOLE_FILES / name).read_bytes()
            assert answer.headers["x-frame-options"] == "DENY"
            assert "default-src 'self'" in answer.headers["content-security-policy"]


@pytest.mark.parametrize(
    "name", ["index.html", "nothing.js", "..%2F_console.py", "%2E%2E%2F%2E%2E%2Fsettings.py", "CONSOLE.JS"]
)
async def test_a_file_outside_the_allow_list_is_not_found(name: str) -> None:
    async with _client() as http:
        answer = await http.get(f"/console/static/{name}")
    assert answer.status_code == 404
    assert answer.headers["x-frame-options"] == "DENY"
    assert "import" not in answer.text


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.urls: list[str] = []
        self.ids: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "style":
            self.problems.append("a <style> element")
        if tag == "script" and not named.get("src"):
            self.problems.append("an inline <script>")
        self._in_script = tag == "script"
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"an event handler attribute {name}")
            if name == "style":
                self.problems.append(f"a style attribute on <{tag}>")
            if name in ("src", "href") and value is not None:
                self.urls.append(value)
            if name == "id" and value is not None:
                self.ids.append(value)

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append("script text inside a <script>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


def test_the_page_has_no_inline_code_and_links_only_to_its_own_files() -> None:
    markup = _Markup()
    markup.feed((CONSOLE_FILES / "index.html").read_text(encoding="utf-8"))
    assert markup.problems == []
    assert markup.urls, "the page links its script and style sheet"
    for url in markup.urls:
        assert url.startswith(("/console/static/", "#")), url
        if url.startswith("/console/static/"):
            assert url.removeprefix("/console/static/") in STATIC_FILES
    assert len(markup.ids) == len(set(markup.ids)), "element ids are unique"


def test_the_script_renders_text_only_keeps_tokens_in_memory_and_calls_only_its_origin() -> None:
    script = (CONSOLE_FILES / "console.js").read_text(encoding="utf-8")
    code = re.sub(r"^\s*//.*$", "", script, flags=re.MULTILINE)  # the header comment names the rules
    for forbidden in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        "localStorage",
        "sessionStorage",
        "document.cookie",
        "indexedDB",
        "http://",
        "https://",
    ):
        assert forbidden not in code, forbidden
    style = (CONSOLE_FILES / "console.css").read_text(encoding="utf-8")
    assert "url(" not in style
    assert "@import" not in style


def test_every_element_the_script_looks_up_is_on_the_page() -> None:
    script = (CONSOLE_FILES / "console.js").read_text(encoding="utf-8")
    markup = _Markup()
    markup.feed((CONSOLE_FILES / "index.html").read_text(encoding="utf-8"))
    looked_up = set(re.findall(r'\$\("([a-z-]+)"\)', script))
    views = {
        f"{view}-view" for view in re.findall(r'"(\w+)"', script.split("const VIEWS = [", 1)[1].split("]")[0])
    }
    assert looked_up, "the script looks elements up by id"
    assert (looked_up | views) - set(markup.ids) == set()


def test_mesh_console_without_a_running_mesh_says_so_and_exits_1(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_app, ["--data-dir", str(tmp_path / "none"), "console"])
    assert result.exit_code == 1
    assert "no mesh running from" in result.output
    assert "mesh up" in result.output
