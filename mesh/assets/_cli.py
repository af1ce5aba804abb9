"""`mesh assets`: list the assets with their versions, check them, rewrite the tool lock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mesh.assets._errors import AssetError
from mesh.assets._registry import REPOSITORY_ROOT, TOOL_LOCK_PATH, Asset, Assets, load_assets
from mesh.assets._tools import LOCK_FILE_NAME, ToolLock, live_definitions, lock_problems
from mesh.settings import load_settings

EXIT_OK = 0
EXIT_PROBLEMS = 1

console = Console()
err_console = Console(stderr=True)

assets_app = typer.Typer(
    help="The versioned assets: prompts, agent cards, model settings, tool definitions, golden examples.",
    no_args_is_help=False,
)

RootOption = Annotated[
    Path | None,
    typer.Option("--root", file_okay=False, help="Read the assets of this checkout (default: this one)."),
]


@assets_app.callback(invoke_without_command=True)
def assets_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the assets as JSON.")] = False,
    root: RootOption = None,
) -> None:
    """List every asset: key, version and file, plus `model/settings` when a model is configured.

    Exit 0: listed. Exit 1: an asset is broken (the message names its file and field).
    """
    if ctx.invoked_subcommand is not None:
        return
    assets = _load(root)
    assets = _with_configured_model(ctx, assets)
    base = root or REPOSITORY_ROOT
    if as_json:
        typer.echo(json.dumps([_entry(asset, base) for asset in assets], indent=2))
        return
    table = Table(box=None, pad_edge=False)
    table.add_column("key", no_wrap=True, min_width=max((len(asset.key) for asset in assets), default=3))
    table.add_column("version", no_wrap=True, min_width=23)
    table.add_column("file", no_wrap=True, overflow="ellipsis")
    for asset in assets:
        entry = _entry(asset, base)
        table.add_row(entry["key"], entry["version"], entry["path"] or "(settings)")
    console.print(table)


@assets_app.command("check")
def check_command(root: RootOption = None) -> None:
    """Validate every asset and compare the tool lock with the definitions the servers offer now.

    Exit 0: all good. Exit 1: each problem printed (a broken asset, a tool changed, added or
    removed without `mesh assets lock`).
    """
    base = root or REPOSITORY_ROOT
    problems: list[str] = []
    try:
        load_assets(root)
    except AssetError as error:
        problems.append(str(error))
    try:
        lock = ToolLock.read(base / "mcp_servers" / LOCK_FILE_NAME)
    except AssetError as error:
        if str(error) not in problems:
            problems.append(str(error))
    else:
        found = lock_problems(lock, live_definitions())
        problems += [str(problem) for problem in found]
        if found:
            problems.append(
                f"if the changes are intended, review them and run `mesh assets lock` ({lock.path})"
            )
    if problems:
        for problem in problems:
            err_console.print(Text(f"error: {problem}", style="red"), soft_wrap=True)
        raise typer.Exit(EXIT_PROBLEMS)
    console.print("assets valid; the tool lock matches the servers' definitions", style="green")


@assets_app.command("lock")
def lock_command(
    lock_path: Annotated[
        Path | None,
        typer.Option("--lock", dir_okay=False, help=f"Where to write (default: {TOOL_LOCK_PATH})."),
    ] = None,
) -> None:
    """Rewrite the tool lock from the tool definitions the domain servers offer now, and say what
    changed. Review the diff of the lock file (it holds the definitions) before committing it."""
    path = lock_path or TOOL_LOCK_PATH
    try:
        before: ToolLock | None = ToolLock.read(path)
    except AssetError:
        before = None
    lock = ToolLock.of(live_definitions())
    lock.write(path)
    changes = [] if before is None else [str(problem) for problem in lock_problems(before, lock.definitions)]
    for change in changes:
        console.print(f"  {change}")
    tools = sum(len(tools) for tools in lock.hashes.values())
    console.print(f"wrote {path}: {tools} tools of {len(lock.hashes)} domains, {len(changes)} changed")


def _load(root: Path | None) -> Assets:
    try:
        return load_assets(root)
    except AssetError as error:
        _fail(str(error))


def _with_configured_model(ctx: typer.Context, assets: Assets) -> Assets:
    options = ctx.find_root().obj
    try:
        settings = load_settings(
            getattr(options, "config", None), data_dir=getattr(options, "data_dir", None)
        )
    except (ValueError, OSError) as error:
        _fail(f"invalid settings: {error}")
    if not settings.model:
        return assets
    from mesh.models import ModelConfig  # the model layer loads only when a model is configured

    return assets.with_model(ModelConfig.from_settings(settings))


def _entry(asset: Asset, base: Path) -> dict[str, Any]:
    path: str | None = None
    if asset.path is not None:
        resolved = asset.path.resolve()
        path = (
            str(resolved.relative_to(base.resolve()))
            if resolved.is_relative_to(base.resolve())
            else str(resolved)
        )
    return {"key": asset.key, "kind": asset.kind, "name": asset.name, "version": asset.version, "path": path}


def _fail(message: str) -> NoReturn:
    err_console.print(Text(f"error: {message}", style="red"), soft_wrap=True)
    raise typer.Exit(EXIT_PROBLEMS)


__all__ = ["assets_app"]
