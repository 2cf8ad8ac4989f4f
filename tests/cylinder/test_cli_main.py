"""The `cylinder` command itself: help, version, and usage errors before any subcommand runs."""

from __future__ import annotations

import pytest
from cli_support import cylinder

SUBCOMMANDS = ["serve", "routes", "explain", "check", "new"]


def test_help_lists_every_subcommand_and_the_exit_codes() -> None:
    result = cylinder("--help")

    assert result.returncode == 0
    assert result.stdout.startswith("usage: cylinder ")
    for name in SUBCOMMANDS:
        assert f"\n    {name} " in result.stdout
    assert "exit codes:\n  0  " in result.stdout
    assert "\n  2  usage error" in result.stdout


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_help_of_each_subcommand(name: str) -> None:
    result = cylinder(name, "--help")

    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout.startswith(f"usage: cylinder {name} ")
    assert "exit codes:\n  0  " in result.stdout
    assert "\n  2  usage error" in result.stdout


def test_version() -> None:
    result = cylinder("--version")

    assert result.returncode == 0
    assert result.stdout.startswith("cylinder 0.")


def test_bare_cylinder_prints_the_help() -> None:
    result = cylinder()

    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout == cylinder("--help").stdout
    assert "`cylinder` with no command prints this help and exits 0." in result.stdout


def test_unknown_subcommand_is_a_usage_error() -> None:
    result = cylinder("start")

    assert result.returncode == 2
    assert "invalid choice: 'start'" in result.stderr


def test_missing_argument_is_a_usage_error() -> None:
    result = cylinder("explain", "my_webapps/webapp1", "GET")

    assert result.returncode == 2
    assert "the following arguments are required: PATH" in result.stderr
