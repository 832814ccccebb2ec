#!/usr/bin/env bash
# The demo case: the founding corpus, photos and videos from ../shared/testdata and the
# project's own invented samples (labelled as such), added to a fresh case, read for claims,
# grouped into incidents with reconciled counts, reported, then audited and proven.
set -euo pipefail
TESTDATA=${TESTDATA:-../shared/testdata}
CASE=${CASE:-demo-case}
OUT=${OUT:-demo-out}
if [ ! -d "$TESTDATA" ]; then
  echo "demo: test data not found at $TESTDATA (set TESTDATA=...)" >&2
  exit 2
fi
rm -rf "$CASE" "$OUT"
mkdir -p "$OUT"
export FACTFINDER_ACTOR=demo
factfinder init "$CASE" --title "Zhanaozen, December 2011 (demo)"
factfinder add "$CASE" "$TESTDATA/corpus" --source "news report (founding document)" --channel files \
  --collected-at 2011-12-22
factfinder add "$CASE" "$TESTDATA/pdq" "$TESTDATA/video" --source "reposted media (test set)" --channel usb \
  --collected-by "courier (placeholder)"
factfinder add "$CASE" samples/*.txt --channel files  # the victim lists in samples/persons are imported below
# The same report arriving a second time: one item, two receipts.
factfinder add "$CASE" "$TESTDATA/corpus/zhanaozen-observers-2011.txt" --source "second copy, by email" --channel email
echo
factfinder items "$CASE"
factfinder log "$CASE" --tail 5
echo
# Media forensics: the photos and videos were analysed as they were added.
factfinder media clusters "$CASE" > "$OUT/media-clusters.txt"
head -n 30 "$OUT/media-clusters.txt"
echo "(all clusters and the reasons for each ranking: $OUT/media-clusters.txt)"
echo
# Claims from text: the texts were read as they were added. The founding article as one ACLED-style row,
# and every figure the case's texts give, each with its words, qualifier and stance.
factfinder text code "$TESTDATA/corpus/zhanaozen-observers-2011.txt" --published 2011-12-22 \
  | python3 -c 'import json,sys; row=json.load(sys.stdin); row.pop("spans"); print(json.dumps(row, indent=1, ensure_ascii=False))'
factfinder text list "$CASE" --limit 100000 > "$OUT/claims.jsonl"
python3 - "$OUT/claims.jsonl" <<'PY'
import json, sys
claims = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
print(f"{len(claims)} claims read from the case's texts; the figures:")
for c in claims:
    if c["kind"] == "count":
        how = [k for k in ("reported", "hedged", "negated", "future") if c[k]]
        print(f'  {c["what"]:<9} {c["low"]!s:>6}  {c["qualifier"]:<9} "{c["quote"]}"' + (f'  ({", ".join(how)})' if how else ""))
PY
echo "(all claims: $OUT/claims.jsonl; review them at http://127.0.0.1:${PORT:-8000}/claims)"
echo
# Findings: the claims grouped into incidents, every figure reconciled across its sources, and the case report
# (HTML, PDF, the redacted variant for publication, and the exports) at the latest signed checkpoint.
factfinder incidents list "$CASE"
echo
factfinder counts "$CASE"
echo
factfinder report "$CASE" -o "$OUT/report.html" --pdf "$OUT/report.pdf" --exports "$OUT/exports"
factfinder report "$CASE" -o "$OUT/report-redacted.html" --pdf "$OUT/report-redacted.pdf" --redacted
echo "The case report: $OUT/report.html and $OUT/report.pdf; for publication: $OUT/report-redacted.pdf"
echo "(incidents, counts, timeline and map in the web app: http://127.0.0.1:${PORT:-8000}/incidents)"
echo
# The register of victims: four invented lists (samples/persons) imported, the same people linked across
# scripts and spellings (splink), and the estimate of the killed that no list recorded: three figures.
factfinder persons import "$CASE" samples/persons/families.csv --list families \
  --source "Families' association (invented sample)" --source-type family
factfinder persons import "$CASE" samples/persons/morgue.csv --list morgue \
  --source "City morgue register (invented sample)" --source-type morgue
factfinder persons import "$CASE" samples/persons/ngo.csv --list ngo \
  --source "Rights NGO (invented sample)" --source-type ngo
factfinder persons import "$CASE" samples/persons/official.csv --list official \
  --source "Akimat statement (invented sample)" --source-type official
factfinder persons link "$CASE" | tail -n 2
factfinder persons list "$CASE" > "$OUT/register.txt"
head -n 12 "$OUT/register.txt"
echo "(the whole register: $OUT/register.txt; pairs to review at http://127.0.0.1:${PORT:-8000}/persons/review)"
factfinder estimate "$CASE" --what killed
factfinder persons export "$CASE" "$OUT/register"
echo
# Field intake through the blackout. A field laptop worked offline as its own small archive; the commission's
# archive hands over its state (what it holds of every origin, and the key to encrypt to), the laptop writes a
# bundle of what the archive lacks, a courier carries it out, and the archive verifies it whole and merges it,
# with the hop in its custody log. Phones with ODK Collect get the testimony form and a device link.
FIELD="$OUT/field-laptop"
factfinder init "$FIELD" --title "Field laptop, Zhanaozen (demo)" > /dev/null
factfinder add "$FIELD" samples/field --channel usb > /dev/null
factfinder origins state "$CASE" -o "$OUT/archive-state.json"
# The laptop has never seen the archive's key: it prints the key's fingerprint and the recipients, which a
# team checks by another channel (here the demo vouches for them: --trust-state).
factfinder bundle export "$FIELD" --since "$OUT/archive-state.json" -o "$OUT/field.bundle" --trust-state
factfinder bundle import "$CASE" "$OUT/field.bundle" --identity "$CASE/keys/witness-identity.age" \
  --carrier "courier (placeholder)" --left-at 2011-12-18
factfinder bundle import "$CASE" "$OUT/field.bundle" --identity "$CASE/keys/witness-identity.age"  # again: no-op
factfinder origins list "$CASE"
factfinder odk form add "$CASE" samples/forms/testimony.xml --campaign zhanaozen
factfinder odk app-user add "$CASE" phone-1 --campaign zhanaozen --server "http://127.0.0.1:${PORT:-8000}" \
  > "$OUT/odk-phone-1.txt"
echo "ODK Collect: scan or type the device link in $OUT/odk-phone-1.txt (shown once; keep it like a password)"
echo
item=$(factfinder items "$CASE" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["sha256"])')
factfinder proof "$CASE" "$item" -o "$OUT/first-item.tlog-proof"
factfinder verify-proof "$OUT/first-item.tlog-proof" --blob "$TESTDATA/corpus/zhanaozen-observers-2011.txt"
echo
factfinder verify "$CASE"
echo
# Demo accounts, one per role. These passwords are for the demo only.
for role in admin investigator analyst observer; do
  echo "demo-password-$role" | factfinder users add "$CASE" "$role" --role "$role" --password-stdin
done
echo
echo "Sign in at http://127.0.0.1:${PORT:-8000}/login as admin, investigator, analyst or observer"
echo "(password: demo-password-<role>). Witnesses submit at http://127.0.0.1:${PORT:-8000}/submit"
echo "Same picture or footage across the case: http://127.0.0.1:${PORT:-8000}/media/clusters"
echo "The witness identity for revealing sealed fields: $CASE/keys/witness-identity.age"
exec factfinder serve "$CASE" --host 127.0.0.1 --port "${PORT:-8000}"
