"""The column contract of each import kind, declared once as data (docs/import.md is made from it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.errors import InvalidInput

# A default that means "the time of the import" (for updated_at stamps).
IMPORT_TIME = "import time"

TYPE_WORDS = {
    "str": "text",
    "int": "whole number",
    "float": "number",
    "bool": "true/false",
    "date": "date YYYY-MM-DD",
    "datetime": "date-time ISO 8601",
}

EARLIEST_DATE = "1990-01-01"
FUTURE_DAYS = 365  # dates more than this many days after the import are taken for typos


@dataclass(frozen=True)
class Column:
    """One column of a kind: its type, whether it must be given, and the rules its values follow."""

    name: str
    type: str
    required: bool = False
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    pattern: str | None = None  # a regular expression the whole value must match
    references: tuple[str, str] | None = None  # (kind, column) that must hold the value
    note: str = ""

    def rule(self) -> str:
        """The column's rules in words, for the documentation."""
        parts = []
        if not self.required:
            default = self.default
            if isinstance(default, bool):
                default = str(default).lower()
            parts.append("default: " + ("empty" if default is None else str(default)))
        if self.minimum is not None and self.maximum is not None:
            parts.append(f"{self.minimum:g} to {self.maximum:g}")
        elif self.minimum is not None:
            parts.append("not negative" if self.minimum == 0 else f"at least {self.minimum:g}")
        if self.choices:
            parts.append("one of " + ", ".join(self.choices))
        if self.pattern:
            parts.append("must look like an e-mail address")
        if self.references:
            kind, column = self.references
            parts.append(f"must be a known {kind}.{column}")
        if self.note:
            parts.append(self.note)
        return "; ".join(parts)


@dataclass(frozen=True)
class DateOrder:
    """`later` may not be before `earlier` in the same row (when both are given)."""

    later: str
    earlier: str


@dataclass(frozen=True)
class ForeignDateOrder:
    """`column` may not be before `other` of the row that `via` points to in `kind`, if known."""

    column: str
    via: str
    kind: str
    other: str


@dataclass(frozen=True)
class Contract:
    """What a file of one kind must look like."""

    kind: str
    table: str | None  # None: the kind is spread over several tables (transactions)
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    date_orders: tuple[DateOrder, ...] = ()
    foreign_date_orders: tuple[ForeignDateOrder, ...] = field(default=())

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(name: str, type_: str, **rules: Any) -> Column:
    return Column(name, type_, **rules)


def _req(name: str, type_: str, **rules: Any) -> Column:
    return Column(name, type_, required=True, **rules)


SUPPLIER_STATUS = ("ok", "delayed", "disrupted")
ORDER_STATUS = ("placed", "shipped", "delivered", "cancelled")
TICKET_TOPICS = ("late_delivery", "damaged", "wrong_item", "billing", "other")
EVENT_TYPES = ("view", "cart", "search")
EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"

CONTRACTS: dict[str, Contract] = {
    c.kind: c
    for c in (
        Contract(
            "customers",
            "customers",
            "Customers, with their consent per channel.",
            (
                _req("customer_id", "str"),
                _c("name", "str"),
                _c("email", "str", pattern=EMAIL),
                _c("region", "str"),
                _c("signup_date", "date"),
                _c("consent_email", "bool", default=True),
                _c("consent_sms", "bool", default=False),
                _c("consent_post", "bool", default=True),
            ),
            ("customer_id",),
        ),
        Contract(
            "suppliers",
            "suppliers",
            "Suppliers, their lead time and current status.",
            (
                _req("supplier_id", "str"),
                _req("name", "str"),
                _req("lead_time_days", "int", minimum=0),
                _c("status", "str", default="ok", choices=SUPPLIER_STATUS),
                _c("country", "str"),
            ),
            ("supplier_id",),
        ),
        Contract(
            "products",
            "products",
            "The catalogue: one row per SKU.",
            (
                _req("sku", "str"),
                _req("name", "str"),
                _req("category", "str"),
                _c("line", "str", note="a product line; SKUs of one line substitute each other"),
                _req("supplier_id", "str", references=("suppliers", "supplier_id")),
                _req("price", "float", minimum=0),
                _req("unit_cost", "float", minimum=0),
                _c("is_consumable", "bool", default=False),
                _c("replenishment_days", "int", minimum=1, note="typical days between re-buys"),
                _c("reorder_point", "int", default=0, minimum=0),
                _c("active", "bool", default=True),
            ),
            ("sku",),
        ),
        Contract(
            "stock",
            "stock_levels",
            "Stock on hand per SKU.",
            (
                _req("sku", "str", references=("products", "sku")),
                _req("on_hand", "int", minimum=0),
                _c(
                    "updated_at",
                    "datetime",
                    default=IMPORT_TIME,
                    note="without a zone: UTC; when the column is left out, every row gets the import time",
                ),
            ),
            ("sku",),
        ),
        Contract(
            "inbound",
            "inbound_orders",
            "Purchase orders from suppliers, on their way in.",
            (
                _req("po_id", "str"),
                _req("sku", "str", references=("products", "sku")),
                _req("quantity", "int", minimum=1),
                _req("ordered_date", "date"),
                _req("expected_date", "date", note="not before ordered_date"),
                _c("received_date", "date", note="not before ordered_date"),
            ),
            ("po_id",),
            (
                DateOrder("expected_date", "ordered_date"),
                DateOrder("received_date", "ordered_date"),
            ),
        ),
        Contract(
            "orders",
            "orders",
            "Customer orders (their lines are the order_lines kind).",
            (
                _req("order_id", "str"),
                _req("customer_id", "str", references=("customers", "customer_id")),
                _req("ordered_date", "date"),
                _c("promised_date", "date", note="not before ordered_date"),
                _c("delivered_date", "date", note="not before ordered_date"),
                _c("status", "str", default="delivered", choices=ORDER_STATUS),
                _c("amount", "float", default=0.0, minimum=0, note="paid, after discounts"),
                _c("discount_amount", "float", default=0.0, minimum=0),
            ),
            ("order_id",),
            (
                DateOrder("promised_date", "ordered_date"),
                DateOrder("delivered_date", "ordered_date"),
            ),
        ),
        Contract(
            "order_lines",
            "order_lines",
            "The lines of orders; the order must be imported first.",
            (
                _req("order_id", "str", references=("orders", "order_id")),
                _req("line_no", "int", minimum=1),
                _c("sku", "str", references=("products", "sku")),
                _c("quantity", "int", default=1, minimum=1),
                _c("unit_price", "float", default=0.0, minimum=0),
                _c("discount_amount", "float", default=0.0, minimum=0),
                _c("backordered", "bool", default=False, note="the SKU was out of stock"),
            ),
            ("order_id", "line_no"),
        ),
        Contract(
            "returns",
            "returns",
            "Returned items.",
            (
                _req("return_id", "str"),
                _req("order_id", "str", references=("orders", "order_id")),
                _c("sku", "str", references=("products", "sku")),
                _c("quantity", "int", default=1, minimum=1),
                _req("returned_date", "date", note="not before the order's ordered_date"),
                _c("reason", "str"),
            ),
            ("return_id",),
            foreign_date_orders=(
                ForeignDateOrder("returned_date", "order_id", "orders", "ordered_date"),
            ),
        ),
        Contract(
            "tickets",
            "support_tickets",
            "Support tickets and complaints.",
            (
                _req("ticket_id", "str"),
                _req("customer_id", "str", references=("customers", "customer_id")),
                _c("order_id", "str", references=("orders", "order_id")),
                _req("opened_date", "date"),
                _c("topic", "str", default="other", choices=TICKET_TOPICS),
                _c("is_complaint", "bool", default=False),
                _c("resolved_date", "date", note="not before opened_date"),
            ),
            ("ticket_id",),
            (DateOrder("resolved_date", "opened_date"),),
        ),
        Contract(
            "surveys",
            "survey_responses",
            "Survey answers: a 0-10 score, perhaps about one order.",
            (
                _req("response_id", "str"),
                _req("customer_id", "str", references=("customers", "customer_id")),
                _c("order_id", "str", references=("orders", "order_id")),
                _req("responded_date", "date"),
                _req("score", "int", minimum=0, maximum=10),
                _c("comment", "str"),
            ),
            ("response_id",),
        ),
        Contract(
            "browsing",
            "browsing_events",
            "Browsing events (optional data).",
            (
                _req("event_id", "str"),
                _req("customer_id", "str", references=("customers", "customer_id")),
                _c("sku", "str", references=("products", "sku")),
                _req("event_date", "date"),
                _c("event_type", "str", default="view", choices=EVENT_TYPES),
            ),
            ("event_id",),
        ),
        Contract(
            "transactions",
            None,
            "A plain purchase log for a shop that has nothing else: creates customers, "
            "one order per row and one order line without SKU.",
            (
                _req("customer_id", "str", note="created when new"),
                _req("date", "date"),
                _req(
                    "amount",
                    "float",
                    minimum=0,
                    note="refunds (negative amounts) are refused: import them as returns",
                ),
                _c("quantity", "int", default=1, minimum=1),
                _c("order_id", "str", note="derived from the row when empty (see below)"),
            ),
            ("order_id",),
        ),
    )
}

KINDS = tuple(CONTRACTS)


def contract_for(kind: str) -> Contract:
    """The contract of a kind; a readable error names the known kinds."""
    try:
        return CONTRACTS[kind]
    except KeyError:
        raise InvalidInput(f"Unknown kind {kind!r}; known kinds: {', '.join(KINDS)}.") from None


GENERAL_RULES = """\
# Importing data

`easel import KIND PATH [--as USER]` loads one file of one kind into the database. This page is
generated from `core/contracts.py` (`python -m core.contracts > docs/import.md`); a test checks
that it names every column of every kind.

## General rules

- **Files**: `.csv` (UTF-8, a BOM is allowed, comma-separated, one header row) or `.parquet`
  (`.pq`); any other extension is refused. Column names are matched ignoring case and
  surrounding spaces; values are trimmed, and an empty cell is "no value" (the text `NA` is
  kept as text).
- **Columns**: every required column must be present; a column the kind does not know is
  refused (a misspelt optional column would otherwise be dropped without a word). Optional
  columns may be left out.
- **Types**: text; whole numbers; numbers (`.` as decimal point, no thousands separator);
  true/false written `true`/`false`, `yes`/`no` or `1`/`0` (any case); dates as ISO
  `YYYY-MM-DD`; date-times as ISO 8601 (without a zone they are taken as UTC). Choices are
  matched ignoring case and stored in lower case.
- **Dates that make no sense** are refused: before 1990-01-01, or more than 365 days after the
  day of the import; and the order rules listed per kind (e.g. delivered before ordered).
- **Keys**: a key repeated within the file is refused. A reference (e.g. an order's
  `customer_id`) must name a row already in the database; import in this order: suppliers,
  products, stock, inbound, customers, orders, order_lines, returns, tickets, surveys,
  browsing.
- **Row numbers** in messages count as a spreadsheet does: the header is row 1, the first data
  row is row 2 (for Parquet too: its first record is row 2).
- **All or nothing**: every row is checked before anything is written. A file with problems is
  refused whole: the message lists the first 20 problems (row, column, reason) and the total
  count, and the database is unchanged. A good file is written in one transaction with one
  audit event (`data.import`).
- **Upsert**: rows are matched on their key. A re-import of the same rows updates them and
  never duplicates. An empty optional cell takes the default shown; an optional column left
  out of the file keeps the stored value of rows that already exist (new rows get the default).
- Who may import: the `admin` role (and the system's jobs).
"""

TRANSACTIONS_NOTE = """\
`transactions` is a plain purchase log for a shop that has nothing else. Each row becomes one
order (status `delivered`, ordered on `date`, paid `amount`) with one order line without SKU
(`quantity`, unit price `amount / quantity`). Customers not yet known are created with
`signup_date` = their first date in the file and the customers' defaults (consent as in the
customers kind). When `order_id` is empty, it is derived: `tx-` and a hash of `customer_id`,
`date`, `amount`, `quantity` and the row's occurrence among identical rows of the file, so two
identical purchases on a day stay two orders and re-importing the same log updates instead of
duplicating. Give `order_id` when the log may later be corrected (a changed amount makes a new
derived id). An `order_id` may appear once per file. Negative amounts (refunds) are refused:
import them as returns.
"""


def render_docs() -> str:
    """docs/import.md: the general rules and a table per kind."""
    parts = [GENERAL_RULES]
    for contract in CONTRACTS.values():
        table = f"table `{contract.table}`" if contract.table else "several tables"
        parts.append(f"## `{contract.kind}` ({table})\n\n{contract.description}\n")
        key = ", ".join(contract.primary_key)
        parts.append(f"Key: `{key}`.\n")
        parts.append("| column | type | required | rule |\n|---|---|---|---|")
        for c in contract.columns:
            required = "yes" if c.required else "no"
            parts.append(f"| `{c.name}` | {TYPE_WORDS[c.type]} | {required} | {c.rule()} |")
        parts.append("")
        if contract.kind == "transactions":
            parts.append(TRANSACTIONS_NOTE)
    return "\n".join(parts)


if __name__ == "__main__":
    print(render_docs(), end="")
