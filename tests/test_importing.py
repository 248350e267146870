"""Import: every kind of bad file is refused whole; good files upsert in one audited transaction."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from cli import context
from cli.main import app
from core.audit import AuditEvent
from core.contracts import CONTRACTS
from core.errors import InvalidInput, PermissionDenied
from core.import_checks import Problems, as_text, parse_column, parse_frame
from core.importing import ImportRejected, _read_csv, import_file
from core.schema import metadata

SUPPLIERS = "supplier_id,name,lead_time_days,status\ns1,Acme Paints,5,ok\ns2,Yarnworks,12,Delayed\n"
PRODUCTS = (
    "sku,name,category,supplier_id,price,unit_cost,is_consumable,replenishment_days\n"
    "k1,Red acrylic,paints,s1,4.50,2.00,yes,60\n"
    "k2,Round brush,brushes,s1,3,1,no,\n"
)
CUSTOMERS = (
    "customer_id,name,email,region,signup_date,consent_email,consent_sms\n"
    "c1,Ann,ann@example.org,NA,2025-01-10,true,1\n"
    "c2,Bob,,EU,,FALSE,no\n"
)
ORDERS = (
    "order_id,customer_id,ordered_date,promised_date,delivered_date,status,amount\n"
    "o1,c1,2026-01-05,2026-01-09,2026-01-08,delivered,12.50\n"
    "o2,c2,2026-02-01,2026-02-06,,placed,3\n"
)


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def load(engine, tmp_path, admin, now, kind, content, name=None):
    path = write(tmp_path, name or f"{kind}.csv", content)
    return import_file(engine, kind=kind, path=path, actor=admin, now=now)


@pytest.fixture
def shop(engine, tmp_path, admin, now):
    """Suppliers, products, customers and orders in the database."""
    for kind, content in (
        ("suppliers", SUPPLIERS),
        ("products", PRODUCTS),
        ("customers", CUSTOMERS),
        ("orders", ORDERS),
    ):
        load(engine, tmp_path, admin, now, kind, content)
    return engine


def count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(metadata.tables[table])).scalar_one()


def rows(engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def rejected(engine, tmp_path, admin, now, kind, content, name=None) -> ImportRejected:
    """Import a bad file; check nothing changed and return the rejection."""
    table = CONTRACTS[kind].table or "orders"
    before = (count(engine, table), count(engine, "audit_events"))
    with pytest.raises(ImportRejected) as caught:
        load(engine, tmp_path, admin, now, kind, content, name)
    assert (count(engine, table), count(engine, "audit_events")) == before
    return caught.value


def only(error: ImportRejected) -> tuple[int | None, str | None, str]:
    assert error.total == 1, str(error)
    problem = error.problems[0]
    return problem.row, problem.column, problem.reason


# Bad files: each refused with row, column and reason, and the database unchanged.


def test_missing_required_column_is_named(engine, tmp_path, admin, now):
    error = rejected(engine, tmp_path, admin, now, "suppliers", "supplier_id,name\ns1,Acme\n")
    assert only(error) == (1, "lead_time_days", "the required column lead_time_days is missing")


def test_unknown_column_is_refused(engine, tmp_path, admin, now):
    error = rejected(engine, tmp_path, admin, now, "customers", "customer_id,nmae\nc1,Ann\n")
    row, column, reason = only(error)
    assert (row, column) == (1, "nmae")
    assert "unknown column" in reason and "customer_id" in reason


def test_bad_type_names_row_column_and_value(engine, tmp_path, admin, now):
    content = "supplier_id,name,lead_time_days\ns1,Acme,5\ns2,Yarn,twelve\ns3,Clay,1.5\n"
    error = rejected(engine, tmp_path, admin, now, "suppliers", content)
    assert [(p.row, p.column) for p in error.problems] == [
        (3, "lead_time_days"),
        (4, "lead_time_days"),
    ]
    assert error.problems[0].reason == "'twelve' is not a whole number"


def test_infinite_whole_numbers_are_refused_by_name(engine, tmp_path, admin, now):
    content = "supplier_id,name,lead_time_days\ns1,Acme,INF\ns2,Yarn,-inf\n"
    error = rejected(engine, tmp_path, admin, now, "suppliers", content)
    assert [(p.row, p.column) for p in error.problems] == [
        (2, "lead_time_days"),
        (3, "lead_time_days"),
    ]
    assert error.problems[0].reason == "'INF' is not a whole number"


def test_bad_bool_and_date_are_refused(engine, tmp_path, admin, now):
    content = "customer_id,consent_sms,signup_date\nc1,maybe,2025-01-01\nc2,yes,01/02/2025\n"
    error = rejected(engine, tmp_path, admin, now, "customers", content)
    assert [(p.row, p.column) for p in error.problems] == [(2, "consent_sms"), (3, "signup_date")]
    assert "YYYY-MM-DD" in error.problems[1].reason


def test_number_out_of_range_is_refused(shop, tmp_path, admin, now):
    content = (
        "response_id,customer_id,responded_date,score\nr1,c1,2026-01-10,11\nr2,c1,2026-01-10,-1\n"
    )
    error = rejected(shop, tmp_path, admin, now, "surveys", content)
    assert [(p.row, p.column, p.reason) for p in error.problems] == [
        (2, "score", "11 is above 10"),
        (3, "score", "-1 is negative"),
    ]


def test_bad_choice_is_refused(engine, tmp_path, admin, now):
    content = "supplier_id,name,lead_time_days,status\ns1,Acme,5,late\n"
    error = rejected(engine, tmp_path, admin, now, "suppliers", content)
    assert only(error) == (2, "status", "'late' is not one of ok, delayed, disrupted")


def test_required_value_missing_is_refused(engine, tmp_path, admin, now):
    error = rejected(
        engine, tmp_path, admin, now, "suppliers", "supplier_id,name,lead_time_days\ns1,,5\n"
    )
    assert only(error) == (2, "name", "a value is required")


def test_duplicate_key_names_the_first_row(engine, tmp_path, admin, now):
    content = "customer_id,name\nc1,Ann\nc2,Bob\nc1,Ann again\n"
    error = rejected(engine, tmp_path, admin, now, "customers", content)
    assert only(error) == (4, "customer_id", "repeats the key of row 2 (c1)")


def test_duplicate_composite_key_is_refused(shop, tmp_path, admin, now):
    content = "order_id,line_no,sku\no1,1,k1\no1,2,k2\no1,1,k2\n"
    error = rejected(shop, tmp_path, admin, now, "order_lines", content)
    assert only(error) == (4, "order_id+line_no", "repeats the key of row 2 (o1, 1)")


def test_unknown_foreign_key_is_refused(shop, tmp_path, admin, now):
    content = "order_id,customer_id,ordered_date\no3,c1,2026-03-01\no4,c404,2026-03-01\n"
    error = rejected(shop, tmp_path, admin, now, "orders", content)
    row, column, reason = only(error)
    assert (row, column) == (3, "customer_id")
    assert "'c404' is not a known customer_id" in reason


def test_promised_before_ordered_is_refused(shop, tmp_path, admin, now):
    content = "order_id,customer_id,ordered_date,promised_date\no3,c1,2026-03-05,2026-03-01\n"
    error = rejected(shop, tmp_path, admin, now, "orders", content)
    assert only(error) == (
        2,
        "promised_date",
        "promised_date 2026-03-01 is before ordered_date 2026-03-05",
    )


def test_return_before_its_order_is_refused(shop, tmp_path, admin, now):
    content = "return_id,order_id,returned_date\nr1,o1,2026-01-01\n"
    error = rejected(shop, tmp_path, admin, now, "returns", content)
    assert only(error) == (
        2,
        "returned_date",
        "2026-01-01 is before the orders ordered_date 2026-01-05",
    )


def test_far_future_and_ancient_dates_are_refused(shop, tmp_path, admin, now):
    content = "ticket_id,customer_id,opened_date\nt1,c1,2031-01-01\nt2,c1,1970-05-01\n"
    error = rejected(shop, tmp_path, admin, now, "tickets", content)
    assert [(p.row, p.column) for p in error.problems] == [(2, "opened_date"), (3, "opened_date")]
    assert "too far ahead" in error.problems[0].reason
    assert "before 1990-01-01" in error.problems[1].reason


def test_wrong_extension_is_refused(engine, tmp_path, admin, now):
    error = rejected(engine, tmp_path, admin, now, "customers", "customer_id\nc1\n", name="c.xlsx")
    assert "unsupported file type" in only(error)[2]


def test_missing_file_is_refused(engine, tmp_path, admin, now):
    with pytest.raises(ImportRejected, match="no such file"):
        import_file(engine, kind="customers", path=tmp_path / "nope.csv", actor=admin, now=now)


def test_file_that_is_not_utf8_is_refused(engine, tmp_path, admin, now):
    path = tmp_path / "latin.csv"
    path.write_bytes("customer_id,name\nc1,Ren\xe9e\n".encode("latin-1"))
    with pytest.raises(ImportRejected, match="not UTF-8"):
        import_file(engine, kind="customers", path=path, actor=admin, now=now)


def test_corrupt_parquet_is_refused(engine, tmp_path, admin, now):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(ImportRejected, match="could not be read"):
        import_file(engine, kind="customers", path=path, actor=admin, now=now)


def test_empty_file_is_refused(engine, tmp_path, admin, now):
    error = rejected(engine, tmp_path, admin, now, "customers", "")
    assert only(error) == (None, None, "the file is empty (no header row)")


def test_header_without_rows_is_refused(engine, tmp_path, admin, now):
    error = rejected(engine, tmp_path, admin, now, "customers", "customer_id,name\n")
    assert only(error)[2] == "the file has no data rows"


def test_unknown_kind_is_refused(engine, tmp_path, admin, now):
    with pytest.raises(InvalidInput, match="known kinds"):
        load(engine, tmp_path, admin, now, "widgets", "a\n1\n")


def test_at_most_twenty_problems_are_listed_with_the_total(engine, tmp_path, admin, now):
    content = "supplier_id,name,lead_time_days\n" + "".join(f"s{i},S,-{i + 1}\n" for i in range(30))
    error = rejected(engine, tmp_path, admin, now, "suppliers", content)
    assert error.total == 30
    assert len(error.problems) == 20
    assert [p.row for p in error.problems] == list(range(2, 22))
    assert "30 problems, the first 20 listed" in str(error)


def test_problems_are_listed_in_row_order_across_checks(engine, tmp_path, admin, now):
    content = "supplier_id,name,lead_time_days,status\ns1,,5,ok\ns2,B,x,ok\ns3,C,1,bad\n"
    error = rejected(engine, tmp_path, admin, now, "suppliers", content)
    assert [p.row for p in error.problems] == [2, 3, 4]


# Good files.


def test_planner_may_not_import(engine, tmp_path, planner, now):
    path = write(tmp_path, "customers.csv", CUSTOMERS)
    with pytest.raises(PermissionDenied):
        import_file(engine, kind="customers", path=path, actor=planner, now=now)
    assert count(engine, "customers") == 0


def test_good_files_of_each_kind_import(shop, tmp_path, admin, now):
    files = {
        "stock": "sku,on_hand,updated_at\nk1,40,2026-06-01T08:00:00\nk2,0,\n",
        "inbound": "po_id,sku,quantity,ordered_date,expected_date,received_date\n"
        "po1,k1,100,2026-06-01,2026-06-20,\n",
        "order_lines": "order_id,line_no,sku,quantity,unit_price,backordered\n"
        "o1,1,k1,2,4.5,no\no1,2,k2,1,3.5,yes\no2,1,,1,3,0\n",
        "returns": "return_id,order_id,sku,returned_date,reason\nr1,o1,k1,2026-01-20,damaged\n",
        "tickets": "ticket_id,customer_id,order_id,opened_date,topic,is_complaint,resolved_date\n"
        "t1,c1,o1,2026-01-21,Damaged,yes,2026-01-22\n",
        "surveys": "response_id,customer_id,order_id,responded_date,score,comment\n"
        'v1,c1,o1,2026-01-12,3,"Late, and the lid was loose"\n',
        "browsing": "event_id,customer_id,sku,event_date,event_type\ne1,c2,k2,2026-06-10,cart\n",
    }
    for kind, content in files.items():
        result = load(shop, tmp_path, admin, now, kind, content)
        assert (result.inserted, result.updated) == (content.count("\n") - 1, 0), kind
    assert rows(shop, "select topic, is_complaint from support_tickets") == [("damaged", True)]
    assert rows(shop, "select comment from survey_responses") == [("Late, and the lid was loose",)]
    assert rows(shop, "select sku, backordered from order_lines where line_no = 2") == [
        ("k2", True)
    ]
    assert rows(shop, "select status from suppliers order by supplier_id") == [
        ("ok",),
        ("delayed",),
    ]
    assert rows(shop, "select region from customers where customer_id = 'c1'") == [("NA",)]


def test_reimport_updates_and_never_duplicates(shop, tmp_path, admin, now):
    again = load(shop, tmp_path, admin, now, "orders", ORDERS)
    assert (again.inserted, again.updated) == (0, 2)
    changed = ORDERS.replace("12.50", "14.00") + "o3,c1,2026-03-01,,,shipped,9\n"
    result = load(shop, tmp_path, admin, now, "orders", changed)
    assert (result.rows, result.inserted, result.updated) == (3, 1, 2)
    assert count(shop, "orders") == 3
    assert rows(shop, "select amount from orders where order_id = 'o1'") == [(14.0,)]


def test_absent_optional_column_keeps_stored_values(shop, tmp_path, admin, now):
    load(shop, tmp_path, admin, now, "customers", "customer_id,name\nc1,Ann B\nc3,Cy\n")
    assert rows(
        shop, "select name, consent_email, consent_sms from customers order by customer_id"
    ) == [
        ("Ann B", True, True),
        ("Bob", False, False),
        ("Cy", True, False),
    ]


def test_import_writes_one_audit_event(shop, tmp_path, admin, now):
    with shop.connect() as conn:
        events = conn.execute(select(AuditEvent).where(AuditEvent.entity_type == "orders")).all()
    assert len(events) == 1
    event = events[0]
    assert (event.action, event.actor, event.entity_id) == ("data.import", "ada", "orders.csv")
    assert json.loads(event.after) == {"file": "orders.csv", "rows": 2, "inserted": 2, "updated": 0}


def test_parquet_imports_like_csv(engine, tmp_path, admin, now):
    frame = pd.DataFrame(
        {
            "customer_id": ["c1", "c2"],
            "signup_date": pd.to_datetime(["2025-01-10", None]),
            "consent_sms": [True, False],
        }
    )
    frame.to_parquet(tmp_path / "customers.parquet")
    result = import_file(
        engine, kind="customers", path=tmp_path / "customers.parquet", actor=admin, now=now
    )
    assert result.inserted == 2
    assert rows(engine, "select customer_id, consent_sms from customers order by 1") == [
        ("c1", True),
        ("c2", False),
    ]


def test_parquet_problems_use_the_same_row_numbers(engine, tmp_path, admin, now):
    pd.DataFrame(
        {"supplier_id": ["s1", "s2"], "name": ["A", "B"], "lead_time_days": [3, -2]}
    ).to_parquet(tmp_path / "s.parquet")
    with pytest.raises(ImportRejected) as caught:
        import_file(engine, kind="suppliers", path=tmp_path / "s.parquet", actor=admin, now=now)
    assert only(caught.value) == (3, "lead_time_days", "-2 is negative")


# Transactions: a plain purchase log.

LOG = (
    "customer_id,date,amount,quantity\nc1,2026-03-01,10,2\nn1,2026-03-02,5.5,\nn1,2026-03-02,5.5,\n"
)


def test_transactions_create_customers_orders_and_lines(shop, tmp_path, admin, now):
    result = load(shop, tmp_path, admin, now, "transactions", LOG)
    assert (result.rows, result.inserted, result.updated, result.customers_created) == (3, 3, 0, 1)
    assert (
        rows(shop, "select signup_date from customers where customer_id = 'n1'")[0][0] is not None
    )
    orders = rows(
        shop,
        "select customer_id, amount, status from orders where order_id like 'tx-%' order by 1, 2",
    )
    assert orders == [("c1", 10.0, "delivered"), ("n1", 5.5, "delivered"), ("n1", 5.5, "delivered")]
    lines = rows(shop, "select quantity, unit_price, sku from order_lines order by unit_price")
    assert lines == [(2, 5.0, None), (1, 5.5, None), (1, 5.5, None)]


def test_transactions_reimport_is_idempotent(shop, tmp_path, admin, now):
    load(shop, tmp_path, admin, now, "transactions", LOG)
    again = load(shop, tmp_path, admin, now, "transactions", LOG)
    assert (again.inserted, again.updated, again.customers_created) == (0, 3, 0)
    assert count(shop, "orders") == 2 + 3
    assert count(shop, "order_lines") == 3
    assert count(shop, "customers") == 3


def test_transactions_with_order_id_update_that_order(shop, tmp_path, admin, now):
    load(
        shop,
        tmp_path,
        admin,
        now,
        "transactions",
        "customer_id,date,amount,order_id\nc1,2026-03-01,10,x1\n",
    )
    result = load(
        shop,
        tmp_path,
        admin,
        now,
        "transactions",
        "customer_id,date,amount,order_id\nc1,2026-03-01,12,x1\n",
    )
    assert (result.inserted, result.updated) == (0, 1)
    assert rows(shop, "select amount from orders where order_id = 'x1'") == [(12.0,)]


def test_transactions_refuse_negative_amounts(engine, tmp_path, admin, now):
    error = rejected(
        engine, tmp_path, admin, now, "transactions", "customer_id,date,amount\nc1,2026-03-01,-4\n"
    )
    row, column, reason = only(error)
    assert (row, column) == (2, "amount")
    assert reason.startswith("-4 is negative") and "returns" in reason
    assert count(engine, "customers") == 0


def test_transactions_refuse_a_repeated_order_id(engine, tmp_path, admin, now):
    content = "customer_id,date,amount,order_id\nc1,2026-03-01,4,x1\nc2,2026-03-01,5,x1\n"
    error = rejected(engine, tmp_path, admin, now, "transactions", content)
    assert only(error)[:2] == (3, "order_id")


# The command line.


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("EASEL_USER", raising=False)
    monkeypatch.setenv("EASEL_DATA_DIR", str(tmp_path / "data"))
    context.settings.cache_clear()
    context.engine.cache_clear()
    yield
    context.engine().dispose()
    context.settings.cache_clear()
    context.engine.cache_clear()


def test_cli_imports_and_prints_counts(cli_env, tmp_path):
    path = write(tmp_path, "log.csv", "customer_id,date,amount\nc1,2026-03-01,10\n")
    result = CliRunner().invoke(app, ["import", "transactions", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 transactions rows, 1 new, 0 updated, 1 customers created" in result.output
    assert "Console summaries refreshed (orders through 2026-03-01)" in result.output


def test_cli_prints_problems_and_fails(cli_env, tmp_path):
    path = write(tmp_path, "log.csv", "customer_id,date,amount\nc1,2026-13-01,10\n")
    result = CliRunner().invoke(app, ["import", "transactions", str(path)])
    assert result.exit_code == 2
    assert "row 2, column date: '2026-13-01' is not a date YYYY-MM-DD" in result.output


def test_stock_without_stamp_is_stamped_with_the_import_time(shop, tmp_path, admin, now):
    load(shop, tmp_path, admin, now, "stock", "sku,on_hand,updated_at\nk1,5,2026-01-01T00:00:00Z\n")
    load(shop, tmp_path, admin, now, "stock", "sku,on_hand\nk1,7\n")
    table = metadata.tables["stock_levels"]
    with shop.connect() as conn:
        stamp = conn.execute(select(table.c.updated_at)).scalar_one()
    assert stamp == now


def test_a_bad_value_repeated_among_many_names_each_of_its_rows(engine, tmp_path, admin, now):
    # Mostly repeated values are parsed once per distinct value; a bad one still names its rows.
    leads = ["5", "5", "twelve", "5", "5", "twelve", "5", "5"]
    content = "supplier_id,name,lead_time_days\n" + "".join(
        f"s{i},Acme,{lead}\n" for i, lead in enumerate(leads)
    )
    error = rejected(engine, tmp_path, admin, now, "suppliers", content)
    assert [(p.row, p.column, p.reason) for p in error.problems] == [
        (4, "lead_time_days", "'twelve' is not a whole number"),
        (7, "lead_time_days", "'twelve' is not a whole number"),
    ]


def test_repeated_values_are_typed_as_each_row_alone_would_be(now):
    contract = CONTRACTS["transactions"]
    raw = pd.DataFrame(
        {
            "customer_id": [" c1", "c1", "c2", "c1 ", "c2", "c1"],
            "date": [
                "2025-01-02",
                "2025-01-02",
                "2024-12-31",
                "2025-01-02",
                "2024-12-31",
                "2025-01-02",
            ],
            "amount": ["12.5", "12.50", "0.1", "12.5", "0.1", "12.5"],
            "quantity": ["1", "1", "3", "1", "3", "1"],
        },
        dtype=str,
    )
    problems = Problems()
    typed = parse_frame(raw, contract, problems, now)
    assert not problems
    for column in contract.columns:
        if column.name in raw:
            alone = [
                parse_column(
                    as_text(raw[column.name].iloc[[i]], column.type), column, Problems(), now
                ).iloc[0]
                for i in range(len(raw))
            ]
            assert typed[column.name].tolist() == alone, column.name
    assert typed["customer_id"].tolist() == ["c1", "c1", "c2", "c1", "c2", "c1"]
    assert str(typed["quantity"].dtype) == "Int64" and typed["amount"].dtype == float


@pytest.mark.parametrize(
    "content",
    [
        "\ufeffcustomer_id,name\nc1,Ann\n",
        'customer_id,name\nc1,"Ann\nSmith"\nc2,""\n',
        "customer_id,name\n\nc1,Ann\n\n",
        "customer_id,name\nNA,null\nc2,\n",
        "customer_id,name\r\nc1,Ann\r\n",
        "customer_id , name\n c1 , Ann \n",
        '"customer_id","na,me"\nc1,x\n',
        "customer_id,name\n",
        "customer_id,name\nc1\n",
        "a,a\n1,2\n",
        'customer_id,name\nc1,"Ann',
    ],
)
def test_a_csv_file_reads_as_pandas_reads_it(tmp_path, content):
    # Arrow reads well-formed files; what it would read differently goes to pandas.
    path = write(tmp_path, "file.csv", content)
    try:
        expected = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.ParserError:
        with pytest.raises(pd.errors.ParserError):
            _read_csv(path)
        return
    assert_frame_equal(_read_csv(path), expected)
