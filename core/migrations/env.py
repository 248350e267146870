"""Alembic environment: runs against the engine handed over by core.schema."""

from alembic import context

from core.schema import metadata

config = context.config

# Tables that other libraries own (APScheduler's job store) are not ours to migrate.
FOREIGN_TABLES = {"scheduler_jobs"}


def include_name(name, type_, _parent_names) -> bool:
    return not (type_ == "table" and name in FOREIGN_TABLES)


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
