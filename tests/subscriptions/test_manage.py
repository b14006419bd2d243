"""Managing subscriptions: who may, filters that fit each kind, names into ids (the
workspace's, learned, PMP's customers and projects), and subscribe / unsubscribe / edit on the
store."""

from __future__ import annotations

from typing import Any

import pytest

from bot.grammar import FilterTerm, SubscriptionRequest
from bot.names import TicketSettings
from bot.pmp import PmpConnectionError, PmpNotFoundError
from bot.storage import Database
from bot.storage.subscriptions import SubscriptionFilters, SubscriptionStore
from bot.subscriptions.manage import (
    FilterProblem,
    NameSources,
    ResolvedFilters,
    filter_labels,
    may_manage,
    name_sources,
    resolve_filters,
    subscribe,
    unsubscribe,
    update_subscription,
    with_records,
)


class TestWhoMay:
    def test_admins_always(self) -> None:
        assert may_manage(is_admin=True, members_may_subscribe=False, is_member=None) is None

    def test_members_only_when_allowed_and_in_the_channel(self) -> None:
        assert may_manage(is_admin=False, members_may_subscribe=False, is_member=True) == (
            "admins_only"
        )
        assert may_manage(is_admin=False, members_may_subscribe=True, is_member=False) == (
            "not_a_member"
        )
        assert may_manage(is_admin=False, members_may_subscribe=True, is_member=True) is None


def test_the_workspaces_names_win_over_learned_and_fresh_install_names() -> None:
    names = name_sources(
        TicketSettings(departments={1: "Support"}, priorities={3: "Urgent"}),
        TicketSettings(departments={1: "Old name", 2: "Sales"}, statuses={6: "Waiting"}),
    )
    assert names.departments == {1: "Support", 2: "Sales"}
    assert names.priorities[3] == "Urgent" and names.priorities[1] == "Low"
    assert names.statuses[6] == "Waiting" and names.statuses[1] == "Open"


class _Record:
    def __init__(self, record_id: int, name: str) -> None:
        self.id = record_id
        self.display_name = name


class _Resource:
    def __init__(self, records: dict[int, str], *, fail: Exception | None = None) -> None:
        self.records = records
        self.fail = fail
        self.calls: list[str] = []

    async def get(self, record_id: int) -> _Record:
        self.calls.append(f"get {record_id}")
        if self.fail is not None:
            raise self.fail
        if record_id not in self.records:
            raise PmpNotFoundError("no such record")
        return _Record(record_id, self.records[record_id])

    async def search(self, term: str) -> list[_Record]:
        self.calls.append(f"search {term}")
        if self.fail is not None:
            raise self.fail
        found = [_Record(i, n) for i, n in self.records.items() if term.casefold() in n.casefold()]
        if not found:
            raise PmpNotFoundError("No data were found")
        return found


class _Pmp:
    def __init__(self, **resources: _Resource) -> None:
        self.resources = resources

    def resource(self, kind: str) -> _Resource:
        return self.resources[kind]


NAMES = NameSources(departments={1: "Support", 2: "Second Line"})
CUSTOMERS = {12: "Acme Corporation", 13: "Acme Ltd", 20: "Globex"}


async def resolve(
    kind: Any, *terms: FilterTerm, pmp: Any = None, learn: Any = None
) -> ResolvedFilters | FilterProblem:
    return await resolve_filters(kind, list(terms), NAMES, pmp, learn=learn)


class TestResolvingFilters:
    async def test_ticket_names_and_numbers(self) -> None:
        resolved = await resolve(
            "tickets",
            FilterTerm("department", name="second-line"),
            FilterTerm("priority", name="HIGH"),
            FilterTerm("status", number=5),
        )
        assert resolved == ResolvedFilters(
            SubscriptionFilters(department=2, priority=3, status=5),
            (("department", "Second Line"), ("priority", "High"), ("status", "Closed")),
        )

    async def test_an_unknown_name_lists_the_known_ones_and_the_way_out(self) -> None:
        problem = await resolve("tickets", FilterTerm("department", name="Billing"))
        assert isinstance(problem, FilterProblem) and problem.key == "department"
        assert "“Billing”" in problem.text
        assert "Support (1), Second Line (2)" in problem.text
        assert "`department:2`" in problem.text and "/pmp settings" in problem.text

    async def test_a_name_nobody_knows_yet_is_learned_from_pmp_once(self) -> None:
        asked = []

        async def learn() -> NameSources:
            asked.append(1)
            return NameSources(departments={4: "Billing"})

        resolved = await resolve("tickets", FilterTerm("department", name="billing"), learn=learn)
        assert isinstance(resolved, ResolvedFilters)
        assert resolved.filters.department == 4 and asked == [1]

    async def test_a_filter_the_kind_has_not_is_refused_naming_the_ones_it_has(self) -> None:
        problem = await resolve("projects", FilterTerm("priority", name="high"))
        assert isinstance(problem, FilterProblem)
        assert problem.text == (
            "Projects can't be filtered by priority; they take `customer:`, `project:`."
        )
        problem = await resolve("leads", FilterTerm("customer", number=1))
        assert isinstance(problem, FilterProblem)
        assert problem.text == "Leads take no filters: leave out `customer:`."

    async def test_a_customer_number_is_checked_and_named(self) -> None:
        pmp = _Pmp(customer=_Resource(CUSTOMERS))
        resolved = await resolve("tickets", FilterTerm("customer", number=12), pmp=pmp)
        assert isinstance(resolved, ResolvedFilters)
        assert resolved.labels == (("customer", "Acme Corporation (#12)"),)
        problem = await resolve("tickets", FilterTerm("customer", number=99), pmp=pmp)
        assert isinstance(problem, FilterProblem)
        assert problem.text == "PMP has no customer number 99. Check the number."

    async def test_a_customer_name_must_name_one(self) -> None:
        pmp = _Pmp(customer=_Resource(CUSTOMERS))
        resolved = await resolve("tickets", FilterTerm("customer", name="globex"), pmp=pmp)
        assert isinstance(resolved, ResolvedFilters) and resolved.filters.customer_id == 20
        exact = await resolve("tickets", FilterTerm("customer", name="Acme Ltd"), pmp=pmp)
        assert isinstance(exact, ResolvedFilters) and exact.filters.customer_id == 13
        several = await resolve("tickets", FilterTerm("customer", name="acme"), pmp=pmp)
        assert isinstance(several, FilterProblem)
        assert "matches 2 customers" in several.text and "`customer:12`" in several.text
        none = await resolve("tickets", FilterTerm("customer", name="Initech"), pmp=pmp)
        assert isinstance(none, FilterProblem) and "No customer in PMP matches" in none.text

    async def test_pmp_out_of_reach_keeps_numbers_and_explains_names(self) -> None:
        pmp = _Pmp(project=_Resource({}, fail=PmpConnectionError("down")))
        kept = await resolve("tickets", FilterTerm("project", number=7), pmp=pmp)
        assert isinstance(kept, ResolvedFilters) and kept.labels == (("project", "#7"),)
        problem = await resolve("tickets", FilterTerm("project", name="Website"), pmp=pmp)
        assert isinstance(problem, FilterProblem)
        assert "Use its number, like `project:12`" in problem.text

    async def test_names_pmp_sends_are_escaped_in_problems(self) -> None:
        pmp = _Pmp(customer=_Resource({1: "<!channel> one", 2: "<!channel> two"}))
        problem = await resolve("tickets", FilterTerm("customer", name="<!channel>"), pmp=pmp)
        assert isinstance(problem, FilterProblem)
        assert "<!channel>" not in problem.text and "&lt;!channel&gt;" in problem.text


@pytest.fixture
def store(db: Database) -> SubscriptionStore:
    return SubscriptionStore(db)


async def test_subscribe_twice_keeps_one_and_takes_new_options(store: SubscriptionStore) -> None:
    request = SubscriptionRequest(kind="tickets")
    filters = SubscriptionFilters(priority=3)
    first = await subscribe(
        store,
        team_id="T1",
        enterprise_id=None,
        channel_id="C1",
        request=request,
        filters=filters,
        user_id="U1",
    )
    assert first.created
    again = await subscribe(
        store,
        team_id="T1",
        enterprise_id=None,
        channel_id="C1",
        request=request,
        filters=filters,
        user_id="U1",
    )
    assert not again.created and not again.changed
    fuller = await subscribe(
        store,
        team_id="T1",
        enterprise_id=None,
        channel_id="C1",
        request=SubscriptionRequest(kind="tickets", style="full", broadcast=True),
        filters=filters,
        user_id="U1",
    )
    assert fuller.changed and fuller.subscription.style == "full"
    assert fuller.subscription.broadcast_status is True
    assert len(await store.list_for_channel("T1", "C1")) == 1


async def test_unsubscribe_a_kind_its_filters_or_everything(store: SubscriptionStore) -> None:
    for kind, filters in [
        ("tickets", SubscriptionFilters()),
        ("tickets", SubscriptionFilters(priority=3)),
        ("leads", SubscriptionFilters()),
    ]:
        await store.add("T1", None, "C1", kind, filters, created_by="U1")  # type: ignore[arg-type]
    await store.add("T1", None, "C2", "tickets", SubscriptionFilters(), created_by="U1")

    async def stop(request: SubscriptionRequest, filters: Any = None) -> list[str]:
        removed = await unsubscribe(
            store, team_id="T1", channel_id="C1", request=request, filters=filters
        )
        return [f"{s.kind}:{s.filters.key()}" for s in removed]

    assert await stop(SubscriptionRequest(kind="tickets"), SubscriptionFilters(priority=3)) == [
        "tickets:|3|||"
    ]
    assert await stop(SubscriptionRequest(kind="tickets"), SubscriptionFilters(priority=3)) == []
    assert await stop(SubscriptionRequest(every_kind=True)) == ["leads:||||", "tickets:||||"]
    # Another channel keeps its own.
    assert len(await store.list_for_channel("T1", "C2")) == 1


async def test_an_edit_onto_filters_the_channel_has_is_explained(
    store: SubscriptionStore,
) -> None:
    kept, _ = await store.add("T1", None, "C1", "tickets", SubscriptionFilters(), created_by="U1")
    other, _ = await store.add(
        "T1", None, "C1", "tickets", SubscriptionFilters(priority=3), created_by="U1"
    )
    clash = await update_subscription(
        store,
        "T1",
        other.id,
        filters=SubscriptionFilters(),
        broadcast_status=False,
        style="compact",
    )
    assert isinstance(clash, FilterProblem) and "already has" in clash.text
    gone = await update_subscription(
        store, "T1", 999, filters=SubscriptionFilters(), broadcast_status=False, style="full"
    )
    assert gone is None
    saved = await update_subscription(
        store,
        "T1",
        kept.id,
        filters=SubscriptionFilters(department=2),
        broadcast_status=True,
        style="full",
    )
    assert not isinstance(saved, FilterProblem) and saved is not None
    assert saved.filters.department == 2 and saved.style == "full"


async def test_stored_customers_and_projects_are_named_by_pmp_where_it_can() -> None:
    def sub(**filters: int) -> Any:
        return type("Sub", (), {"filters": SubscriptionFilters(**filters)})()

    pmp = _Pmp(customer=_Resource(CUSTOMERS), project=_Resource({7: "Website"}))
    subs = [sub(customer_id=12, project_id=7), sub(customer_id=99), sub(priority=3)]
    names = await with_records(NAMES, subs, pmp)  # type: ignore[arg-type]
    assert filter_labels(SubscriptionFilters(customer_id=12, project_id=7), names) == (
        ("customer", "Acme Corporation (#12)"),
        ("project", "Website (#7)"),
    )
    # A customer PMP doesn't have keeps its number.
    assert filter_labels(SubscriptionFilters(customer_id=99), names) == (("customer", "#99"),)
    assert sorted(pmp.resources["customer"].calls) == ["get 12", "get 99"]
