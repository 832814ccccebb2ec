"""Accounts of the case team: users, passwords, browser sessions and API tokens.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second
recommended option). Session cookies and API tokens are random 256-bit secrets
of which only the SHA-256 is stored, so a copy of the database lets no one
sign in. Accounts are not evidence and are not in the custody log; who did
what to evidence is, under the account's username.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.orm import Session

from factfinder.db import engine as dbengine
from factfinder.db.models import ApiToken, User, WebSession
from factfinder.permissions import Role
from factfinder.vault import custody
from factfinder.vault.errors import VaultError

SESSION_SECONDS = 12 * 3600
MIN_PASSWORD = 12
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_hasher = PasswordHasher()
# Verified against when the username does not exist, so timing does not tell which usernames do.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(VaultError):
    """A request about accounts that cannot be done; the message says why."""


@dataclass(frozen=True)
class Account:
    """A signed-in user as the app sees it."""

    id: int
    username: str
    role: Role


@dataclass(frozen=True)
class SignedIn:
    account: Account
    session_token: str
    csrf_secret: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(engine: Engine, username: str, password: str, role: Role | str) -> Account:
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise AccountError("usernames are 2-64 characters: lowercase letters, digits, '.', '_' or '-'")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"passwords need at least {MIN_PASSWORD} characters")
    try:
        role = Role(role)
    except ValueError as exc:
        raise AccountError(f"unknown role {role!r}: one of {', '.join(r.value for r in Role)}") from exc
    with Session(engine) as s, s.begin():
        if s.scalar(select(User.id).where(User.username == username)) is not None:
            raise AccountError(f"user {username} already exists")
        user = User(
            username=username,
            password_hash=_hasher.hash(password),
            role=role.value,
            created_at_vault_clock=custody.vault_clock(),
            disabled=False,
        )
        s.add(user)
        s.flush()
        return Account(user.id, username, role)


def list_users(engine: Engine) -> list[User]:
    with Session(engine) as s:
        users = list(s.scalars(select(User).order_by(User.username)))
        s.expunge_all()
        return users


def set_disabled(engine: Engine, user_id: int, disabled: bool) -> None:
    with dbengine.write_transaction(engine) as conn:
        if conn.execute(update(User).where(User.id == user_id).values(disabled=disabled)).rowcount != 1:
            raise AccountError("no such user")
        if disabled:
            conn.execute(delete(WebSession).where(WebSession.user_id == user_id))


def authenticate(engine: Engine, username: str, password: str) -> Account | None:
    """The account if the password is right and the account enabled; otherwise None."""
    with Session(engine) as s:
        user = s.scalar(select(User).where(User.username == username.strip().lower()))
        stored = user.password_hash if user is not None else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None or user.disabled:
            return None
        return Account(user.id, user.username, Role(user.role))


def start_session(engine: Engine, account: Account) -> SignedIn:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = time.time()
    with dbengine.write_transaction(engine) as conn:
        conn.execute(delete(WebSession).where(WebSession.expires_at < now))
        conn.execute(
            insert(WebSession).values(
                id=_digest(token), user_id=account.id, csrf_secret=csrf, expires_at=now + SESSION_SECONDS
            )
        )
    return SignedIn(account, token, csrf)


def session_account(engine: Engine, token: str) -> tuple[Account, str] | None:
    """The account and CSRF secret of a live session cookie, or None."""
    with Session(engine) as s:
        row = s.execute(
            select(User, WebSession.csrf_secret)
            .join(WebSession, WebSession.user_id == User.id)
            .where(WebSession.id == _digest(token), WebSession.expires_at > time.time())
        ).first()
        if row is None or row[0].disabled:
            return None
        user, csrf = row
        return Account(user.id, user.username, Role(user.role)), csrf


def end_session(engine: Engine, token: str) -> None:
    with dbengine.write_transaction(engine) as conn:
        conn.execute(delete(WebSession).where(WebSession.id == _digest(token)))


def create_token(engine: Engine, account: Account, label: str) -> str:
    """A new API token for ``account``; returned once, stored only as a digest."""
    token = "fft_" + secrets.token_urlsafe(32)
    with dbengine.write_transaction(engine) as conn:
        conn.execute(
            insert(ApiToken).values(
                user_id=account.id,
                token_sha256=_digest(token),
                label=label[:255],
                created_at_vault_clock=custody.vault_clock(),
                revoked=False,
            )
        )
    return token


def token_account(engine: Engine, token: str) -> Account | None:
    with Session(engine) as s:
        user = s.scalar(
            select(User)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_sha256 == _digest(token), ApiToken.revoked.is_(False))
        )
        if user is None or user.disabled:
            return None
        return Account(user.id, user.username, Role(user.role))


def list_tokens(engine: Engine, account: Account) -> list[ApiToken]:
    """An account's API tokens (digests only), newest first."""
    with Session(engine) as s:
        tokens = list(s.scalars(select(ApiToken).where(ApiToken.user_id == account.id).order_by(ApiToken.id.desc())))
        s.expunge_all()
        return tokens


def revoke_token(engine: Engine, account: Account, token_id: int) -> None:
    """Revoke one of ``account``'s tokens for good; another account's token is "no such token"."""
    with dbengine.write_transaction(engine) as conn:
        done = conn.execute(
            update(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == account.id).values(revoked=True)
        )
        if done.rowcount != 1:
            raise AccountError("no such token")
