"""The marketplace's own data: customers, catalogue, stock, orders and what follows them.

Natural keys are kept as imported (strings), so that an export speaks the shop's own ids
and a re-import of the same rows updates them in place.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel


class Customer(SQLModel, table=True):
    __tablename__ = "customers"

    customer_id: str = Field(primary_key=True)
    name: str | None = None
    email: str | None = None
    region: str | None = None
    signup_date: date | None = None
    consent_email: bool = True
    consent_sms: bool = False
    consent_post: bool = True


class Supplier(SQLModel, table=True):
    __tablename__ = "suppliers"

    supplier_id: str = Field(primary_key=True)
    name: str
    lead_time_days: int
    status: str = "ok"  # ok | delayed | disrupted
    country: str | None = None


class Product(SQLModel, table=True):
    __tablename__ = "products"

    sku: str = Field(primary_key=True)
    name: str
    category: str = Field(index=True)
    line: str | None = None  # a product line within a category; substitutes share it
    supplier_id: str = Field(foreign_key="suppliers.supplier_id", index=True)
    price: float
    unit_cost: float
    is_consumable: bool = False
    replenishment_days: int | None = None
    reorder_point: int = 0
    active: bool = True


class StockLevel(SQLModel, table=True):
    __tablename__ = "stock_levels"

    sku: str = Field(primary_key=True, foreign_key="products.sku")
    on_hand: int
    updated_at: datetime


class InboundOrder(SQLModel, table=True):
    """A purchase order from a supplier, on its way in."""

    __tablename__ = "inbound_orders"

    po_id: str = Field(primary_key=True)
    sku: str = Field(foreign_key="products.sku", index=True)
    quantity: int
    ordered_date: date
    expected_date: date
    received_date: date | None = None


class Order(SQLModel, table=True):
    __tablename__ = "orders"

    order_id: str = Field(primary_key=True)
    # Found through ix_orders_customer_status_date (core.console_indexes), which starts with it.
    customer_id: str = Field(foreign_key="customers.customer_id")
    ordered_date: date = Field(index=True)
    promised_date: date | None = None
    delivered_date: date | None = None
    status: str = "delivered"  # placed | shipped | delivered | cancelled
    amount: float = 0.0  # what the customer paid, after discounts
    discount_amount: float = 0.0


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_lines"
    # On SQLite the rows live in their key's tree (no rowid and no second tree for the key):
    # order lines are small, found by order, and have no other index.
    __table_args__ = {"sqlite_with_rowid": False}

    order_id: str = Field(primary_key=True, foreign_key="orders.order_id")
    line_no: int = Field(primary_key=True)
    # No index: no query finds order lines by SKU, and products are never deleted.
    sku: str | None = Field(default=None, foreign_key="products.sku")
    quantity: int = 1
    unit_price: float = 0.0
    discount_amount: float = 0.0
    backordered: bool = False  # the SKU was out of stock when ordered


class Return(SQLModel, table=True):
    __tablename__ = "returns"

    return_id: str = Field(primary_key=True)
    order_id: str = Field(foreign_key="orders.order_id", index=True)
    sku: str | None = Field(default=None, foreign_key="products.sku")
    quantity: int = 1
    returned_date: date
    reason: str | None = None


class SupportTicket(SQLModel, table=True):
    __tablename__ = "support_tickets"

    ticket_id: str = Field(primary_key=True)
    customer_id: str = Field(foreign_key="customers.customer_id", index=True)
    order_id: str | None = Field(default=None, foreign_key="orders.order_id")
    opened_date: date
    topic: str = "other"  # late_delivery | damaged | wrong_item | billing | other
    is_complaint: bool = False
    resolved_date: date | None = None


class SurveyResponse(SQLModel, table=True):
    __tablename__ = "survey_responses"

    response_id: str = Field(primary_key=True)
    customer_id: str = Field(foreign_key="customers.customer_id", index=True)
    order_id: str | None = Field(default=None, foreign_key="orders.order_id")
    responded_date: date
    score: int  # 0-10
    comment: str | None = None


class BrowsingEvent(SQLModel, table=True):
    __tablename__ = "browsing_events"

    event_id: str = Field(primary_key=True)
    customer_id: str = Field(foreign_key="customers.customer_id", index=True)
    sku: str | None = Field(default=None, foreign_key="products.sku")
    event_date: date
    event_type: str = "view"  # view | cart | search
