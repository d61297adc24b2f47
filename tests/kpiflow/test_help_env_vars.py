"""`--help` names environment variables one way: an option that reads one says so as
`[env var: KPIFLOW_...]` (typer's own line), never in a home-made "(env ...)"."""

from __future__ import annotations

import re

import typer

from kpiflow.cli import app


def _commands(group, path: tuple[str, ...] = ()):
    yield path, group
    if hasattr(group, "commands"):
        for name, sub in group.commands.items():
            yield from _commands(sub, (*path, name))


def test_every_option_that_reads_the_environment_shows_it_the_same_way():
    root = typer.main.get_command(app)
    seen = 0
    for path, command in _commands(root):
        for param in command.params:
            help_text = getattr(param, "help", "") or ""
            where = f"kpiflow {' '.join(path)} {param.name}"
            assert not re.search(r"\(env |default: env|env var", help_text), where
            if getattr(param, "envvar", None):
                seen += 1
                assert str(param.envvar).startswith("KPIFLOW_"), where
                assert param.show_envvar, f"{where} reads {param.envvar} but --help hides it"
    assert seen >= 6
