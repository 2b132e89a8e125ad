"""The node's SQL database: models, sessions, migrations and the queries other parts need.

Imports sqlalchemy and alembic only; never ``dicomnode`` or ``inference``.
"""
