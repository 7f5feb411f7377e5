"""The warm CLI: a cold `searchkit search` hands its query to a running `searchkit serve`
of the same index (same output, a fraction of the time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ...errors import SearchkitError
from ..render import clean, print_results, terminal_width
from .base import (
    EXIT_NO_RESULTS,
    EXIT_USAGE,
    _echo_json,
    _use_color,
)


def search_on_server(
    index_dir: Path, vault: Path | None, as_json: bool, explain: bool, color: bool | None,
    **params: Any,
) -> None:
    """Print the results of a running `searchkit serve` and exit, like a local search would;
    return (having printed nothing) when no server can answer."""
    from ...api import locate
    from ..remote import RemoteError, remote_search

    try:
        where = locate(index_dir, vault)
    except SearchkitError:
        return  # the local search reports it
    answer = remote_search(where.index_dir, where.vault, {**params, "explain": explain})
    if answer is None:
        return
    if isinstance(answer, RemoteError):
        click.echo(clean(f"Error: {answer.message}"), err=True)
        raise click.exceptions.Exit(EXIT_USAGE)
    for warning in answer.warnings:
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        _echo_json(answer.raw)
    else:
        print_results(answer, _use_color(color), explain, answer.vault, terminal_width())
    raise click.exceptions.Exit(0 if answer else EXIT_NO_RESULTS)
