"""``nntsc user ...``: the accounts' commands, which join `nntsc` through an entry point."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator

import click

from ampweb.accounts.registry import MAX_PAGESIZE, UserInfo, UserRegistry
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
    """Create user NAME who logs in with a password.

    The first admin, say; the admin pages (/admin/users) manage everyone else.
    """
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
    """Print a new API token for user NAME.

    It is shown only this once; only its hash is kept.
    """
    services = Services.from_settings(load_settings(config_path))
    try:
        info, token = UserRegistry(services.sessionmaker).create_token(name, token_name)
    finally:
        services.close()
    click.echo(f"token {info.token_id} ({info.name}) for {info.username}; send it as", err=True)
    click.echo("Authorization: Bearer <token>. It cannot be shown again:", err=True)
    click.echo(token)


@user.command("list")
@config_option
@click.option("--term", default="", help="Only users whose name, long name or e-mail has this.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document (a list of users).")
def user_list(config_path: str, term: str, as_json: bool) -> None:
    """List the users and their roles.

    One line each: name, roles, whether enabled, when created (UTC), name for
    people and e-mail; the count goes to standard error.
    """
    services = Services.from_settings(load_settings(config_path))
    try:
        users = list(_all_users(UserRegistry(services.sessionmaker), term))
    finally:
        services.close()
    if as_json:
        click.echo(json.dumps([found.as_dict() for found in users], indent=2))
        return
    rows = [
        (
            found.username,
            ",".join(found.roles) or "-",
            "enabled" if found.enabled else "disabled",
            time.strftime("%Y-%m-%d", time.gmtime(found.created)),
            found.long_name,
            found.email,
        )
        for found in users
    ]
    header = ("USER", "ROLES", "STATE", "CREATED", "NAME", "E-MAIL")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + row[-1])
    click.echo(f"{len(rows)} user{'' if len(rows) == 1 else 's'}", err=True)


def _all_users(registry: UserRegistry, term: str) -> Iterator[UserInfo]:
    page = 1
    while True:
        found = registry.list_users(term, page=page, pagesize=MAX_PAGESIZE)
        yield from found.items
        if page * MAX_PAGESIZE >= found.total:
            return
        page += 1


@user.command("delete")
@config_option
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def user_delete(config_path: str, name: str, yes: bool) -> None:
    """Delete user NAME and their API tokens.

    Their sessions end with them. Asks first unless --yes.
    """
    if not yes:
        click.confirm(f"Delete user {name} and their API tokens?", abort=True)
    services = Services.from_settings(load_settings(config_path))
    try:
        UserRegistry(services.sessionmaker).delete_user(name)
    finally:
        services.close()
    click.echo(f"user {name} deleted")


@user.command("set-role")
@config_option
@click.argument("name")
@click.option(
    "--role",
    "roles",
    multiple=True,
    help="admin, editconfig or viewdata; repeat for several. Replaces the user's roles.",
)
@click.option("--no-roles", is_flag=True, help="Take every role away (the user may still log in).")
def user_set_role(config_path: str, name: str, roles: tuple[str, ...], no_roles: bool) -> None:
    """Replace the roles of user NAME."""
    if bool(roles) == no_roles:
        raise click.UsageError("give --role at least once, or --no-roles")
    services = Services.from_settings(load_settings(config_path))
    try:
        changed = UserRegistry(services.sessionmaker).update_user(name, roles=roles)
    finally:
        services.close()
    click.echo(f"user {changed.username} now has roles: {', '.join(changed.roles) or 'none'}")


@user.command("revoke-sessions")
@config_option
@click.argument("name")
def user_revoke_sessions(config_path: str, name: str) -> None:
    """End every session of user NAME.

    Each is refused at its next request; their API tokens are kept (revoke those
    on /admin/tokens).
    """
    services = Services.from_settings(load_settings(config_path))
    try:
        UserRegistry(services.sessionmaker).revoke_sessions(name)
    finally:
        services.close()
    click.echo(f"every session of {name} is revoked; they must log in again")
