"""Database models, engine set-up and Alembic migrations."""
