"""The one SQLAlchemy `MetaData` every package defines its tables on.

Tables are made only by the Alembic migrations (api/migrations, run by `api.db.upgrade`); this MetaData is
what `qingsong db check` compares the live database with. Library code never calls `create_all`."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
