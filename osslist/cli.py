"""Command line of osslist (placeholder until the listing issue lands the real one)."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="osslist")
def main() -> None:
    """List every object of an OSS bucket from a pod."""
