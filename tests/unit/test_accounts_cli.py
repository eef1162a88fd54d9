"""`nntsc user ...` (added by ampweb through an entry point) and `nntsc --version`, on SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner

from ampweb.accounts import UserRegistry
from nntsc.cli import main as cli
from nntsc.cli import run
from tests.conftest import make_services

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def ini(tmp_path: Path) -> str:
    """An ini over a migrated SQLite file with alice (admin), bob (viewdata, disabled) and carol."""
    url = f"sqlite:///{tmp_path}/nntsc.sqlite"
    services = make_services(url)
    try:
        users = UserRegistry(services.sessionmaker, FAST)
        users.create_user("alice", "alice's password", ["admin"], long_name="Alice A")
        users.create_user("bob", None, ["viewdata"], email="bob@example.org", enabled=False)
        users.create_user("carol", "carol's password", [])
        users.create_token("carol", "nightly")
    finally:
        services.close()
    path = tmp_path / "app.ini"
    path.write_text(f"[app:main]\nnntsc.sql_url = {url}\n")
    return str(path)


def _users(ini: str) -> UserRegistry:
    url = Path(ini).read_text().split("= ", 1)[1].strip()
    return UserRegistry(make_services(url).sessionmaker, FAST)


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("nntsc, version ")


def test_list(ini: str) -> None:
    result = CliRunner().invoke(cli, ["user", "list", "-c", ini], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["USER", "ROLES", "STATE", "CREATED", "NAME", "E-MAIL"]
    assert [line.split()[:3] for line in lines[1:]] == [
        ["alice", "admin", "enabled"],
        ["bob", "viewdata", "disabled"],
        ["carol", "-", "enabled"],
    ]
    assert "bob@example.org" in lines[2]
    assert result.stderr.strip() == "3 users"
    found = CliRunner().invoke(cli, ["user", "list", "-c", ini, "--term", "EXAMPLE", "--json"])
    assert [user["username"] for user in json.loads(found.stdout)] == ["bob"]
    assert "password" not in found.stdout


def test_set_role(ini: str) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["user", "set-role", "-c", ini, "carol", "--role", "editconfig"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "carol now has roles: editconfig" in result.output
    assert _users(ini).get_user("carol").roles == ("editconfig",)
    cleared = runner.invoke(cli, ["user", "set-role", "-c", ini, "alice", "--no-roles"])
    assert cleared.exit_code == 0
    assert _users(ini).get_user("alice").roles == ()
    neither = runner.invoke(cli, ["user", "set-role", "-c", ini, "carol"])
    assert neither.exit_code == 2
    assert "give --role at least once, or --no-roles" in neither.output
    unknown_role = runner.invoke(cli, ["user", "set-role", "-c", ini, "carol", "--role", "root"])
    assert unknown_role.exit_code != 0
    assert _users(ini).get_user("carol").roles == ("editconfig",)


def test_delete(ini: str) -> None:
    runner = CliRunner()
    refused = runner.invoke(cli, ["user", "delete", "-c", ini, "carol"], input="n\n")
    assert refused.exit_code == 1
    assert _users(ini).count_users() == 3
    deleted = runner.invoke(cli, ["user", "delete", "-c", ini, "carol"], input="y\n")
    assert deleted.exit_code == 0, deleted.output
    assert "user carol deleted" in deleted.output
    assert runner.invoke(cli, ["user", "delete", "-c", ini, "bob", "--yes"]).exit_code == 0
    users = _users(ini)
    assert [user.username for user in users.list_users().items] == ["alice"]
    assert users.list_tokens() == []


def test_revoke_sessions(ini: str) -> None:
    before = _users(ini).get_user("alice").session_generation
    result = CliRunner().invoke(cli, ["user", "revoke-sessions", "-c", ini, "alice"])
    assert result.exit_code == 0, result.output
    assert "every session of alice is revoked" in result.output
    assert _users(ini).get_user("alice").session_generation == before + 1


@pytest.mark.parametrize(
    "command",
    [
        ["user", "delete", "--yes"],
        ["user", "set-role", "--role", "viewdata"],
        ["user", "revoke-sessions"],
    ],
)
def test_an_unknown_user_is_one_line_and_status_1(
    ini: str, command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr("sys.argv", ["nntsc", *command, "-c", ini, "nobody"])
    with pytest.raises(SystemExit) as exited:
        run()
    assert exited.value.code == 1
    assert capsys.readouterr().err == "error: unknown user 'nobody'\n"
