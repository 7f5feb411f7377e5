"""`searchkit config`: the per-user config file (default vault or index, meaning on/off)."""

from __future__ import annotations

from pathlib import Path

import click

from ...errors import SearchkitError
from .base import (
    EXIT_NO_RESULTS,
    _fail,
)


@click.command("config", short_help="Show or set the default vault (search from anywhere).")
@click.argument("key", required=False, type=click.Choice(["vault", "index", "semantic"]))
@click.argument("value", required=False)
@click.option("--unset", is_flag=True, help="Remove KEY from the config file.")
def config_cmd(key: str | None, value: str | None, unset: bool) -> None:
    """Show the config, or set KEY to VALUE in the per-user config file.

    \b
    searchkit config vault ~/notes    search ~/notes from any folder
    searchkit config vault            print it (exit 1 when not set)
    searchkit config index DIR        or name the index folder itself
    searchkit config semantic off     words only: no embedding, no search by meaning
    searchkit config vault --unset

    Inside another indexed vault, that vault's index still wins; --vault/--index and
    SEARCHKIT_VAULT/SEARCHKIT_INDEX override both.
    """
    from ...api import config_path, known_indexes, read_config, write_config

    try:
        if key is None:
            if value is not None or unset:
                raise click.UsageError("name the KEY to set or unset (vault or index)")
            config = read_config()
            click.echo(f"config file  {config_path()}")
            for name in ("vault", "index", "semantic"):
                click.echo(f"{name:<12} {config.get(name, '(not set)')}")
            for vault, index_dir in known_indexes():
                click.echo(f"indexed      {vault}  ({index_dir})")
            return
        if value is None and not unset:
            # As `git config KEY`: print the value; exit 1 when it is not set.
            current = read_config().get(key)
            if current is None:
                raise click.exceptions.Exit(EXIT_NO_RESULTS)
            click.echo(current)
            return
        if unset and value is not None:
            raise click.UsageError("give a VALUE to set, or --unset, not both")
        if value is not None and key == "semantic":
            if value.strip().lower() not in ("on", "off", "true", "false", "yes", "no", "1", "0"):
                raise click.UsageError(f"semantic takes on or off, not {value!r}")
            value = "off" if value.strip().lower() in ("off", "false", "no", "0") else "on"
        elif value is not None:
            folder = Path(value).expanduser()
            if key == "vault" and not folder.is_dir():
                raise click.UsageError(f"vault not found or not a directory: {value}")
            value = str(folder.resolve() if key == "vault" else folder.absolute())
        path = write_config({key: value})
    except SearchkitError as exc:
        raise _fail(exc) from exc
    click.echo(f"{key} = {value}  ({path})" if value is not None else f"{key} unset ({path})")
