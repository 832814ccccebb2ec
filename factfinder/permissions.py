"""Who may do what: the one permission matrix every route checks.

Four roles, least privilege first. A route names the single permission it
needs; the web app refuses any route that names none (see ``web/app.py``), so
no page can be left unguarded by accident.

- **observer** sees only what an investigator has marked publishable.
- **analyst** sees all evidence, custody and search; witness identities are
  replaced by pseudonyms and can never be opened. Analysts review the claims
  read from texts (confirm, correct, reject; each decision a custody entry).
- **investigator** does everything with evidence: adds it, marks it
  publishable, and opens sealed witness fields with the case identity (each
  opening is a custody entry).
- **admin** manages accounts and settings. It does not see evidence beyond
  what observers see: running the server is not a reason to read testimony.
  A person who is both keeps two accounts. An admin may review the claims of
  published items (the only ones an admin sees).

Observers see the claims of published items and whether each was confirmed,
corrected or rejected, never who decided it nor why: reviewers' names and
reasons are for those who review.

Analysts, investigators and admins shape incidents (``decide-incidents``): merge
two, split reports out of one, attach an item or its media cluster as evidence,
detach it. An admin does so on the findings made from published items, the only
ones an admin sees. Observers see the incidents made from published items, redacted
for publication: never who decided how they were shaped, nor why.

The person register names victims from lists the team was given, often by families
at some risk: analysts and investigators see it (``view-register``), import lists
and enter records (``record-persons``) and decide which records are the same person
(``review-links``). Observers and admins do not; what leaves the team is the
redacted register export and the estimate.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OBSERVER = "observer"
    ANALYST = "analyst"
    INVESTIGATOR = "investigator"
    ADMIN = "admin"


class Permission(StrEnum):
    PUBLIC = "public"  # anyone, signed in or not: the submission page, sign-in, receipts
    SIGNED_IN = "signed-in"  # any account: own tokens, sign-out
    VIEW_PUBLISHED = "view-published"
    VIEW_EVIDENCE = "view-evidence"  # all items, originals, proofs, custody log, search
    ADD_EVIDENCE = "add-evidence"
    PUBLISH = "publish"
    REVEAL_PROTECTED = "reveal-protected"
    MANAGE_USERS = "manage-users"
    REVIEW_CLAIMS = "review-claims"  # confirm, correct or reject claims read from texts (of items one may see)
    DECIDE_INCIDENTS = "decide-incidents"  # merge, split, attach, detach incidents (each a custody entry)
    VIEW_REGISTER = "view-register"  # the person register (victims' names), its review queue and the estimate
    RECORD_PERSONS = "record-persons"  # import victim lists and enter person records (each a custody entry)
    REVIEW_LINKS = "review-links"  # decide whether two person records are the same person (a custody entry)


MATRIX: dict[Role, frozenset[Permission]] = {
    Role.OBSERVER: frozenset({Permission.VIEW_PUBLISHED}),
    Role.ANALYST: frozenset(
        {
            Permission.VIEW_PUBLISHED,
            Permission.VIEW_EVIDENCE,
            Permission.REVIEW_CLAIMS,
            Permission.DECIDE_INCIDENTS,
            Permission.VIEW_REGISTER,
            Permission.RECORD_PERSONS,
            Permission.REVIEW_LINKS,
        }
    ),
    Role.INVESTIGATOR: frozenset(
        {
            Permission.VIEW_PUBLISHED,
            Permission.VIEW_EVIDENCE,
            Permission.ADD_EVIDENCE,
            Permission.PUBLISH,
            Permission.REVEAL_PROTECTED,
            Permission.REVIEW_CLAIMS,
            Permission.DECIDE_INCIDENTS,
            Permission.VIEW_REGISTER,
            Permission.RECORD_PERSONS,
            Permission.REVIEW_LINKS,
        }
    ),
    Role.ADMIN: frozenset(
        # Not DECIDE_INCIDENTS: an admin sees incidents made from published items only, and a decision
        # taken on that partial view would reshape the team's incidents without seeing them. Not the person
        # register either: it names victims from lists families gave the team, not published material.
        {Permission.VIEW_PUBLISHED, Permission.MANAGE_USERS, Permission.REVIEW_CLAIMS}
    ),
}


def allows(role: Role | str | None, permission: Permission) -> bool:
    """Whether an account with ``role`` (None: not signed in) may use ``permission``."""
    if permission is Permission.PUBLIC:
        return True
    if role is None:
        return False
    try:
        granted = MATRIX[Role(role)]
    except ValueError:
        return False  # an unknown role in the database gets nothing
    return permission is Permission.SIGNED_IN or permission in granted
