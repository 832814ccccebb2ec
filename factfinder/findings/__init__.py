"""Findings: incidents, reconciled counts, corroboration and the timeline, made from a case's claims."""
