"""``factfinder odk ...``: the OpenRosa channel (issue 8) from the terminal: forms, app users, submissions.

Kept apart from ``cli.py`` (which registers these commands) only for length;
as thin as the rest: open the case, call :mod:`factfinder.intake.openrosa`
(or :mod:`factfinder.intake.odkcrypto` to decrypt), print. An app user's token
is printed once, when it is made, and never again: the case keeps only digests.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from factfinder import config
from factfinder.cli import ActorOpt, CaseDir, JsonOpt, app, err, fails_cleanly, out
from factfinder.intake import openrosa
from factfinder.vault.case import Case

odk_app = typer.Typer(
    help="ODK Collect and its kin (OpenRosa): forms, app users (devices), submissions.", no_args_is_help=True
)
form_app = typer.Typer(help="The XForms devices download and fill.", no_args_is_help=True)
user_app = typer.Typer(help="App users: one credential per device, for one campaign.", no_args_is_help=True)
odk_app.add_typer(form_app, name="form")
odk_app.add_typer(user_app, name="app-user")
app.add_typer(odk_app, name="odk")

ServerOpt = Annotated[
    str, typer.Option("--server", help="The address devices reach this server at, for the printed link.")
]
PassphraseFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        help="A file holding the private key's passphrase (its first line) [default: ask, at a terminal].",
        exists=True,
        dir_okay=False,
    ),
]


def _passphrase(file: Path | None, *, confirm: bool = False) -> bytes | None:
    """The passphrase from ``--passphrase-file`` (its line end dropped), else asked for at a terminal, else None."""
    if file is not None:
        return file.read_bytes().split(b"\n", 1)[0].removesuffix(b"\r")
    if sys.stdin.isatty():
        return str(typer.prompt("passphrase", hide_input=True, confirmation_prompt=confirm)).encode()
    return None


@form_app.command("add")
@fails_cleanly
def form_add(
    case_dir: CaseDir,
    file: Annotated[Path, typer.Argument(help="An XForm (.xml) or an XLSForm (.xlsx).", exists=True, dir_okay=False)],
    media: Annotated[
        list[Path] | None,
        typer.Option("--media", help="A media file the form names (repeat).", exists=True, dir_okay=False),
    ] = None,
    campaign: Annotated[
        str | None, typer.Option("--campaign", help="The campaign whose app users may use the form.")
    ] = None,
    encrypt_to: Annotated[
        Path | None,
        typer.Option(
            "--encrypt-to",
            help="An RSA public key (PEM, from 'odk keygen'): devices encrypt every filled form to it.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    actor: ActorOpt = None,
) -> None:
    """Add a form (or a new version of one): its XForm and media become items of the case."""
    from factfinder.intake import odkcrypto

    key = odkcrypto.public_key_for_form(encrypt_to.read_bytes()) if encrypt_to is not None else None
    with Case.open(case_dir) as case:
        form, new = openrosa.add_form(
            case,
            file.read_bytes(),
            actor=actor or config.default_actor(),
            original_name=file.name,
            media=[(m.name, m.read_bytes()) for m in media or []],
            campaign=campaign,
            public_key_b64=key,
        )
        with case.blobs.open(form.item_sha256) as f:
            identifying = [] if form.encrypted else openrosa.identifying_fields(f.read())
    what = "added" if new else "already here"
    encrypted = ", encrypted submissions" if form.encrypted else ""
    out.print(
        f"form {form.form_id} version {form.version or '(none)'} {what}: {form.title}{encrypted}"
        f" (item {form.item_sha256[:12]})",
        markup=False,
    )
    if identifying:
        err.print(
            f"warning: form {form.form_id} asks who or how to reach someone ({', '.join(identifying)}) but is not"
            " encrypted: those answers will be sealed and masked for analysts and observers, but each"
            " submission's XML holds them in clear on this server. Make a key pair with 'factfinder odk keygen'"
            " and add the form again, with a new version, with --encrypt-to.",
            markup=False,
        )


@form_app.command("list")
@fails_cleanly
def form_list(
    case_dir: CaseDir,
    all_versions: Annotated[bool, typer.Option("--all-versions", help="Every version, not only the latest.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The forms the case serves."""
    with Case.open(case_dir) as case:
        forms = openrosa.list_forms(case, all_versions=all_versions)
    if as_json:
        rows = [
            {
                "form_id": f.form_id,
                "version": f.version,
                "title": f.title,
                "state": f.state,
                "campaign": f.campaign,
                "encrypted": f.encrypted,
                "item_sha256": f.item_sha256,
                "media": list(f.media),
            }
            for f in forms
        ]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table("form id", "version", "title", "campaign", "state", "encrypted", "item", "media")
    for f in forms:
        table.add_row(
            escape(f.form_id),
            escape(f.version),
            escape(f.title),
            escape(f.campaign or ""),
            f.state,
            "yes" if f.encrypted else "",
            f.item_sha256[:12],
            escape(", ".join(f.media)),
        )
    out.print(table)


def _set_state(case_dir: Path, form_id: str, state: str) -> None:
    with Case.open(case_dir) as case:
        openrosa.set_form_state(case, form_id, state)
    out.print(f"form {form_id} is {state}", markup=False)


@form_app.command("close")
@fails_cleanly
def form_close(
    case_dir: CaseDir,
    form_id: Annotated[str, typer.Argument(help="The form id.")],
    refuse: Annotated[
        bool, typer.Option("--refuse", help="Refuse submissions too, even those devices queued before.")
    ] = False,
) -> None:
    """Close a form: devices no longer see it; what they queued still arrives (unless --refuse)."""
    _set_state(case_dir, form_id, "closed" if refuse else "closing")


@form_app.command("open")
@fails_cleanly
def form_open(case_dir: CaseDir, form_id: Annotated[str, typer.Argument(help="The form id.")]) -> None:
    """Open a closed form again."""
    _set_state(case_dir, form_id, "open")


@user_app.command("add")
@fails_cleanly
def app_user_add(
    case_dir: CaseDir,
    name: Annotated[str, typer.Argument(help="A name for the device (not a witness's name).")],
    campaign: Annotated[str | None, typer.Option("--campaign", help="The campaign the device works for.")] = None,
    form: Annotated[
        list[str] | None, typer.Option("--form", help="A form id the device may use (repeat) [default: all].")
    ] = None,
    server: ServerOpt = "http://SERVER",
) -> None:
    """Make an app user; print its device link and token once (they are not stored in clear)."""
    with Case.open(case_dir) as case:
        user, token = openrosa.add_app_user(case, name, campaign=campaign, form_ids=form or [])
    base = server.rstrip("/")
    out.print(f"app user {user.name} made. Shown this once, keep it like a password:", markup=False)
    out.print(f"  server URL for ODK Collect: {base}/key/{token}", markup=False)
    out.print(f"  or Digest sign-in at {base}: user name {user.name}, password {token}", markup=False)


@user_app.command("list")
@fails_cleanly
def app_user_list(case_dir: CaseDir, as_json: JsonOpt = False) -> None:
    """The app users, their campaigns and forms, and whether each is revoked."""
    with Case.open(case_dir) as case:
        users = openrosa.list_app_users(case)
    if as_json:
        rows = [
            {
                "name": u.name,
                "campaign": u.campaign,
                "forms": list(u.form_ids) if u.form_ids is not None else None,
                "revoked": u.revoked,
                "created_at_vault_clock": u.created_at_vault_clock,
            }
            for u in users
        ]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table("name", "campaign", "forms", "revoked", "created (vault clock)")
    for u in users:
        forms = ", ".join(u.form_ids) if u.form_ids is not None else "all"
        table.add_row(
            escape(u.name),
            escape(u.campaign or ""),
            escape(forms),
            "yes" if u.revoked else "",
            u.created_at_vault_clock,
        )
    out.print(table)


@user_app.command("revoke")
@fails_cleanly
def app_user_revoke(case_dir: CaseDir, name: Annotated[str, typer.Argument(help="The app user's name.")]) -> None:
    """Revoke a device at once (lost, seized): its link and password stop working."""
    with Case.open(case_dir) as case:
        openrosa.revoke_app_user(case, name)
    out.print(f"app user {name} revoked", markup=False)


@odk_app.command("submissions")
@fails_cleanly
def submissions(
    case_dir: CaseDir,
    form: Annotated[str | None, typer.Option("--form", help="Only this form's submissions.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The submissions held: instance, form, whether complete, encrypted, an edit of which."""
    with Case.open(case_dir) as case:
        subs = openrosa.list_submissions(case, form_id=form)
    if as_json:
        rows = [
            {
                "instance_id": x.instance_id,
                "form_id": x.form_id,
                "form_version": x.form_version,
                "xml_sha256": x.xml_sha256,
                "deprecated_id": x.deprecated_id,
                "encrypted": x.encrypted,
                "complete": x.complete,
                "submitter": x.submitter,
                "log_index": x.log_index,
                "at_vault_clock": x.at_vault_clock,
                "attachments": [{"name": n, "sha256": sha} for n, sha in x.attachments],
            }
            for x in subs
        ]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table("instance", "form", "complete", "encrypted", "edit of", "from", "files", "item")
    for x in subs:
        arrived = sum(1 for _, sha in x.attachments if sha)
        table.add_row(
            escape(x.instance_id),
            escape(f"{x.form_id} {x.form_version or ''}".strip()),
            "yes" if x.complete else "no",
            "yes" if x.encrypted else "",
            escape(x.deprecated_id or ""),
            escape(x.submitter),
            f"{arrived}/{len(x.attachments)}",
            x.xml_sha256[:12],
        )
    out.print(table)


@odk_app.command("decrypt")
@fails_cleanly
def decrypt(
    case_dir: CaseDir,
    key: Annotated[Path, typer.Option("--key", help="The form's RSA private key (PEM).", exists=True, dir_okay=False)],
    passphrase_file: PassphraseFileOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Decrypt the complete encrypted submissions into working copies (the ciphertext stays as received)."""
    from factfinder.intake import odkcrypto

    pem = key.read_bytes()
    passphrase = _passphrase(passphrase_file) if odkcrypto.private_key_is_encrypted(pem) or passphrase_file else None
    with Case.open(case_dir) as case:
        report = odkcrypto.decrypt_case_submissions(
            case, pem, actor=actor or config.default_actor(), password=passphrase
        )
    out.print(f"{len(report.decrypted)} submission(s) decrypted, {report.copies} working copies added", markup=False)
    for instance_id, reason in report.failed:
        err.print(f"not decrypted: {instance_id}: {reason}", markup=False)
    if report.failed:
        raise typer.Exit(1)


@odk_app.command("keygen")
@fails_cleanly
def keygen(
    out_prefix: Annotated[Path, typer.Argument(help="Writes OUT_PREFIX-private.pem and OUT_PREFIX-public.pem.")],
    passphrase_file: PassphraseFileOpt = None,
    bits: Annotated[int, typer.Option("--bits", help="The RSA key's size.")] = 3072,
) -> None:
    """Make a key pair for encrypted forms: the public key goes into forms, the private one stays offline."""
    from factfinder.intake import odkcrypto
    from factfinder.vault import keys

    private_path = out_prefix.with_name(out_prefix.name + "-private.pem")
    public_path = out_prefix.with_name(out_prefix.name + "-public.pem")
    for path in (private_path, public_path):
        if path.exists():
            raise FileExistsError(17, "exists already; not overwritten", str(path))
    passphrase = _passphrase(passphrase_file, confirm=True)
    if not passphrase:
        err.print("error: the private key needs a passphrase: give --passphrase-file, or run at a terminal")
        raise typer.Exit(2)
    private, public = odkcrypto.generate_key_pair(passphrase, bits)
    keys.write_secret(private_path, private.decode("ascii"))
    with open(public_path, "xb") as f:
        f.write(public)
    out.print(f"private key (keep it offline, with its passphrase): {private_path}", markup=False)
    out.print(f"public key (for 'odk form add --encrypt-to'): {public_path}", markup=False)
