"""Every write route runs its command through the use case with the request's principal
(ADR 0037): the object check is the use case's, so a route cannot forget it. A route that
called the workshop another way would skip it: this test names every write route's path."""

from __future__ import annotations

import inspect
from uuid import uuid4

from regenzet.entrypoints.http.policy import POLICY, SIGNED_OPERATIONS

from .conftest import Api, customer_id
from .test_authorization import (
    LEAF_ORDER,
    LINK_OPERATIONS,
    READ_ONLY_POSTS,
    api_routes,
    shared_api,
)

__all__ = ["shared_api"]


def test_every_write_route_submits_its_command_for_the_principal(shared_api: Api) -> None:
    writes = {}
    for method, _, handler in api_routes(shared_api):
        if method == "GET" or str(handler.operation_id) in READ_ONLY_POSTS | SIGNED_OPERATIONS:
            continue  # the signed upload route stores bytes: no command, no record
        fn = getattr(handler.fn, "func", handler.fn)  # sync handlers run in a thread
        writes[str(handler.operation_id)] = inspect.getsource(fn)
    assert len(writes) == 46  # 44 commands; approve and decline also by link
    by_link = {op for op in writes if op in LINK_OPERATIONS}
    assert by_link == {"approveJobByLink", "declineJobByLink"}
    # By link: the decision is QuoteApprovals', which runs it for the link's holder.
    assert [op for op in by_link if "approvals." not in writes[op]] == []
    assert [op for op in set(writes) - by_link if "writes.submit(" not in writes[op]] == []
    assert [op for op in set(writes) - by_link if "services.workshop" in writes[op]] == []
    assert set(writes) - by_link <= set(POLICY)


def test_a_reused_key_on_another_customers_order_is_still_the_404(sqlite_api: Api) -> None:
    # The object check runs inside the keyed write now; refusing a record out of reach is
    # answered at once (404), as when the controller checked before the write, not looked up
    # as a possible replay (which would answer 422 "key reused").
    key = {"Idempotency-Key": "sanne-1"}
    own = f"/api/v1/customers/{customer_id('sanne')}/contact"
    first = sqlite_api.client.post(
        own, json={"email": "sanne@new.example"}, headers=sqlite_api.auth("sanne", **key)
    )
    assert first.status_code == 200, first.text
    for path, body in (
        (f"/api/v1/customers/{customer_id('lukas')}/contact", {"email": "x@example.nl"}),
        (f"/api/v1/repair-orders/{LEAF_ORDER}/jobs/balance/approve", {}),
        (f"/api/v1/repair-orders/{uuid4()}/jobs/balance/approve", {}),
    ):
        stolen = sqlite_api.client.post(path, json=body, headers=sqlite_api.auth("sanne", **key))
        assert stolen.status_code == 404, (path, stolen.text)
