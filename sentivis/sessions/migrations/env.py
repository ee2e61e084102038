"""Alembic's environment for the sessions schema: always run by sentivis.sessions.db.migrate(), which
hands over a connection already inside the locked transaction (see its docstring)."""
from alembic import context

from sentivis.sessions.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the sessions migrations through sentivis.sessions.db.migrate(engine)")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
