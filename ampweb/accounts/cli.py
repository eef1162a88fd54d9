"""``nntsc user ...``: the accounts' commands, which join `nntsc` through an entry point."""

from __future__ import annotations

import sys

import click

from ampweb.accounts.registry import UserRegistry
from nntsc.cli import config_option, load_settings
from nntsc.config import Services


@click.group("user")
def user() -> None:
    """Users of the web app and their API tokens."""


@user.command("add")
@config_option
@click.argument("name")
@click.option(
    "--role",
    "roles",
    multiple=True,
    help="admin, editconfig or viewdata; repeat for several (admin implies the others).",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of prompting.",
)
@click.option("--long-name", default="", help="The user's name for people.")
@click.option("--email", default="")
def user_add(
    config_path: str,
    name: str,
    roles: tuple[str, ...],
    password_stdin: bool,
    long_name: str,
    email: str,
) -> None:
    """Create user NAME who logs in with a password (the first admin, say)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    services = Services.from_settings(load_settings(config_path))
    try:
        created = UserRegistry(services.sessionmaker).create_user(
            name, password, roles, long_name=long_name, email=email
        )
    finally:
        services.close()
    click.echo(f"user {created.username} created with roles: {', '.join(created.roles) or 'none'}")


@user.command("token")
@config_option
@click.argument("name")
@click.option("--name", "token_name", required=True, help="What the token is for.")
def user_token(config_path: str, name: str, token_name: str) -> None:
    """Create an API token for user NAME and print it (it is shown only this once)."""
    services = Services.from_settings(load_settings(config_path))
    try:
        info, token = UserRegistry(services.sessionmaker).create_token(name, token_name)
    finally:
        services.close()
    click.echo(f"token {info.token_id} ({info.name}) for {info.username}; send it as", err=True)
    click.echo("Authorization: Bearer <token>. It cannot be shown again:", err=True)
    click.echo(token)
