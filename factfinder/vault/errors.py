"""The ways the vault refuses or fails, one exception each.

Front doors (CLI, web) turn these into a one-line message for the user; the
message never contains a protected field's value.
"""

from __future__ import annotations


class VaultError(Exception):
    """Base of every error the vault reports to a user."""


class NotACaseError(VaultError):
    """The folder is not a factfinder case (or not one this version can read)."""


class CaseExistsError(VaultError):
    """``init`` would overwrite an existing folder's contents."""


class ReadOnlyCaseError(VaultError):
    """The case copy has no signing key, so nothing can be appended to it."""


class ItemNotFoundError(VaultError):
    """No item matches a digest or digest prefix."""


class AmbiguousItemError(VaultError):
    """A digest prefix matches more than one item."""


class IntakeError(VaultError):
    """A file could not be taken in (unreadable, vanished, not a regular file)."""


class CheckpointError(VaultError):
    """A signed note or checkpoint is malformed or its signature does not verify."""


class ProofFileError(VaultError):
    """A proof file is malformed or does not prove what it claims."""


class IdentityError(VaultError):
    """An age identity is missing, malformed, or cannot open the sealed fields."""


class ArchiveError(VaultError):
    """A case archive is malformed, hostile (traversal, bomb) or does not verify."""


class DatabaseError(VaultError):
    """The case database cannot be reached or used (a PostgreSQL server down, a bad URL)."""
