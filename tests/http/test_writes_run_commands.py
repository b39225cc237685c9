"""Every write route runs its command through the use case with the request's principal
(ADR 0037): the object check is the use case's, so a route cannot forget it. A route that
called the workshop another way would skip it: this test names every write route's path."""

from __future__ import annotations

import inspect

from regenzet.entrypoints.http.policy import POLICY

from .conftest import Api
from .test_authorization import LINK_OPERATIONS, READ_ONLY_POSTS, api_routes, shared_api

__all__ = ["shared_api"]


def test_every_write_route_submits_its_command_for_the_principal(shared_api: Api) -> None:
    writes = {}
    for method, _, handler in api_routes(shared_api):
        if method == "GET" or str(handler.operation_id) in READ_ONLY_POSTS:
            continue
        fn = getattr(handler.fn, "func", handler.fn)  # sync handlers run in a thread
        writes[str(handler.operation_id)] = inspect.getsource(fn)
    assert len(writes) == 42  # 40 commands; approve and decline also by link
    by_link = {op for op in writes if op in LINK_OPERATIONS}
    assert by_link == {"approveJobByLink", "declineJobByLink"}
    # By link: the decision is QuoteApprovals', which runs it for the link's holder.
    assert [op for op in by_link if "approvals." not in writes[op]] == []
    assert [op for op in set(writes) - by_link if "writes.submit(" not in writes[op]] == []
    assert [op for op in set(writes) - by_link if "services.workshop" in writes[op]] == []
    assert set(writes) - by_link <= set(POLICY)
