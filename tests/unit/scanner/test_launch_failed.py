from __future__ import annotations

from typing import Any

from inventory_core.items import Account
from inventory_events import ScanRequested
from scanner.launch_failed import UNLAUNCHED_ACCOUNT, handle_records

from tests.builders import T0
from tests.fakes import InMemoryAccountDirectory, InMemoryEventPublisher

ACCOUNTS = InMemoryAccountDirectory([Account("111111111111", "a", True), Account("222222222222", "b", True)])


def _event(*bodies: str) -> dict[str, Any]:
    return {"Records": [{"messageId": f"m{i}", "body": body} for i, body in enumerate(bodies)]}


def _request(account_ids: list[str] | None) -> str:
    return ScanRequested(execution_id="ex-1", account_ids=account_ids, trigger="api", occurred_at=T0).model_dump_json()


def test_a_request_that_never_started_ends_failed_for_each_requested_account() -> None:
    publisher = InMemoryEventPublisher()

    result = handle_records(_event(_request(["222222222222"])), ACCOUNTS, publisher)

    assert result == {"batchItemFailures": []}
    [account] = publisher.of_type("AccountScanCompleted")
    assert (account.account_id, account.status, account.execution_id) == ("222222222222", "failed", "ex-1")
    [completed] = publisher.of_type("ScanCompleted")
    assert [(a.account_id, a.status) for a in completed.accounts] == [("222222222222", "failed")]


def test_a_request_for_all_accounts_fails_every_enabled_account() -> None:
    publisher = InMemoryEventPublisher()

    handle_records(_event(_request(None)), ACCOUNTS, publisher)

    [completed] = publisher.of_type("ScanCompleted")
    assert sorted(a.account_id for a in completed.accounts) == ["111111111111", "222222222222"]
    assert {a.status for a in completed.accounts} == {"failed"}


def test_a_request_for_no_known_account_still_ends_failed_not_completed() -> None:
    publisher = InMemoryEventPublisher()

    handle_records(_event(_request(["999999999999"])), ACCOUNTS, publisher)

    assert publisher.of_type("AccountScanCompleted") == []
    [completed] = publisher.of_type("ScanCompleted")
    assert [(a.account_id, a.status) for a in completed.accounts] == [(UNLAUNCHED_ACCOUNT, "failed")]


def test_an_unreadable_message_is_dropped_and_a_failed_publish_is_retried() -> None:
    class Down:
        def publish(self, events: Any) -> None:
            raise ConnectionError("sns unreachable")

    result = handle_records(_event("not json", _request(None)), ACCOUNTS, Down())

    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
