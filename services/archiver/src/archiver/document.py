"""The day's raw document of one account: the union of that day's scans, scope by scope.

A scope is (region, resource type) of the account. For each scope the document keeps the items of one
observation: the newest complete one of the day; a failed (partial) observation only where no complete one
exists. A scope a later scan did not cover keeps what it had. Pure functions: no I/O.

Layout (``layout: 2``)::

    {"accountId", "day", "layout": 2, "resourceCount",
     "executions": [{executionId, scanStartedAt, status, resourceCount, failedScopes: [{region, resourceType}]}],
     "scopes": [{region, resourceType, executionId, scanStartedAt, complete, resourceCount,
                 itemRegions: {region: n}, notReplacedBy: [{executionId, scanStartedAt, complete}]}],
     "regions": {region: {resourceType: [raw item, ...]}}}

``regions`` holds every raw item once, filed under the item's own region (S3 buckets, a global type, under
their bucket's region); ``itemRegions`` says how many items of each region belong to the scope, in the order
of ``scopes``, so the document can be split back into scopes exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from inventory_events import GLOBAL_REGION

LAYOUT = 2


class CorruptDocumentError(ValueError):
    """The stored document cannot be split into scopes; it is left as it is and the message fails."""


@dataclass
class ScopeEntry:
    """What the day's document holds for one scope, and where it comes from."""

    region: str
    resource_type: str
    execution_id: str
    scan_started_at: str
    complete: bool
    items: list[tuple[str, Any]]  # (item region, raw item)
    legacy: bool = False  # read from a document written before scopes were recorded
    not_replaced_by: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return (self.region, self.resource_type)

    def started(self) -> datetime:
        return datetime.fromisoformat(self.scan_started_at)


@dataclass(frozen=True)
class ExecutionEntry:
    """One account scan that contributed to (or was considered for) the day's document."""

    execution_id: str
    scan_started_at: str
    status: str
    resource_count: int
    failed_scopes: tuple[tuple[str, str], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "executionId": self.execution_id,
            "scanStartedAt": self.scan_started_at,
            "status": self.status,
            "resourceCount": self.resource_count,
            "failedScopes": [{"region": r, "resourceType": t} for r, t in self.failed_scopes],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExecutionEntry:
        return cls(
            execution_id=str(data["executionId"]),
            scan_started_at=str(data["scanStartedAt"]),
            status=str(data.get("status", "")),
            resource_count=int(data.get("resourceCount", 0)),
            failed_scopes=tuple((str(s["region"]), str(s["resourceType"])) for s in data.get("failedScopes", [])),
        )


@dataclass
class DayDocument:
    """The parsed day's document of one account."""

    account_id: str
    day: str
    scopes: dict[tuple[str, str], ScopeEntry] = field(default_factory=dict)
    executions: dict[str, ExecutionEntry] = field(default_factory=dict)

    # ---- reading and writing the JSON form -------------------------------------------------------------

    @classmethod
    def parse(cls, document: Any, *, account_id: str, day: str) -> DayDocument:
        """Read a stored document (this layout, or the one-scan layout written before it).

        Raises:
            CorruptDocumentError: The document does not add up; nothing is merged into it.
        """
        if not isinstance(document, dict) or not isinstance(document.get("regions", {}), dict):
            raise CorruptDocumentError("the day's document is not a JSON object with a 'regions' object")
        if "scopes" not in document:
            return cls._parse_legacy(document, account_id=account_id, day=day)
        try:
            return cls._parse_scoped(document, account_id=account_id, day=day)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CorruptDocumentError(f"the day's document cannot be split into scopes: {exc!r}") from exc

    @classmethod
    def _parse_scoped(cls, document: dict[str, Any], *, account_id: str, day: str) -> DayDocument:
        out = cls(account_id=account_id, day=day)
        regions: dict[str, dict[str, list[Any]]] = document["regions"]
        cursor: dict[tuple[str, str], int] = {}
        for data in document["scopes"]:
            resource_type = str(data["resourceType"])
            items: list[tuple[str, Any]] = []
            for item_region, count in dict(data.get("itemRegions", {})).items():
                start = cursor.get((item_region, resource_type), 0)
                chunk = regions[item_region][resource_type][start : start + int(count)]
                if len(chunk) != int(count):
                    raise ValueError(f"scope {data['region']}/{resource_type} claims {count} items in {item_region}")
                cursor[(item_region, resource_type)] = start + int(count)
                items += [(item_region, raw) for raw in chunk]
            entry = ScopeEntry(
                region=str(data["region"]),
                resource_type=resource_type,
                execution_id=str(data["executionId"]),
                scan_started_at=str(data["scanStartedAt"]),
                complete=bool(data["complete"]),
                items=items,
                legacy=bool(data.get("legacy", False)),
                not_replaced_by=list(data.get("notReplacedBy", [])),
            )
            entry.started()  # a valid timestamp, or ValueError
            out.scopes[entry.key] = entry
        leftover = {
            (r, t): len(items) - cursor.get((r, t), 0)
            for r, by_type in regions.items()
            for t, items in by_type.items()
            if len(items) != cursor.get((r, t), 0)
        }
        if leftover:
            raise ValueError(f"items that belong to no scope: {leftover}")
        for data in document.get("executions", []):
            execution = ExecutionEntry.from_json(data)
            out.executions[execution.execution_id] = execution
        return out

    @classmethod
    def _parse_legacy(cls, document: dict[str, Any], *, account_id: str, day: str) -> DayDocument:
        """The one-scan layout: every (region, type) of ``regions`` becomes a scope of that scan."""
        out = cls(account_id=account_id, day=day)
        try:
            execution_id = str(document["executionId"])
            started = str(document["scanStartedAt"])
            datetime.fromisoformat(started)
            failed = {(str(s["region"]), str(s["resource_type"])) for s in document.get("failedScopes", [])}
            for region, by_type in document["regions"].items():
                for resource_type, raws in by_type.items():
                    complete = (region, resource_type) not in failed and (GLOBAL_REGION, resource_type) not in failed
                    out.scopes[(region, resource_type)] = ScopeEntry(
                        region=region,
                        resource_type=resource_type,
                        execution_id=execution_id,
                        scan_started_at=started,
                        complete=complete,
                        items=[(region, raw) for raw in raws],
                        legacy=True,
                    )
            out.executions[execution_id] = ExecutionEntry(
                execution_id=execution_id,
                scan_started_at=started,
                status=str(document.get("status", "")),
                resource_count=int(document.get("resourceCount", 0)),
                failed_scopes=tuple(sorted(failed)),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CorruptDocumentError(f"the day's document (one-scan layout) cannot be read: {exc!r}") from exc
        return out

    def render(self) -> dict[str, Any]:
        """The JSON form; scopes sorted by (type, region) so the same content always gives the same bytes."""
        scopes = sorted(self.scopes.values(), key=lambda s: (s.resource_type, s.region))
        regions: dict[str, dict[str, list[Any]]] = {}
        scope_docs: list[dict[str, Any]] = []
        for entry in scopes:
            counts: dict[str, int] = {}
            for item_region, raw in entry.items:
                regions.setdefault(item_region, {}).setdefault(entry.resource_type, []).append(raw)
                counts[item_region] = counts.get(item_region, 0) + 1
            scope_doc: dict[str, Any] = {
                "region": entry.region,
                "resourceType": entry.resource_type,
                "executionId": entry.execution_id,
                "scanStartedAt": entry.scan_started_at,
                "complete": entry.complete,
                "resourceCount": len(entry.items),
                "itemRegions": counts,
            }
            if entry.legacy:
                scope_doc["legacy"] = True
            if entry.not_replaced_by:
                scope_doc["notReplacedBy"] = entry.not_replaced_by
            scope_docs.append(scope_doc)
        executions = sorted(self.executions.values(), key=lambda e: (e.scan_started_at, e.execution_id))
        return {
            "accountId": self.account_id,
            "day": self.day,
            "layout": LAYOUT,
            "resourceCount": sum(len(s.items) for s in scopes),
            "executions": [e.to_json() for e in executions],
            "scopes": scope_docs,
            "regions": regions,
        }

    # ---- merging -------------------------------------------------------------------------------------

    def merge(self, execution: ExecutionEntry, observations: list[ScopeEntry]) -> bool:
        """Merge one account scan into the day's document; True if anything changed."""
        changed = False
        if self.executions.get(execution.execution_id) != execution:
            self.executions[execution.execution_id] = execution
            changed = True
        for observation in observations:
            changed |= self._merge_scope(observation)
        return changed

    def _covered(self, observation: ScopeEntry) -> list[ScopeEntry]:
        """The entries an observation would replace: its own scope, and legacy entries of the same scope."""
        covered = []
        for entry in self.scopes.values():
            if entry.resource_type != observation.resource_type:
                continue
            if entry.key == observation.key or (entry.legacy and observation.region in (entry.region, GLOBAL_REGION)):
                covered.append(entry)
        return covered

    def _merge_scope(self, observation: ScopeEntry) -> bool:
        covered = self._covered(observation)
        losers = [e for e in covered if not wins(observation, e)]
        if losers:
            changed = False
            for entry in losers:
                if observation.execution_id == entry.execution_id:
                    continue
                if any(n.get("executionId") == observation.execution_id for n in entry.not_replaced_by):
                    continue
                entry.not_replaced_by.append(
                    {
                        "executionId": observation.execution_id,
                        "scanStartedAt": observation.scan_started_at,
                        "complete": observation.complete,
                    }
                )
                changed = True
            return changed
        if len(covered) == 1 and same_observation(covered[0], observation):
            return False
        for entry in covered:
            del self.scopes[entry.key]
        self.scopes[observation.key] = observation
        return True


def wins(observation: ScopeEntry, entry: ScopeEntry) -> bool:
    """Does a new observation of a scope replace what the document holds for it?

    The same execution again (a redelivery) replaces itself. A complete observation beats an incomplete one
    whatever their times; between two complete ones, or two incomplete ones, the newer scan wins. An
    incomplete observation that found nothing never replaces anything: it answered nothing.
    """
    if observation.execution_id == entry.execution_id:
        return True
    if observation.complete != entry.complete:
        return observation.complete
    if not observation.complete and not observation.items:
        return False
    return (observation.started(), observation.execution_id) > (entry.started(), entry.execution_id)


def same_observation(a: ScopeEntry, b: ScopeEntry) -> bool:
    return (a.execution_id, a.scan_started_at, a.complete, a.items, a.legacy, a.region) == (
        b.execution_id,
        b.scan_started_at,
        b.complete,
        b.items,
        b.legacy,
        b.region,
    )
