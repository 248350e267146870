"""Formatting numbers for people."""

from __future__ import annotations


def count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def money(value: float | None) -> str:
    return "-" if value is None else f"${value:,.0f}"


def campaign(campaign_type: str) -> str:
    """A campaign type in words: "cross_sell" -> "Cross sell"."""
    return campaign_type.replace("_", " ").capitalize()
