"""Persistence: SQLAlchemy models, repositories and Alembic migrations.

Every query is scoped by platform + workspace + team so two teams never see each
other's data.
"""
