"""Intake channels: each turns what arrives into vault items, and nothing else."""
