"""Connections to the graph database: engine set-up, transactions, portable upserts, errors.

SQLite is the default and gets what a multi-reader, single-writer library needs: WAL (readers
never block the writer), foreign keys, a busy timeout, and ``BEGIN IMMEDIATE`` for writes, so
two writers queue on the lock instead of failing half-way. Any other SQLAlchemy URL
(PostgreSQL for shared deployments) runs the same Core statements.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, MetaData, Table, and_, create_engine, event, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from scholargraph.errors import StoreError
from scholargraph.retry import RetryPolicy

if TYPE_CHECKING:  # the dialects are imported when used: PostgreSQL's costs a CLI start 20 ms
    from sqlalchemy.dialects import postgresql, sqlite

# PostgreSQL advisory lock id that serialises graph writes (any constant unique to ScholarGraph).
WRITE_LOCK_KEY = 0x5C401A96
# Bound parameters per IN list: old SQLite builds allow 999 per statement.
IN_BATCH = 500


def redact(url: str) -> str:
    """The URL fit for a message: no password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable database URL>"


def batched(items: Iterable[Any], size: int = IN_BATCH) -> Iterator[list[Any]]:
    """Slices of at most ``size``, for IN lists that stay under parameter limits."""
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def make_engine(url: str, busy_timeout_s: float = 30.0, connect_timeout_s: int = 10) -> Engine:
    """An engine for ``url``; SQLite files get their folder, WAL, foreign keys and a busy timeout
    (``graph.busy_timeout_s``), PostgreSQL a connect timeout (``graph.connect_timeout_s``)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(
            f"graph database URL {url!r} is not a SQLAlchemy URL ({exc}); "
            "set graph.database_url like 'sqlite:////path/graph.sqlite' or 'postgresql+psycopg://...'"
        ) from exc
    if parsed.get_backend_name() != "sqlite":
        # A server that accepts but never answers would otherwise hold an ingest or a chat forever.
        connect_args = ({"connect_timeout": connect_timeout_s}
                        if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query else {})
        try:
            return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
        except (SQLAlchemyError, ImportError) as exc:
            raise StoreError(
                f"graph database {redact(url)}: cannot open ({exc}); is its driver installed "
                "(e.g. pip install 'scholargraph[postgres]')?"
            ) from exc

    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        folder = Path(database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"graph database {redact(url)}: cannot create its folder {folder} ({exc.strerror or exc}); "
                "choose a writable data dir or graph.database_url"
            ) from exc
    engine = create_engine(parsed, connect_args={"timeout": busy_timeout_s})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A write takes the lock up front; a deferred transaction that reads, then writes,
        # can fail with "database is locked" without ever waiting on the busy timeout.
        immediate = conn.get_execution_options().get("scholargraph_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """An engine plus the two ways in: a write transaction and a read snapshot."""

    def __init__(self, url: str, busy_timeout_s: float = 30.0, connect_timeout_s: int = 10) -> None:
        self.url = url
        self.display_url = redact(url)
        self.busy_timeout_s = busy_timeout_s
        self.engine = make_engine(url, busy_timeout_s, connect_timeout_s)

    def error(self, action: str, exc: BaseException) -> StoreError:
        """A StoreError naming the database (no password), what failed and why."""
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split()) or type(exc).__name__
        return StoreError(
            f"graph database {self.display_url}: {action} failed ({reason}); "
            "check that the database is reachable and writable (graph.database_url)"
        )

    @contextmanager
    def write(self, action: str) -> Iterator[Connection]:
        """One transaction: everything inside commits together or not at all.

        Graph writes are serialised across processes: SQLite by BEGIN IMMEDIATE, PostgreSQL by
        a transaction-scoped advisory lock. Resolving citations reads other papers' rows; under
        READ COMMITTED two concurrent writers would each miss the other's paper and lose the
        edge between them. Each write is a few milliseconds, so the queue stays short.
        """
        try:
            with self.engine.connect() as conn:
                conn.execution_options(scholargraph_write=True)
                with conn.begin():
                    if conn.dialect.name == "postgresql":
                        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
                    yield conn
        except SQLAlchemyError as exc:
            raise self.error(action, exc) from exc

    def create_schema(self, metadata: MetaData) -> None:
        """Create missing tables under the write lock, so two services starting at once don't race.

        A new SQLite file is also switched to WAL by its first connection, which SQLite refuses
        ("database is locked") rather than waits for while another process holds the file: the
        creation therefore runs under a file lock beside the database, and a refusal is retried.
        """
        policy = RetryPolicy.of(f"creating the graph tables in {self.display_url}", 5, 0.2,
                                retry_on=(_Locked,), max_wait_s=2.0)

        def create() -> None:
            try:
                with self.write("creating the graph tables") as conn:
                    metadata.create_all(conn)
            except StoreError as exc:
                if "locked" in str(exc):
                    raise _Locked(str(exc)) from exc
                raise

        with self._creation_lock():
            policy.call(create, give_up=lambda exc: StoreError(str(exc)))

    def _creation_lock(self) -> AbstractContextManager[object]:
        """A lock file beside a SQLite database (other databases lock inside ``write``)."""
        database = self.engine.url.database or ""
        if self.engine.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
            return nullcontext()
        from filelock import FileLock

        return FileLock(f"{database}.create-lock", timeout=self.busy_timeout_s)

    @contextmanager
    def read(self, action: str) -> Iterator[Connection]:
        """A connection for reads; its transaction gives a consistent view and is rolled back."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise self.error(action, exc) from exc

    def close(self) -> None:
        if self.engine.dialect.name == "sqlite":
            try:  # refresh the planner's statistics, as SQLite advises before closing
                with self.engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA optimize")
            except SQLAlchemyError:
                pass  # advisory only; closing must not fail on it
        self.engine.dispose()


class _Locked(Exception):
    """SQLite refused the file to this process for now."""


def _on_conflict_insert(dialect: str, table: Table) -> sqlite.Insert | postgresql.Insert:
    """An INSERT that can say what to do on a key conflict (SQLite and PostgreSQL spell it alike)."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)
    from sqlalchemy.dialects.postgresql import insert as postgresql_insert

    return postgresql_insert(table)


def insert_ignore(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> int:
    """Insert rows, skipping those whose ``keys`` already exist; returns how many were inserted.

    SQLite and PostgreSQL use ON CONFLICT DO NOTHING, which is also safe against a concurrent
    writer; other databases check first, inside the same transaction.
    """
    if not rows:
        return 0
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        inserted = 0
        for row in rows:  # one statement per row, so each says whether it was inserted
            statement = _on_conflict_insert(dialect, table).values(**row).on_conflict_do_nothing(index_elements=list(keys))
            if conn.dialect.insert_returning:  # rowcount is not reliable here on every driver
                inserted += conn.execute(statement.returning(table.c[keys[0]])).first() is not None
            else:
                inserted += max(conn.execute(statement).rowcount, 0)
        return inserted
    inserted = 0
    for row in rows:
        exists = conn.execute(
            select(*(table.c[k] for k in keys)).where(and_(*(table.c[k] == row[k] for k in keys)))
        ).first()
        if exists is None:
            conn.execute(table.insert().values(**row))
            inserted += 1
    return inserted


def upsert(
    conn: Connection,
    table: Table,
    row: dict[str, Any],
    keys: Sequence[str],
    refresh: Sequence[str] | None = None,
) -> None:
    """Insert ``row``, or update its ``refresh`` columns (default: all but the keys) if it exists."""
    columns = [k for k in row if k not in keys] if refresh is None else list(refresh)
    changes = {k: row[k] for k in columns}
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        statement = _on_conflict_insert(dialect, table).values(**row)
        if changes:
            statement = statement.on_conflict_do_update(index_elements=list(keys), set_=changes)
        else:
            statement = statement.on_conflict_do_nothing(index_elements=list(keys))
        conn.execute(statement)
        return
    where = and_(*(table.c[k] == row[k] for k in keys))
    if changes and conn.execute(update(table).where(where).values(**changes)).rowcount:
        return
    if conn.execute(select(*(table.c[k] for k in keys)).where(where)).first() is None:
        conn.execute(table.insert().values(**row))
