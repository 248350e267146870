"""Which pages each role sees: a page the role may not open is neither listed nor reachable."""

from __future__ import annotations

from dataclasses import dataclass

from core.roles import Actor, Permission

P = Permission


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    icon: str
    section: str
    permission: Permission | None = None  # None: every signed-in person


PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/overview.py", "Overview", ":material/dashboard:", "This week"),
    PageSpec(
        "pages/customers.py", "At-risk customers", ":material/group:", "This week", P.VIEW_CUSTOMERS
    ),
    PageSpec(
        "pages/campaigns.py",
        "Campaign approval",
        ":material/campaign:",
        "This week",
        P.APPROVE_CAMPAIGNS,
    ),
    PageSpec(
        "pages/inventory.py",
        "Inventory and suppliers",
        ":material/inventory_2:",
        "This week",
        P.PAUSE_OFFERS,
    ),
    PageSpec("pages/results.py", "Results", ":material/insights:", "Review", P.READ_AUDIT),
    PageSpec("pages/audit.py", "Audit trail", ":material/fact_check:", "Review", P.READ_AUDIT),
    PageSpec("pages/model.py", "Model", ":material/model_training:", "Review", P.READ_AUDIT),
    PageSpec("pages/job_runs.py", "Jobs", ":material/schedule:", "Admin", P.RUN_JOBS),
    PageSpec("pages/users.py", "Users", ":material/manage_accounts:", "Admin", P.MANAGE_USERS),
    PageSpec("pages/erasure.py", "Erasure", ":material/person_remove:", "Admin", P.ERASE_CUSTOMERS),
)


def pages_for(actor: Actor) -> list[PageSpec]:
    """The pages this person may open, in menu order."""
    return [p for p in PAGES if p.permission is None or actor.can(p.permission)]
