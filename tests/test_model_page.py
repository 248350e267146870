"""The model page: the active version with its baselines, calibration and drivers."""

from __future__ import annotations

import pytest

from core import model_store, training
from core.roles import SYSTEM
from tests import pages
from tests.churn_data import END, generate


@pytest.fixture(scope="module")
def result():
    return training.train(generate(1200, seed=5), as_of=END, seed=1, nthread=1)


def test_without_a_model_the_page_says_how_to_get_one(engine, monkeypatch, manager):
    pages.use_database(monkeypatch, engine)
    page = pages.page("model", manager).run()
    assert not page.exception
    assert "easel score" in page.info[0].value


def test_the_page_shows_the_active_version_next_to_its_baselines(
    engine, session, monkeypatch, manager, result, now
):
    version = model_store.save_version(session, actor=SYSTEM, result=result, as_of=END, now=now)
    session.commit()
    pages.use_database(monkeypatch, engine)
    page = pages.page("model", manager).run()
    assert not page.exception
    assert page.metric[0].value == str(version.id)
    shown = page.dataframe[0].value
    assert {"XGBoost (this version)", "baseline: bgnbd", "baseline: rfm"} <= set(shown["model"])
