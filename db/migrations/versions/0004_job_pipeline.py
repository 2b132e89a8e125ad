"""jobs.pipeline and jobs.inputs: each job names its pipeline and input series

Existing jobs belong to the hemorrhage pipeline (``ich_ct``, the server default) and read their own
series (``inputs`` NULL). A series version is unique per pipeline.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pipeline', sa.String(length=32), server_default='ich_ct', nullable=False))
        batch_op.add_column(sa.Column('inputs', sa.JSON(), nullable=True))
        batch_op.drop_constraint('uq_jobs_series_version', type_='unique')
        batch_op.create_unique_constraint('uq_jobs_pipeline_series_version', ['pipeline', 'series_uid', 'version'])


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_constraint('uq_jobs_pipeline_series_version', type_='unique')
        batch_op.create_unique_constraint('uq_jobs_series_version', ['series_uid', 'version'])
        batch_op.drop_column('inputs')
        batch_op.drop_column('pipeline')
