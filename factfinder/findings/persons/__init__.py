"""The register of the killed, injured, detained and missing: person records, record linkage, reviews.

``model`` is one list entry as written; ``lists`` reads list files;
``namekeys`` and ``linkage`` decide which records are the same person;
``store`` keeps records, reviews and linkage runs in the case and makes the
register from them.
"""
