"""Migration 0004 on SQLite and PostgreSQL: jobs made before it become ``ich_ct`` jobs; unique per pipeline."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from db.engine import make_engine
from db.migrate import alembic_config, current_revision, upgrade

INSERT = text(
    "INSERT INTO jobs (study_uid, series_uid, version, state, ready_rule, instance_count, max_instance_id, "
    "last_received_at, attempts, max_attempts, created_at, detail, timings{columns}) "
    "VALUES ('1.2', '1.2.3', 1, 'succeeded', 'quiet', 10, 10, :at, 1, 3, :at, '{{}}', '{{}}'{values})"
)
AT = {"at": "2026-11-30 10:00:00+00:00"}


def insert_job(engine: Engine, pipeline: str | None = None) -> None:
    columns, values = (", pipeline", ", :pipeline") if pipeline else ("", "")
    with engine.begin() as connection:
        connection.execute(text(INSERT.text.format(columns=columns, values=values)), {**AT, "pipeline": pipeline})


@pytest.fixture
def engine_at_0003(database_url: str) -> Iterator[Engine]:
    """A database migrated to 0003 holding one job, as a node before pipelines left it."""
    engine = make_engine(database_url)
    upgrade(engine, "0003")
    insert_job(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def test_existing_jobs_become_ich_ct_jobs_reading_their_own_series(engine_at_0003: Engine) -> None:
    upgrade(engine_at_0003)
    assert current_revision(engine_at_0003) == "0004"
    with engine_at_0003.connect() as connection:
        row = connection.execute(text("SELECT pipeline, inputs FROM jobs")).one()
    assert (row.pipeline, row.inputs) == ("ich_ct", None)
    uniques = {c["name"]: c["column_names"] for c in inspect(engine_at_0003).get_unique_constraints("jobs")}
    assert uniques == {"uq_jobs_pipeline_series_version": ["pipeline", "series_uid", "version"]}


def test_a_series_version_is_unique_per_pipeline(engine_at_0003: Engine) -> None:
    upgrade(engine_at_0003)
    insert_job(engine_at_0003, "cmb_swi")  # another pipeline: the same series version again
    with pytest.raises(IntegrityError):
        insert_job(engine_at_0003, "ich_ct")


def test_downgrade_restores_the_series_version_constraint(engine_at_0003: Engine) -> None:
    upgrade(engine_at_0003)
    cfg = alembic_config(engine_at_0003.url.render_as_string(hide_password=False))
    with engine_at_0003.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0003")
    columns = {c["name"] for c in inspect(engine_at_0003).get_columns("jobs")}
    assert "pipeline" not in columns and "inputs" not in columns
    uniques = {c["name"] for c in inspect(engine_at_0003).get_unique_constraints("jobs")}
    assert uniques == {"uq_jobs_series_version"}
