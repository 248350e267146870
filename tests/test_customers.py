from datetime import date

from sqlmodel import Session

from core import customers
from tests import factories

AS_OF = date(2026, 6, 1)


def _population(engine):
    factories.small_catalogue(engine)
    factories.scored_customers(
        engine,
        AS_OF,
        [
            ("C1", "high", 0.9, 100.0),
            ("C2", "high", 0.8, 300.0),
            ("C3", "medium", 0.5, 50.0),
            ("C4", "low", 0.1, 900.0),
        ],
    )


def test_list_is_empty_before_any_scoring(engine):
    with Session(engine) as session:
        page = customers.at_risk(session, filters=customers.AtRiskFilter(), today=AS_OF)
    assert page.as_of is None and page.total == 0 and page.rows.empty


def test_default_list_is_high_and_medium_by_value_at_risk(engine):
    _population(engine)
    with Session(engine) as session:
        page = customers.at_risk(session, filters=customers.AtRiskFilter(), today=AS_OF)
    assert list(page.rows["customer_id"]) == ["C2", "C1", "C3"]
    assert page.total == 3
    assert page.rows.iloc[0]["reasons"] == "reason for C2"


def test_paging_and_sorting_happen_in_sql(engine):
    _population(engine)
    filters = customers.AtRiskFilter(risk_bands=())
    with Session(engine) as session:
        first = customers.at_risk(
            session, filters=filters, today=AS_OF, sort="churn probability", page_size=2
        )
        second = customers.at_risk(
            session, filters=filters, today=AS_OF, sort="churn probability", page=2, page_size=2
        )
    assert list(first.rows["customer_id"]) == ["C1", "C2"]
    assert list(second.rows["customer_id"]) == ["C3", "C4"]
    assert first.total == 4 and first.pages == 2


def test_filters_by_value_category_and_late_orders(engine):
    _population(engine)
    factories.order(
        engine, "O1", "C1", date(2026, 5, 1), date(2026, 5, 5), date(2026, 5, 12), sku="PAINT-1"
    )
    factories.order(
        engine, "O2", "C2", date(2026, 5, 1), date(2026, 5, 5), date(2026, 5, 4), sku="YARN-1"
    )
    with Session(engine) as session:
        valuable = customers.at_risk(
            session, filters=customers.AtRiskFilter(min_expected_value=200), today=AS_OF
        )
        painters = customers.at_risk(
            session, filters=customers.AtRiskFilter(category="paints"), today=AS_OF
        )
        delayed = customers.at_risk(
            session, filters=customers.AtRiskFilter(delayed_within_days=90), today=AS_OF
        )
    assert list(valuable.rows["customer_id"]) == ["C2"]
    assert list(painters.rows["customer_id"]) == ["C1"]
    assert list(delayed.rows["customer_id"]) == ["C1"]


def test_story_tells_orders_delays_and_surveys(engine):
    _population(engine)
    factories.order(engine, "O1", "C1", date(2026, 5, 1), date(2026, 5, 5), date(2026, 5, 12))
    factories.survey(engine, "R1", "C1", date(2026, 5, 13), 3)
    with Session(engine) as session:
        story = customers.story(session, customer_id="C1")
        missing = customers.story(session, customer_id="nobody")
    assert missing is None
    assert story.score.risk_band == "high"
    assert story.orders.iloc[0]["days_late"] == 7
    assert list(story.surveys["score"]) == [3]
    assert story.reasons == ["reason for C1"]


def test_page_lists_the_at_risk_customers(engine, monkeypatch):
    from core.roles import Actor, Role
    from tests import pages

    _population(engine)
    pages.use_database(monkeypatch, engine)
    test = pages.page("customers", Actor("pat", Role.PLANNER))
    test.run()
    assert not test.exception
    assert list(test.dataframe[0].value["customer_id"]) == ["C2", "C1", "C3"]
    assert "3 customers match" in test.caption[0].value


def test_matches_are_counted_up_to_the_limit(engine):
    _population(engine)
    with Session(engine) as session:
        page = customers.at_risk(
            session,
            filters=customers.AtRiskFilter(risk_bands=()),
            today=AS_OF,
            page_size=1,
            count_limit=2,
        )
        exact = customers.at_risk(
            session, filters=customers.AtRiskFilter(), today=AS_OF, count_limit=3
        )
    assert (page.total, page.more, page.pages, page.total_text) == (2, True, 2, "more than 2")
    assert list(page.rows["customer_id"]) == ["C2"]
    assert (exact.total, exact.more, exact.total_text) == (3, False, "3")


def test_category_filter_reads_the_summary_and_orders_since(engine):
    from datetime import UTC, datetime

    from core import summaries
    from core.roles import SYSTEM

    _population(engine)
    factories.order(engine, "O1", "C1", date(2026, 5, 1), date(2026, 5, 5), None, sku="PAINT-1")
    with Session(engine) as session:
        summaries.refresh(session, actor=SYSTEM, now=datetime(2026, 5, 2, tzinfo=UTC))
        session.commit()
    # Bought after the refresh: found among the orders placed since its newest day.
    factories.order(engine, "O2", "C3", date(2026, 5, 20), date(2026, 5, 25), None, sku="PAINT-1")
    factories.order(engine, "O3", "C2", date(2026, 5, 20), date(2026, 5, 25), None, sku="YARN-1")
    with Session(engine) as session:
        painters = customers.at_risk(
            session, filters=customers.AtRiskFilter(category="paints"), today=AS_OF
        )
    assert list(painters.rows["customer_id"]) == ["C1", "C3"]


def test_search_by_id_prefix(engine):
    _population(engine)
    with Session(engine) as session:
        found = customers.at_risk(
            session, filters=customers.AtRiskFilter(risk_bands=(), search=" C3 "), today=AS_OF
        )
        none = customers.at_risk(session, filters=customers.AtRiskFilter(search="C9"), today=AS_OF)
    assert list(found.rows["customer_id"]) == ["C3"]
    assert none.total == 0 and none.rows.empty


def test_regions_are_listed_once_in_order_without_blanks(engine):
    from core.tables import Customer
    from tests import console_factories

    console_factories.add(
        engine,
        [
            Customer(customer_id=c, region=r)
            for c, r in [("A", "West"), ("B", None), ("C", "East"), ("D", ""), ("E", "West")]
        ],
    )
    with Session(engine) as session:
        assert customers.regions(session) == ["East", "West"]


def test_many_or_few_matches_list_the_same_page(engine):
    """Past the count limit the sort's index is walked (late orders probed per score); within
    it the matches are found from the filters and sorted: both give the same pages."""
    _population(engine)
    for number, customer in enumerate(["C1", "C2", "C3", "C4"]):
        factories.order(
            engine, f"L{number}", customer, date(2026, 5, 1), date(2026, 5, 5), date(2026, 5, 9)
        )
    factories.order(engine, "L9", "C1", date(2026, 5, 2), date(2026, 5, 6), date(2026, 5, 9))
    filters = customers.AtRiskFilter(risk_bands=(), delayed_within_days=90)
    with Session(engine) as session:
        for sort in customers.SORTS:
            pages = {
                limit: [
                    customers.at_risk(
                        session,
                        filters=filters,
                        today=AS_OF,
                        sort=sort,
                        page=page,
                        page_size=3,
                        count_limit=limit,
                    )
                    for page in (1, 2)
                ]
                for limit in (2, 1_000)
            }
            many, few = pages[2], pages[1_000]
            assert [p.more for p in many] == [True, True] and not few[0].more
            assert few[0].total == 4  # C1's two late orders count once
            for a, b in zip(many, few, strict=True):
                assert list(a.rows["customer_id"]) == list(b.rows["customer_id"])
            assert sorted([*few[0].rows["customer_id"], *few[1].rows["customer_id"]]) == [
                "C1",
                "C2",
                "C3",
                "C4",
            ]
