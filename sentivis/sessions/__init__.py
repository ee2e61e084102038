"""Recorded sessions in a database (SQLAlchemy 2, Alembic): `db` (URL, engine, migrations under a
lock), `schema` (the tables), `store` (idempotent writes of records, deletion, retention),
`queries` (the list, one session's summary, its rows as CSV or JSONL). The records themselves and
their encoding on the stream are sentivis.records; the recorder service is recorder/. What is
stored and for how long: docs/PRIVACY.md."""
