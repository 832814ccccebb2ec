"""The preservation core: blobs, custody log, checkpoints, proofs, keys. Knows nothing of HTTP."""
