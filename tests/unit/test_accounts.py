"""Users and API tokens on SQLite: CRUD, argon2 passwords and rehashing, tokens by hash.

Each test gets its own SQLite file, migrated to head. Hashing uses small
argon2 parameters so that the tests stay fast; one test checks that a hash
made with such parameters is replaced once the real hasher sees the password.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, select
from sqlalchemy.orm import sessionmaker

from ampweb.accounts.errors import BadCredentials, UnknownToken, UnknownUser
from ampweb.accounts.models import ApiToken, User
from ampweb.accounts.registry import ROLES, TOKEN_PREFIX, UserInfo, UserRegistry, hash_token
from nntsc.errors import AlreadyExists, BadValue
from nntsc.store.schema import upgrade_sql

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at head, migrated once and copied for each test."""
    path = tmp_path_factory.mktemp("users") / "head.sqlite"
    engine = create_engine(f"sqlite:///{path}")
    upgrade_sql(engine)
    engine.dispose()
    return path


@pytest.fixture
def sessions(migrated: Path, tmp_path: Path) -> sessionmaker:
    path = tmp_path / "users.sqlite"
    shutil.copyfile(migrated, path)
    return sessionmaker(create_engine(f"sqlite:///{path}"), expire_on_commit=False)


@pytest.fixture
def users(sessions: sessionmaker) -> UserRegistry:
    return UserRegistry(sessions, FAST)


def test_create_get_and_list(users: UserRegistry) -> None:
    created = users.create_user(
        "alice", PASSWORD, ["viewdata", "admin"], long_name="Alice", email="a@example.org"
    )
    assert created.roles == ("admin", "viewdata")
    assert users.get_user("alice") == created
    users.create_user("bob", None, ["viewdata"])
    users.create_user("carol", PASSWORD)
    page = users.list_users()
    assert [u.username for u in page.items] == ["alice", "bob", "carol"]
    assert page.total == 3
    assert [u.username for u in users.list_users("EXAMPLE").items] == ["alice"]
    assert users.list_users(page=2, pagesize=2).items[0].username == "carol"
    assert users.count_users() == 3
    assert "password" not in str(created.as_dict())


def test_roles_admin_implies_the_others_and_editconfig_viewdata(users: UserRegistry) -> None:
    admin = users.create_user("root", PASSWORD, ["admin"])
    viewer = users.create_user("viewer", PASSWORD, ["viewdata"])
    editor = users.create_user("editor", PASSWORD, ["editconfig"])
    assert editor.has_role("viewdata")
    assert not editor.has_role("admin")
    assert all(admin.has_role(role) for role in ROLES)
    assert viewer.has_role("viewdata")
    assert not viewer.has_role("editconfig")


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"username": "bad name"}, "username"),
        ({"username": "x" * 65}, "username"),
        ({"roles": ["superuser"]}, "roles"),
        ({"roles": "admin"}, "roles"),
        ({"password": "short"}, "password"),
        ({"long_name": "x" * 256}, "long_name"),
        ({"enabled": "yes"}, "enabled"),
    ],
)
def test_create_rejects_bad_values(users: UserRegistry, arguments: dict, field: str) -> None:
    with pytest.raises(BadValue) as error:
        users.create_user(**{"username": "dave", "password": PASSWORD, **arguments})
    assert error.value.field == field
    assert users.count_users() == 0


def test_duplicate_and_unknown(users: UserRegistry) -> None:
    users.create_user("alice", PASSWORD)
    with pytest.raises(AlreadyExists):
        users.create_user("alice", PASSWORD)
    with pytest.raises(UnknownUser):
        users.get_user("nobody")
    with pytest.raises(UnknownUser):
        users.update_user("nobody", roles=["admin"])
    with pytest.raises(UnknownUser):
        users.delete_user("nobody")


def test_password_is_stored_as_argon2_and_verified(users: UserRegistry, sessions) -> None:
    users.create_user("alice", PASSWORD, ["viewdata"])
    with sessions() as session:
        stored = session.get(User, "alice").password_hash
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert users.authenticate("alice", PASSWORD).username == "alice"
    for username, password in (("alice", "wrong password"), ("nobody", PASSWORD), ("", "")):
        with pytest.raises(BadCredentials):
            users.authenticate(username, password)


def test_update_password_roles_and_disable(users: UserRegistry) -> None:
    users.create_user("alice", PASSWORD, ["viewdata"])
    changed = users.update_user("alice", password="a new password", roles=["editconfig"])
    assert changed.roles == ("editconfig",)
    with pytest.raises(BadCredentials):
        users.authenticate("alice", PASSWORD)
    users.authenticate("alice", "a new password")
    assert users.disable_user("alice").enabled is False
    with pytest.raises(BadCredentials):
        users.authenticate("alice", "a new password")


def test_user_without_password_cannot_log_in(users: UserRegistry) -> None:
    assert users.create_user("script", None, ["viewdata"]).has_password is False
    with pytest.raises(BadCredentials):
        users.authenticate("script", "")
    with pytest.raises(BadCredentials):
        users.authenticate("script", PASSWORD)


def test_weak_hash_is_replaced_at_login(sessions) -> None:
    UserRegistry(sessions, FAST).create_user("alice", PASSWORD)
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    registry = UserRegistry(sessions, stronger)
    registry.authenticate("alice", PASSWORD)
    with sessions() as session:
        stored = session.get(User, "alice").password_hash
    assert not stronger.check_needs_rehash(stored)
    assert "m=2048,t=2" in stored
    registry.authenticate("alice", PASSWORD)


def test_tokens_are_kept_as_hashes_and_verified(users: UserRegistry, sessions) -> None:
    users.create_user("alice", None, ["viewdata"])
    info, token = users.create_token("alice", "nightly export")
    assert token.startswith(TOKEN_PREFIX)
    assert len(token) > 40
    assert info.prefix == token[: len(info.prefix)]
    assert info.active
    with sessions() as session:
        record = session.scalars(select(ApiToken)).one()
    assert record.token_hash == hash_token(token)
    assert token not in record.token_hash
    alice = users.get_user("alice")
    assert users.verify_token(token) == UserInfo(
        "alice",
        roles=("viewdata",),
        created=alice.created,
        session_generation=alice.session_generation,
    )
    assert users.list_tokens("alice")[0].last_used is not None
    for wrong in (token + "x", token[:-1], "nntsc_", "Bearer " + token, ""):
        with pytest.raises(BadCredentials):
            users.verify_token(wrong)


def test_revoked_token_and_disabled_user_are_refused(users: UserRegistry) -> None:
    users.create_user("alice", None, ["viewdata"])
    users.create_user("bob", None, ["viewdata"])
    first, first_token = users.create_token("alice", "one")
    _, second_token = users.create_token("alice", "two")
    with pytest.raises(UnknownToken):
        users.revoke_token(first.token_id, username="bob")
    assert users.revoke_token(first.token_id, username="alice").revoked is not None
    with pytest.raises(BadCredentials):
        users.verify_token(first_token)
    users.verify_token(second_token)
    users.disable_user("alice")
    with pytest.raises(BadCredentials):
        users.verify_token(second_token)
    assert [t.name for t in users.list_tokens("alice")] == ["two", "one"]
    assert len(users.list_tokens()) == 2
    with pytest.raises(UnknownToken):
        users.revoke_token(9999)
    with pytest.raises(UnknownUser):
        users.create_token("nobody", "x")


def test_deleting_a_user_deletes_their_tokens(users: UserRegistry, sessions) -> None:
    users.create_user("alice", None)
    users.create_token("alice", "one")
    users.delete_user("alice")
    with sessions() as session:
        assert session.scalars(select(ApiToken)).all() == []
    assert users.count_users() == 0


def test_revoke_sessions_raises_the_generation(users: UserRegistry) -> None:
    start = users.create_user("alice", PASSWORD).session_generation
    assert start == users.get_user("alice").session_generation > 0
    assert users.revoke_sessions("alice").session_generation == start + 1
    assert users.revoke_sessions("alice").session_generation == start + 2
    assert users.authenticate("alice", PASSWORD).session_generation == start + 2
    with pytest.raises(UnknownUser):
        users.revoke_sessions("nobody")
    with pytest.raises(BadValue):
        users.revoke_sessions("not a name")
