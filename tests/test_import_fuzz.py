"""Import fuzzing: any file, however malformed, truncated, wrongly encoded, huge or hostile, is
either imported as written or rejected whole with a readable reason; it never half-imports and
never escapes as an unexpected exception."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli import context
from cli.main import app
from core.contracts import CONTRACTS, Column
from core.errors import EaselError
from core.importing import ImportRejected, import_file
from core.schema import metadata
from tests.test_importing import CUSTOMERS, ORDERS, PRODUCTS, SUPPLIERS, load

KINDS = sorted(CONTRACTS)
TABLES = sorted(t.name for t in metadata.sorted_tables)
FORMULAS = [
    '=HYPERLINK("http://x","y")',
    "=1+2",
    "+SUM(A1:A9)",
    "-2+3",
    "@cmd",
    "\t=evil()",
    '=cmd|" /C calc"!A0',
]
HOSTILE_TEXT = st.one_of(
    st.sampled_from(FORMULAS),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
    st.sampled_from(["a,b", 'quote"inside', "line\nbreak", "  padded  ", "NULL", "NA", "\x00"]),
    st.builds(lambda n: "x" * n, st.sampled_from([1000, 3000])),
)
KNOWN = {  # values present in the shop, so references can resolve
    ("suppliers", "supplier_id"): ["s1", "s2"],
    ("products", "sku"): ["k1", "k2"],
    ("customers", "customer_id"): ["c1", "c2"],
    ("orders", "order_id"): ["o1", "o2"],
}
# Keeps hypothesis from building a database per example: each example compares table counts
# before and after itself, so the shop it shares with the other examples does not matter.
FUZZ = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def valid_value(column: Column) -> st.SearchStrategy[str]:
    """Text that a column of this type accepts (most of the time: ranges are not modelled)."""
    if column.references:
        return st.sampled_from(KNOWN[column.references])
    if column.choices:
        return st.sampled_from(list(column.choices))
    if column.pattern:
        return st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.org", fullmatch=True)
    return {
        "str": st.text(alphabet="abcdefghij-_ ", min_size=1, max_size=12)
        .map(str.strip)
        .filter(bool),
        "int": st.integers(0, 500).map(str),
        "float": st.floats(0, 1000, allow_nan=False).map(lambda v: f"{v:.2f}"),
        "bool": st.sampled_from(["true", "false", "yes", "no", "1", "0"]),
        "date": st.dates(date(2020, 1, 1), date(2026, 6, 1)).map(date.isoformat),
        "datetime": st.dates(date(2024, 1, 1), date(2026, 6, 1)).map(
            lambda d: f"{d.isoformat()}T08:00:00+00:00"
        ),
    }[column.type]


def cell(column: Column) -> st.SearchStrategy[str]:
    return st.one_of(valid_value(column), valid_value(column), st.just(""), HOSTILE_TEXT)


@st.composite
def csv_text(draw, kind: str) -> str:
    """A CSV file of the kind: required columns, some optional ones, rows of mixed cells."""
    contract = CONTRACTS[kind]
    columns = [c for c in contract.columns if c.required]
    columns += draw(st.lists(st.sampled_from(contract.columns), unique_by=lambda c: c.name))
    columns = list({c.name: c for c in columns}.values())
    rows = draw(st.lists(st.tuples(*(cell(c) for c in columns)), min_size=1, max_size=5))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.name for c in columns])
    writer.writerows(rows)
    return out.getvalue()


def damaged(text: str, how: str, data) -> bytes:
    """The file's bytes after one kind of damage."""
    raw = text.encode("utf-8", errors="surrogatepass")
    if how == "truncated":
        return raw[: data.draw(st.integers(0, max(len(raw) - 1, 0)))]
    if how == "latin-1":
        return text.encode("latin-1", errors="replace") + "\ncafé,é,ü\n".encode("latin-1")
    if how == "utf-16":
        return text.encode("utf-16", errors="surrogatepass")
    if how == "garbage":
        return data.draw(st.binary(min_size=1, max_size=400))
    if how == "many columns":
        header, _, rest = text.partition("\n")
        extra = ",".join(f"extra_{i}" for i in range(2000))
        return f"{header},{extra}\n{rest}".encode()
    if how == "ragged":
        return (text + 'a,b,c,d,e,f,g,h,i,j,k,l,m,n\n"unclosed,\n').encode(
            "utf-8", errors="surrogatepass"
        )
    return raw


def counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(metadata.tables[name])).scalar_one()
            for name in TABLES
        }


@pytest.fixture
def shop(engine, tmp_path, admin, now):
    for kind, content in (
        ("suppliers", SUPPLIERS),
        ("products", PRODUCTS),
        ("customers", CUSTOMERS),
        ("orders", ORDERS),
    ):
        load(engine, tmp_path, admin, now, kind, content)
    return engine


def attempt(engine, path, kind, admin, now, before):
    """Import; on rejection nothing changed, on success one audit event more."""
    try:
        result = import_file(engine, kind=kind, path=path, actor=admin, now=now)
    except ImportRejected as rejected:
        assert rejected.problems and rejected.total >= len(rejected.problems)
        assert all(p.reason.strip() for p in rejected.problems)
        assert "nothing was imported" in str(rejected)
        assert counts(engine) == before
        return None
    except EaselError as error:  # a readable refusal of another kind
        assert str(error).strip()
        assert counts(engine) == before
        return None
    after = counts(engine)
    assert after["audit_events"] == before["audit_events"] + 1
    assert result.rows > 0
    return result


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(data=st.data())
def test_any_file_is_imported_or_rejected_whole(shop, tmp_path, admin, now, kind, data):
    text = data.draw(csv_text(kind))
    how = data.draw(
        st.sampled_from(
            [
                "clean",
                "clean",
                "truncated",
                "latin-1",
                "utf-16",
                "garbage",
                "many columns",
                "ragged",
            ]
        )
    )
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(damaged(text, how, data))
    attempt(shop, path, kind, admin, now, counts(shop))


@FUZZ
@given(name=st.sampled_from(FORMULAS), region=st.sampled_from(FORMULAS))
def test_formulas_in_text_are_stored_as_data(shop, tmp_path, admin, now, name, region):
    path = tmp_path / "customers.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([["customer_id", "name", "region"], ["c9", name, region]])
    assert attempt(shop, path, "customers", admin, now, counts(shop)) is not None
    table = metadata.tables["customers"]
    with shop.connect() as conn:
        row = conn.execute(
            select(table.c.name, table.c.region).where(table.c.customer_id == "c9")
        ).one()
    # Stored exactly as given (stripped of surrounding blanks, as every text cell is).
    assert (row.name, row.region) == (name.strip(), region.strip())


def test_a_huge_field_and_many_rows_import_whole(shop, tmp_path, admin, now):
    long_name = "Ä" * 200_000
    lines = ["customer_id,name"] + [f"h{i},{long_name if i == 0 else 'n'}" for i in range(20_000)]
    path = tmp_path / "customers.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = counts(shop)
    result = attempt(shop, path, "customers", admin, now, before)
    assert result is not None and result.inserted == 20_000
    assert counts(shop)["customers"] == before["customers"] + 20_000
    table = metadata.tables["customers"]
    with shop.connect() as conn:
        stored = conn.execute(select(table.c.name).where(table.c.customer_id == "h0")).scalar_one()
    assert stored == long_name


def test_one_bad_row_at_the_end_rejects_every_row_before_it(shop, tmp_path, admin, now):
    lines = ["customer_id,name,signup_date"] + [f"b{i},n,2025-01-01" for i in range(5000)]
    lines.append("b5000,n,2025-13-45")
    path = tmp_path / "customers.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = counts(shop)
    with pytest.raises(ImportRejected) as rejected:
        import_file(shop, kind="customers", path=path, actor=admin, now=now)
    [problem] = rejected.value.problems
    assert (problem.row, problem.column) == (5002, "signup_date")
    assert counts(shop) == before


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("EASEL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EASEL_USER", raising=False)
    context.settings.cache_clear()
    context.engine.cache_clear()
    yield tmp_path
    context.engine().dispose()
    context.settings.cache_clear()
    context.engine.cache_clear()


BAD_FILES = {
    "utf16.csv": "customer_id,name\nc1,Ann\n".encode("utf-16"),
    "latin1.csv": "customer_id,name\nc1,Zoë\n".encode("latin-1"),
    "garbage.csv": bytes(range(256)) * 4,
    "truncated.csv": b'customer_id,name\nc1,"Ann',
    "empty.csv": b"",
    "header-only.csv": b"customer_id,name\n",
    "garbage.parquet": b"PAR1" + bytes(100),
    "notes.txt": b"customer_id\nc1\n",
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_cli_rejects_bad_files_with_a_message_and_no_traceback(cli_env, name):
    path = cli_env / name
    path.write_bytes(BAD_FILES[name])
    result = CliRunner().invoke(app, ["import", "customers", str(path)])
    assert result.exit_code == 2, result.output
    assert "nothing was imported" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    with context.engine().connect() as conn:
        assert (
            conn.execute(
                select(func.count()).select_from(metadata.tables["customers"])
            ).scalar_one()
            == 0
        )


def test_a_row_wider_than_the_header_is_rejected_not_shifted(shop, tmp_path, admin, now):
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,name\nc7,Ann,extra\nc8,Bob\n", encoding="utf-8")
    before = counts(shop)
    with pytest.raises(ImportRejected, match="more values than the header"):
        import_file(shop, kind="customers", path=path, actor=admin, now=now)
    assert counts(shop) == before


def test_transactions_without_customer_or_date_are_rejected_by_row(shop, tmp_path, admin, now):
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,date,amount\n,,5\nc1,,x\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as rejected:
        import_file(shop, kind="transactions", path=path, actor=admin, now=now)
    where = {(p.row, p.column) for p in rejected.value.problems}
    assert {(2, "customer_id"), (2, "date"), (3, "date"), (3, "amount")} <= where


def test_dates_far_apart_are_rejected_not_crashing(shop, tmp_path, admin, now):
    far = (now.date() + timedelta(days=10_000_000 // 365)).isoformat()
    path = tmp_path / "orders.csv"
    path.write_text(
        f"order_id,customer_id,ordered_date\no9,c1,{far}\no10,c1,9999-12-31\no11,c1,0001-01-01\n",
        encoding="utf-8",
    )
    attempt(shop, path, "orders", admin, now, counts(shop))


def test_a_nul_character_in_text_is_rejected_with_its_row(shop, tmp_path, admin, now):
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,name\nc7,Ann\nc8\x00,Bob\nc9,B\x00b\n", encoding="utf-8")
    before = counts(shop)
    with pytest.raises(ImportRejected) as rejected:
        import_file(shop, kind="customers", path=path, actor=admin, now=now)
    where = {(p.row, p.column) for p in rejected.value.problems}
    assert where == {(3, "customer_id"), (4, "name")}
    assert counts(shop) == before
