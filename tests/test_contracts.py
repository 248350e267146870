"""The import contracts agree with the tables and with docs/import.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.contracts import CONTRACTS, TYPE_WORDS, contract_for, render_docs
from core.errors import InvalidInput
from core.schema import metadata

DOCS = Path(__file__).resolve().parent.parent / "docs" / "import.md"


@pytest.mark.parametrize("kind", list(CONTRACTS))
def test_every_column_of_every_kind_is_documented(kind):
    docs = DOCS.read_text(encoding="utf-8")
    assert f"## `{kind}`" in docs
    for column in CONTRACTS[kind].columns:
        assert f"| `{column.name}` |" in docs, f"{kind}.{column.name} is not in docs/import.md"


def test_docs_are_generated_from_the_contracts():
    assert DOCS.read_text(encoding="utf-8") == render_docs(), (
        "run: python -m core.contracts > docs/import.md"
    )


@pytest.mark.parametrize(
    "contract", [c for c in CONTRACTS.values() if c.table], ids=lambda c: c.kind
)
def test_contract_columns_are_table_columns(contract):
    table = metadata.tables[contract.table]
    assert set(contract.names) <= set(table.columns.keys())
    assert tuple(c.name for c in table.primary_key.columns) == contract.primary_key
    required_by_table = {c.name for c in table.columns if not c.nullable}
    for column in contract.columns:
        if column.name in required_by_table:
            assert column.required or column.default is not None, f"{contract.kind}.{column.name}"


@pytest.mark.parametrize("contract", list(CONTRACTS.values()), ids=lambda c: c.kind)
def test_rules_name_real_columns_and_kinds(contract):
    for column in contract.columns:
        assert column.type in TYPE_WORDS
        if column.references:
            kind, key = column.references
            assert key in contract_for(kind).names
    for rule in contract.date_orders:
        assert {rule.later, rule.earlier} <= set(contract.names)
    for rule in contract.foreign_date_orders:
        assert rule.other in contract_for(rule.kind).names


def test_unknown_kind_names_the_known_ones():
    with pytest.raises(InvalidInput, match="customers"):
        contract_for("widgets")
