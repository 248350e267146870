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
            parts.append(
                "empty or absent: " + ("none" if self.default is None else str(self.default))
            )
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
                _c("updated_at", "datetime", default=IMPORT_TIME, note="without a zone: UTC"),
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
