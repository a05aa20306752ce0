"""`vmail route` (placeholder until implemented)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this subcommand's options."""


def run(args: argparse.Namespace) -> int:
    raise SystemExit("vmail route: not implemented yet")
