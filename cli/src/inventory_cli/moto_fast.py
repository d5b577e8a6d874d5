"""The moto server with two hot spots patched (same answers, less time): EC2 tags, module listing.

moto 5.2.5 serialises every EC2 resource's tags through ``TagBackend.describe_tags(filters={"resource-id":
[id]})``, which copies and regex-matches every tag of the account and region for each resource. A
``describe_instances`` of 1,333 instances in one region therefore made about 5 million regex matches, and at
10,000 seeded resources 95% of the server's time went to serialising EC2 responses (py-spy, soak of
2026-11-30): every other caller of the single-process server (SQS, DynamoDB, S3) queued behind it, and scan
scopes timed out. The first patch answers the same question from ``TagBackend.tags`` (resource id -> key -> value)
directly; an id with glob characters, which moto would treat as a pattern, still takes moto's own path.

Three more per-request costs found by py-spy on the server during a 10,000-resource scan (2026-11-30):

- SQS ``send_message`` reads one attribute (ContentBasedDeduplication) through ``Queue.attributes``, which
  builds every attribute, including the three approximate message counts: three passes over every queued
  message, each message asking the clock twice. Every SNS->SQS delivery paid for all messages already queued
  (25% of the server's time during a scan; 15 -> 75 ms a PublishBatch with 600 messages queued). The patch
  counts all three in one pass with one clock reading: the same comparisons, so the same counts.
- Each request looked its backend up by listing moto's package folder (see ``patch_module_listing``) and
  then matching the host against every backend's URL patterns, under one lock that every request thread
  takes (9% with the listing): the answer depends on the host only, so it is remembered per host.
- werkzeug wrote an access-log line per request to stderr (7%): only warnings are logged now.

DynamoDB Query (py-spy on the server during scan 2 of a 10,000-resource soak, 2026-11-30: 30% of the server's
samples, growing scan over scan with the table): moto answers every Query, base table or index, by sorting
*every item of the table* by its key (``Table.all_items``) and then filtering for the asked partition, and does
it again for each page of a paginated Query. The projector's per-page and per-sweep queries therefore cost
O(table log table), and the table grows with each scan (resources gone missing, scan markers, journal entries),
so the same pages took longer every scan. DynamoDB reads the one partition. The patch (``patch_dynamodb_query``)
hands moto's own query code only the candidates: for the base table, the asked partition's items (moto keys
its items by partition, and filters with the same equality the dictionary uses), in key order; for an index,
the table's items unsorted, because moto sorts the index matches afterwards by the index key and the table key,
a total order. Everything after (range conditions, paging, size limit, projections, filters) is moto's own.

Connections are kept alive (``KeepAliveRequestHandler``): moto's own server closes each one after a call.

    python -m inventory_cli.moto_fast -H 127.0.0.1 -p 5000
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import gc
import io
import itertools
import json
import logging
import os
import re
import socket
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_GLOB = frozenset("*?[")
_MAX_HOSTS = 4096
_MAX_PICKED_NAMES = 200_000


def patch_ec2_tag_lookup() -> None:
    """Make ``TaggedEC2Resource.get_tags`` a dictionary lookup; idempotent."""
    from moto.ec2.models.core import TaggedEC2Resource
    from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix

    original = TaggedEC2Resource.get_tags
    if getattr(original, "_inventory_fast", False):
        return

    def get_tags(self: Any) -> list[dict[str, str]]:
        resource_id = self.id
        if not resource_id or _GLOB & set(resource_id):
            return original(self)
        tags = self.ec2_backend.tags.get(resource_id)
        if not tags:
            return []
        resource_type = EC2_PREFIX_TO_RESOURCE.get(get_prefix(resource_id), "")
        return [
            {"resource_id": resource_id, "key": key, "value": value, "resource_type": resource_type}
            for key, value in tags.items()
        ]

    get_tags._inventory_fast = True  # type: ignore[attr-defined]
    TaggedEC2Resource.get_tags = get_tags  # type: ignore[method-assign]


def patch_module_listing() -> None:
    """List moto's service modules once instead of once per request; idempotent.

    The server's host dispatcher calls ``moto.backends.list_of_moto_modules()`` for every request, which lists
    moto's package directory and stats each of its ~170 entries: 10-13% of the server's samples under a soak's
    load (py-spy). The installed package does not change while the server runs.
    """
    from moto import backends

    if getattr(backends.list_of_moto_modules, "_inventory_fast", False):
        return
    modules = tuple(backends.list_of_moto_modules())

    def list_of_moto_modules() -> tuple[str, ...]:
        return modules

    list_of_moto_modules._inventory_fast = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = list_of_moto_modules


def patch_sqs_queue_counts() -> None:
    """Count a queue's visible, delayed and in-flight messages in one pass with one clock reading; idempotent."""
    from moto.core.utils import unix_time_millis
    from moto.sqs.models import Queue

    if getattr(Queue, "_inventory_fast", False):
        return

    def counts(queue: Any) -> tuple[int, int, int]:
        now = unix_time_millis()
        visible_now = delayed = not_visible = 0
        for message in queue._messages:
            # moto's Message.visible is now > visible_at, Message.delayed is now < delayed_until
            is_visible = now > message.visible_at
            is_delayed = now < message.delayed_until
            delayed += is_delayed
            not_visible += not is_visible
            visible_now += is_visible and not is_delayed
        return visible_now, delayed, not_visible

    original = Queue.__dict__["attributes"].fget  # the property object (mypy types Queue.attributes as a method)
    assert original is not None
    local = threading.local()  # request threads share queues: the counts of this thread's call only

    def attributes(self: Any) -> dict[str, Any]:
        # moto's own property, with the three counts it would compute message by message taken from one pass
        outer = getattr(local, "counts", None)
        local.counts = (self, counts(self))
        try:
            return original(self)  # type: ignore[no-any-return]
        finally:
            local.counts = outer

    def counted(index: int, slow: Any) -> property:
        def get(self: Any) -> int:
            current = getattr(local, "counts", None)
            if current is not None and current[0] is self:
                return int(current[1][index])
            return int(slow.fget(self))

        return property(get)

    Queue.approximate_number_of_messages = counted(0, Queue.approximate_number_of_messages)  # type: ignore[method-assign,assignment]
    Queue.approximate_number_of_messages_delayed = counted(1, Queue.approximate_number_of_messages_delayed)  # type: ignore[method-assign,assignment]
    Queue.approximate_number_of_messages_not_visible = counted(2, Queue.approximate_number_of_messages_not_visible)  # type: ignore[method-assign,assignment]
    Queue.attributes = property(attributes)  # type: ignore[method-assign,assignment]
    Queue._inventory_fast = True  # type: ignore[attr-defined]


def patch_backend_lookup() -> None:
    """Remember each host's backend (moto tries every backend's URL patterns per request); idempotent."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.get_backend_for_host
    if getattr(original, "_inventory_fast", False):
        return
    known: dict[str | None, Any] = {}

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        if host in known:
            return known[host]
        backend = original(self, host)
        if len(known) < _MAX_HOSTS:  # S3 virtual-host names make hosts unbounded: remember a bounded number
            known[host] = backend
        return backend

    get_backend_for_host._inventory_fast = True  # type: ignore[attr-defined]
    get_backend_for_host.__wrapped__ = original  # type: ignore[attr-defined]  # moto's own, for the equality test
    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]


def quiet_access_log() -> None:
    """werkzeug's per-request access-log line off (its warnings and errors stay)."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def patch_dynamodb_query() -> None:
    """Query reads the asked partition (base table) or skips the whole-table sort (index); idempotent.

    The original functions stay reachable as ``Table.query.__wrapped__`` and ``Table.all_items.__wrapped__``.
    """
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "_inventory_fast", False):
        return
    original_query = Table.query
    _override_all_items()

    def query(
        self: Any,
        hash_key: Any,
        range_comparison: Any,
        range_objs: Any,
        limit: Any,
        exclusive_start_key: Any,
        scan_index_forward: Any,
        projection_expressions: Any,
        index_name: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        if index_name:
            # moto sorts the matches by (index keys, table keys) afterwards: unique per item, so the order of
            # the candidates does not matter
            items = [item for hash_set in self.items.values() for item in _items_of(self, hash_set)]
        elif hash_key is not None and self.range_key_attr:
            partition = self.items.get(hash_key)
            # the items all_items() filtered by hash key would give; moto then sorts them by range key (unique)
            items = _begins_with_candidates(list(partition.values()) if partition else [], range_comparison, range_objs)
        else:
            items = None
        previous = getattr(_CANDIDATES, "items", None)
        _CANDIDATES.items = None if items is None else (self, items)
        # a projected base-table query's matches are projected into new items: no deepcopy of the whole items
        _PROJECTING.on = bool(projection_expressions) and not index_name
        try:
            return original_query(
                self,
                hash_key,
                range_comparison,
                range_objs,
                limit,
                exclusive_start_key,
                scan_index_forward,
                projection_expressions,
                index_name,
                *args,
                **kwargs,
            )
        finally:
            _CANDIDATES.items = previous
            _PROJECTING.on = False

    query._inventory_fast = True  # type: ignore[attr-defined]
    query.__wrapped__ = original_query  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]


def _begins_with_candidates(items: list[Any], range_comparison: Any, range_objs: Any) -> list[Any]:
    """For ``begins_with`` on a string sort key, the partition's items moto's query can tell apart: the matches and
    the nearest non-matching item on each side in key order; otherwise ``items``.

    moto sorts every candidate (Python comparisons of its key objects) and measures each one's size before it
    tests the condition, so a sweep's query of one type cost the whole account's partition: 400 ms a query late in
    a 10,000-resource soak. Strings that begin with a prefix are one contiguous run in key order; the neighbours
    stay because moto decides LastEvaluatedKey by what follows the last match (it is set once the limit is
    reached and another candidate is there), so the answers, pages included, are moto's own.
    """
    if range_comparison != "BEGINS_WITH" or len(range_objs) != 1 or range_objs[0].type != "S":
        return items
    prefix: str = range_objs[0].value
    matches: list[Any] = []
    before = after = None
    for item in items:
        key = item.range_key
        if key is None or key.type != "S":
            return items
        value: str = key.value
        if value.startswith(prefix):
            matches.append(item)
        elif value < prefix:
            if before is None or value > before.range_key.value:
                before = item
        elif after is None or value < after.range_key.value:
            after = item
    return matches + [item for item in (before, after) if item is not None]


_ATTRIBUTE_VALUE_MEMBERS = frozenset({"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"})


def _is_attribute_value(shape: Any) -> bool:
    """True for DynamoDB's AttributeValue shape (its name and its ten members; the keys view compares as a set)."""
    return bool(shape.name == "AttributeValue" and shape.members.keys() == _ATTRIBUTE_VALUE_MEMBERS)


def _attribute_json(value: Any) -> Any:
    """A fresh copy of an AttributeValue (``{"S": "x"}``, nested through M and L), which is what moto's JSON
    serializer writes and its JSON parser reads for one, or None where they would do more than copy (binary
    values are base64-encoded or decoded; anything unexpected takes their path)."""
    if type(value) is not dict or len(value) != 1:
        return None
    ((kind, inner),) = value.items()
    if kind in ("S", "N"):
        return {kind: inner} if type(inner) is str else None
    if kind in ("BOOL", "NULL"):
        return {kind: inner} if type(inner) is bool else None
    if kind in ("SS", "NS"):
        return {kind: list(inner)} if type(inner) is list and all(type(v) is str for v in inner) else None
    if kind == "M" and type(inner) is dict:
        members = {name: _attribute_json(v) for name, v in inner.items()}
        return None if any(v is None for v in members.values()) else {"M": members}
    if kind == "L" and type(inner) is list:
        items = [_attribute_json(v) for v in inner]
        return None if any(v is None for v in items) else {"L": items}
    return None


def patch_dynamodb_serializer() -> None:
    """DynamoDB answers write their items' AttributeValues by copying them, not member by member; idempotent.

    moto serialises every answer through its model-driven serializer, which walks the ten members of the
    AttributeValue shape for each attribute of each item and looks each up under several aliases: 100 items of 4
    small attributes cost 84 ms of a 112 ms BatchGetItem (cProfile, 2026-12-01), and BatchGetItem was 3-4 s of
    moto's CPU a scan in a 10,000-resource soak. A value that is already wire JSON (strings, numbers, booleans,
    null, string sets, and maps and lists of those) is written as it is; binary values and anything else keep
    moto's own path. Same bytes on the wire; the original stays reachable as ``__wrapped__``.
    """
    from moto.core.serialize import BaseJSONSerializer

    original = BaseJSONSerializer._serialize_type_structure
    if getattr(original, "_inventory_fast", False):
        return

    def serialize_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and _is_attribute_value(shape):
            wire = _attribute_json(value)
            if wire is not None:
                self._default_serialize(serialized, wire, shape, key)
                return
        original(self, serialized, value, shape, key)

    serialize_structure._inventory_fast = True  # type: ignore[attr-defined]
    serialize_structure.__wrapped__ = original  # type: ignore[attr-defined]
    BaseJSONSerializer._serialize_type_structure = serialize_structure  # type: ignore[method-assign]


def patch_dynamodb_parser() -> None:
    """DynamoDB requests read their AttributeValues by copying them, not member by member; idempotent.

    The request side of :func:`patch_dynamodb_serializer`: moto parses each request through the same model walk,
    and a BatchWriteItem of 25 resource items (their configuration nested in maps and lists) spent a fifth of
    the server's time for it there (cProfile, 2026-12-01; BatchWriteItem was 5-7 s of moto's CPU a scan in a
    10,000-resource soak). Same parsed values (plain dicts, as the DynamoDB handler asks); binary values and
    anything else keep moto's path; the original stays reachable as ``__wrapped__``.
    """
    from moto.core.parse import BaseJSONParser

    original: Any = BaseJSONParser._parse_structure  # moto's parser is untyped
    if getattr(original, "_inventory_fast", False):
        return

    def parse_structure(self: Any, shape: Any, value: Any) -> Any:
        if self.MAP_TYPE is dict and _is_attribute_value(shape):
            wire = _attribute_json(value)
            if wire is not None:
                return wire
        return original(self, shape, value)

    parse_structure._inventory_fast = True  # type: ignore[attr-defined]
    parse_structure.__wrapped__ = original  # type: ignore[attr-defined]
    BaseJSONParser._parse_structure = parse_structure  # type: ignore[method-assign]


def patch_dynamodb_item_size() -> None:
    """A new DynamoDB item is measured once against the 400 KB limit, not once per attribute; idempotent.

    moto builds each written item (``Item.__init__``: PutItem, every BatchWriteItem request, UpdateItem's new
    item) attribute by attribute into a ``LimitedSizeDict``, whose every insert sums the size of all the
    attributes already in it: quadratic in the attributes. A resource item has about 18 of them, one a nested
    configuration map, so its size was computed 18 times over: ``DynamoType.size`` was the costliest part of the
    server's side of a 25-item BatchWriteItem (cProfile, 2026-12-01), and BatchWriteItem 5-7 s of moto's CPU a
    scan in a 10,000-resource soak. The sizes are not negative, so the largest of moto's per-insert totals is the
    last one: the item is refused with the same ``ItemSizeTooLarge`` exactly when moto refuses it. Later inserts
    (update expressions) keep moto's check. The original stays reachable as ``__wrapped__``.
    """
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    original: Any = Item.__init__
    if getattr(original, "_inventory_fast", False):
        return
    limit = _item_size_limit_of_moto()

    def init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        converted = {key: DynamoType(value) for key, value in attrs.items()}
        if sum(bytesize(key) + value.size() for key, value in converted.items()) > limit:
            raise ItemSizeTooLarge
        self.attrs = LimitedSizeDict()
        dict.update(self.attrs, converted)  # measured above: the per-insert check would only repeat it

    init._inventory_fast = True  # type: ignore[attr-defined]
    init.__wrapped__ = original  # type: ignore[attr-defined]
    Item.__init__ = init  # type: ignore[method-assign]


def patch_dynamodb_value_size() -> None:
    """A DynamoDB value's size is summed over its members without copying them first; idempotent.

    moto's ``DynamoType.size`` measures each member of a map by wrapping it in a new ``DynamoType``, whose
    constructor wraps every member below it again, so measuring a nested configuration map rebuilt its whole
    subtree at each level (285,000 constructions for 1,000 written items, cProfile, 2026-12-01). moto measures
    every written item (the 400 KB limit) and every Query, Scan and BatchGetItem candidate, twice for a Query
    (its 1 MB page). The same sums: numbers by the length of their text, sets by their members as their element
    type, lists and maps by their members (a map's keys by their UTF-8 length too), booleans and null as 1,
    strings and binaries by their bytes. The original stays reachable as ``__wrapped__``.
    """
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.utilities import bytesize

    original: Any = DynamoType.size
    if getattr(original, "_inventory_fast", False):
        return

    def size(self: Any) -> int:
        kind, value = self.type, self.value
        if kind == "N":
            return len(str(value))
        if kind in ("SS", "NS", "BS"):
            if kind == "NS":
                return sum(len(str(member)) for member in value)
            return sum(bytesize(member) for member in value)
        if kind == "L":
            return sum(member.size() for member in value)
        if kind == "M":
            return sum(bytesize(key) + member.size() for key, member in value.items())
        if isinstance(value, bool):
            return 1
        return bytesize(value)

    size._inventory_fast = True  # type: ignore[attr-defined]
    size.__wrapped__ = original  # type: ignore[attr-defined]
    DynamoType.size = size  # type: ignore[method-assign]


def _item_size_limit_of_moto() -> int:
    """The total moto's ``LimitedSizeDict`` refuses above (405,000 in moto 5.2.5), found by asking it.

    Read by bisection rather than copied, so an upgrade that moves the limit moves the patch's with it.
    """
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict

    low, high = 0, 1 << 22  # fits: low; refused: high
    while high - low > 1:
        middle = (low + high) // 2
        try:
            LimitedSizeDict()["k"] = DynamoType({"S": "x" * (middle - 1)})  # key "k" is one byte
        except ItemSizeTooLarge:
            high = middle
        else:
            low = middle
    return low


def patch_attribute_picker() -> None:
    """moto's model-driven serializer looks each member's aliases up once per kind of object, not per value; idempotent.

    moto 5.2.5 serialises query-protocol answers (EC2, SNS, SQS...) by walking the operation's output shape and,
    for every member of every structure, asking six alias providers which attribute names the Python object may
    hold it under (``AttributePicker.get_possible_keys``). The answer depends only on the picker, the object's
    class, the member's shape and its parent, and the member's name, yet it was worked out again for every
    value: in a ``DescribeInstances`` of 1,330 instances that is 182,000 lookups (cProfile, 2026-12-01), and
    DescribeInstances cost moto 10-13 s of CPU a 10,000-resource soak scan, in the scan's first seconds, while
    the consumers' calls queued behind it. The names are remembered per those five; the values are still read
    from each object, in moto's order, and the response transformers still apply. An object whose ``Meta`` is
    its own (not its class's) takes moto's path. The original stays reachable as ``__wrapped__``.
    """
    from moto.core.constants import MISSING
    from moto.core.serialize import AttributePicker
    from moto.core.utils import get_value

    original: Any = AttributePicker.__call__
    if getattr(original, "_inventory_fast", False):
        return
    names: dict[tuple[Any, ...], tuple[str, ...]] = {}
    chosen: dict[tuple[int, str, str], tuple[Any, Any]] = {}  # (transformers, path, key) -> first matching

    def call(self: Any, context: Any) -> Any:
        obj, shape = context.obj, context.shape
        cls = type(obj)
        meta = getattr(cls, "Meta", None)
        if getattr(obj, "Meta", None) is not meta:
            return original(self, context)
        key = (type(self), tuple(self.alias_providers), cls, shape, getattr(shape, "parent", None), context.key)
        possible = names.get(key)
        if possible is None:
            if len(names) > _MAX_PICKED_NAMES:  # shapes come from moto's cached models; a bound all the same
                names.clear()
            possible = names[key] = tuple(self.get_possible_keys(context))
        for possible_key in possible:
            value = get_value(obj, possible_key, MISSING)
            if value is not MISSING:
                break
        else:
            value = None
        transformers = self.response_transformers
        if transformers:
            path = (id(transformers), context.key_path, context.key)
            entry = chosen.get(path)
            if entry is None or entry[0] is not transformers:  # the dict is held, so its id is not reused
                entry = chosen[path] = (transformers, _transform_for(transformers, f"{context.key_path}.{context.key}"))
            if entry[1] is not None:
                value = entry[1](value)
        return value

    call._inventory_fast = True  # type: ignore[attr-defined]
    call.__wrapped__ = original  # type: ignore[attr-defined]
    AttributePicker.__call__ = call  # type: ignore[method-assign]


def _transform_for(transformers: dict[str, Any], key_path: str) -> Any:
    """moto's choice of response transformer for a value at ``key_path``: the first whose path ends it, or None."""
    for transform_path, transform in transformers.items():
        if key_path.endswith(transform_path):
            return transform
    return None


def patch_dynamodb_projection() -> None:
    """A projected base-table Query copies and converts each matching item once, not once per attribute; idempotent.

    py-spy on the server late in a 10,000-resource soak (2026-12-01, scan 12 against scan 2): the projector's
    sweep queries went from 28 to 202 samples in 30 s, growing with the items a scope holds (deleted resources
    stay as missing for 30 days), and most of it was moto's, not the query's: ``Table.query`` deep-copies every
    whole matching item (with its stored configuration) before it projects, and ``Item.project`` converts the
    whole item to plain JSON again for each projected attribute (9 for a sweep, 4 for the page's BatchGetItem).
    Projected items are new objects built from that JSON, so the copy protects nothing: it is skipped for a
    projected base-table query (an index query and an unprojected one keep it), and an item is converted once
    when every projected path is a top-level attribute (nested paths keep moto's own code). Same answers; the
    originals stay reachable as ``__wrapped__``.
    """
    from botocore.utils import merge_dicts
    from moto.dynamodb.models import table as table_module
    from moto.dynamodb.models.dynamo_type import Item, deserializer, serializer
    from moto.dynamodb.models.utilities import find_nested_key

    if getattr(Item.project, "_inventory_fast", False):
        return
    original_project = Item.project

    def project(self: Any, projection_expressions: list[list[str]]) -> Any:
        if not all(len(path) == 1 and "[" not in path[0] for path in projection_expressions):
            return original_project(self, projection_expressions)
        # only the projected attributes, converted once: fresh objects, so the stored item is never shared with
        # the answer (converting the whole item, with a resource's stored configuration, cost a BatchGetItem of
        # 100 keys 22 ms, for 4 small attributes of each)
        wanted = {path[0] for path in projection_expressions}
        plain = {
            name: deserializer.deserialize(value.to_regular_json())
            for name, value in self.attrs.items()
            if name in wanted
        }
        result: dict[str, Any] = {}
        for path in projection_expressions:
            merge_dicts(result, find_nested_key(path, plain))
        return Item(hash_key=self.hash_key, range_key=self.range_key, attrs=dict(serializer.serialize(result)["M"]))

    project._inventory_fast = True  # type: ignore[attr-defined]
    project.__wrapped__ = original_project  # type: ignore[attr-defined]
    Item.project = project  # type: ignore[method-assign]
    table_module.copy = _QueryCopy()  # type: ignore[assignment,attr-defined]


class _QueryCopy:
    """moto's table module's ``copy``: while a projected base-table query runs on this thread, its one deepcopy
    (of the matching items, before they are projected) is a list copy; everything else is the real module."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        if getattr(_PROJECTING, "on", False):
            return list(value)
        return copy.deepcopy(value, memo)


_PROJECTING = threading.local()


# per request thread: the candidates the running query or scan of a table should see instead of all_items()
_CANDIDATES = threading.local()
_ORDER = "_inventory_scan_order"
_GENERATION = "_inventory_generation"
_MAX_SEGMENTINGS = 16


def _override_all_items() -> None:
    """``Table.all_items`` answers the running request's candidates when it set some; idempotent."""
    from moto.dynamodb.models.table import Table

    if getattr(Table.all_items, "_inventory_fast", False):
        return
    original_all_items = Table.all_items

    def all_items(self: Any) -> Any:
        given = getattr(_CANDIDATES, "items", None)
        if given is not None and given[0] is self:
            return given[1]
        return original_all_items(self)

    all_items._inventory_fast = True  # type: ignore[attr-defined]
    all_items.__wrapped__ = original_all_items  # type: ignore[attr-defined]
    Table.all_items = all_items  # type: ignore[method-assign]


def patch_dynamodb_scan() -> None:
    """A base-table Scan page starts where the last one ended, in its segment, without re-sorting; idempotent.

    moto answers every Scan page by sorting every item of the table (``Table.all_items``), hashing each item's
    partition key to test its segment, and comparing every item before the page's ExclusiveStartKey with it:
    a segmented scan of N items in pages cost O(pages x N log N) (the soak's check, a 4-segment scan of the
    table, grew 23 -> 156 s over 20 scans). The patch keeps moto's sorted order and each segment's share of it
    per table, valid until the table's next put or delete (keys never change in place: an update changes only
    attributes, which moto reads live), and hands moto's own scan the items from the first one after the start
    key (binary search with moto's own comparison, monotone in that order). Index scans are moto's own (an
    update can change an index key in place). The original stays reachable as ``Table.scan.__wrapped__``.
    """
    from moto.dynamodb.models.table import Table

    if getattr(Table.scan, "_inventory_fast", False):
        return
    _override_all_items()
    original_scan = Table.scan

    def touching(original: Any) -> Any:
        def mutate(self: Any, *args: Any, **kwargs: Any) -> Any:
            # bumped before and after: a scan that read the generation mid-write rebuilds on its next page
            _touch(self)
            try:
                return original(self, *args, **kwargs)
            finally:
                _touch(self)

        mutate.__wrapped__ = original  # type: ignore[attr-defined]
        return mutate

    def scan(
        self: Any,
        filters: Any,
        limit: Any,
        exclusive_start_key: Any,
        filter_expression: Any = None,
        index_name: str | None = None,
        consistent_read: bool = False,
        projection_expression: Any = None,
        segments: Any = (None, None),
    ) -> Any:
        def moto_scan() -> Any:
            return original_scan(
                self,
                filters,
                limit,
                exclusive_start_key,
                filter_expression,
                index_name,
                consistent_read,
                projection_expression,
                segments=segments,
            )

        if index_name:
            return moto_scan()
        ordered = _scan_order(self, tuple(segments))
        start = 0
        if exclusive_start_key is not None:
            keys = ([self.hash_key_attr], [self.range_key_attr])
            start = bisect.bisect_left(
                ordered, True, key=lambda item: not self._item_comes_before_dct(item, exclusive_start_key, *keys, True)
            )
        previous = getattr(_CANDIDATES, "items", None)
        _CANDIDATES.items = (self, itertools.islice(ordered, start, None))
        try:
            return moto_scan()
        finally:
            _CANDIDATES.items = previous

    scan._inventory_fast = True  # type: ignore[attr-defined]
    scan.__wrapped__ = original_scan  # type: ignore[attr-defined]
    Table.scan = scan  # type: ignore[method-assign]
    Table.put_item = touching(Table.put_item)  # type: ignore[method-assign]
    Table.delete_item = touching(Table.delete_item)  # type: ignore[method-assign]


def _touch(table: Any) -> None:
    table.__dict__[_GENERATION] = table.__dict__.get(_GENERATION, 0) + 1


def _scan_order(table: Any, segments: tuple[Any, ...]) -> list[Any]:
    """moto's scan order of the table's items in one segment, kept until the table's next put or delete."""
    generation = table.__dict__.get(_GENERATION, 0)
    cached = table.__dict__.get(_ORDER)
    if cached is None or cached[0] != generation or cached[1] is not table.items:
        previous = getattr(_CANDIDATES, "items", None)
        _CANDIDATES.items = None  # moto's own sort
        try:
            everything = list(table.all_items())
        finally:
            _CANDIDATES.items = previous
        cached = (generation, table.items, {(None, None): everything})
        table.__dict__[_ORDER] = cached
    by_segments: dict[tuple[Any, ...], list[Any]] = cached[2]
    if segments not in by_segments:
        if len(by_segments) > _MAX_SEGMENTINGS:
            for key in [k for k in by_segments if k != (None, None)]:
                del by_segments[key]
        by_segments[segments] = [item for item in by_segments[(None, None)] if item.is_within_segment(segments)]
    return by_segments[segments]


def _items_of(table: Any, hash_set: Any) -> Any:
    """The items under one hash key of moto's ``Table.items`` (a dict by range key, or the item itself)."""
    return hash_set.values() if table.range_key_attr else [hash_set]


#: How many published notifications each topic keeps for inspection (moto kept all: see patch_sns_sent_notifications)
KEPT_NOTIFICATIONS = 256


def patch_sns_sent_notifications() -> None:
    """A topic keeps its last ``KEPT_NOTIFICATIONS`` published messages, not all of them; idempotent.

    moto appends every message published to a topic to ``Topic.sent_notifications``, an inspection list for
    tests that no API answers from: a soak scan of 10,000 resources publishes every page of raw items through
    the topic, and the server kept all of them (the emulator grew about 185 MB a scan after the lifecycle step
    removed the S3 side). A bounded deque keeps the same tuples for the latest messages.
    """
    from collections import deque

    from moto.sns.models import Topic

    original_init = Topic.__init__
    if getattr(original_init, "_inventory_fast", False):
        return

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.sent_notifications = deque(self.sent_notifications, maxlen=KEPT_NOTIFICATIONS)

    __init__._inventory_fast = True  # type: ignore[attr-defined]
    __init__.__wrapped__ = original_init  # type: ignore[attr-defined]
    Topic.__init__ = __init__  # type: ignore[method-assign]


_CONVERTING = threading.Lock()


class _WeakInstances:
    """A model class's ``instances_tracked`` holding weak references: iterated and appended like moto's list."""

    def __init__(self, instances: Any = ()) -> None:
        self._refs: list[weakref.ref[Any]] = []
        self._prune_at = 1024
        self._lock = threading.Lock()  # the server's request threads create instances at the same time
        for instance in instances:
            self.append(instance)

    def append(self, instance: Any) -> None:
        try:
            ref = weakref.ref(instance)
        except TypeError:  # a model without weak reference support is not listed (only the dashboard reads it)
            return
        with self._lock:
            self._refs.append(ref)
            if len(self._refs) > self._prune_at:  # amortised: the dead references go when the list doubles
                self._refs = [r for r in self._refs if r() is not None]
                self._prune_at = max(1024, 2 * len(self._refs))

    def __iter__(self) -> Iterator[Any]:
        for ref in list(self._refs):
            instance = ref()
            if instance is not None:
                yield instance


def patch_instance_tracking() -> None:
    """moto's model classes list their instances by weak reference; idempotent.

    moto's ``BaseModel.__new__`` appends every model instance it ever creates to its class's
    ``instances_tracked`` (for the ``/moto-api/data.json`` dashboard and the S3 reset), and nothing removes them
    until a reset. A long-running server therefore kept every DynamoDB item version (each put, and each copy a
    Query or an update makes), every SQS message and every S3 object with its body, long after they were
    replaced or deleted: 13,837 of 16,180 live ``Item`` objects were in no table after 2 soak scans of 2,012
    resources (gc referrers, 2026-12-01), and the server's RSS grew about 190 MB a 10,000-resource scan. With
    weak references the dashboard and the reset still see every instance that is alive, and the rest is freed.
    """
    from moto.core.common_models import BaseModel

    original = BaseModel.__new__
    if getattr(original, "_inventory_fast", False):
        return

    def __new__(cls: Any, *_args: Any, **_kwargs: Any) -> Any:
        instance = super(BaseModel, cls).__new__(cls)  # as moto's: the next class after BaseModel allocates
        tracked = cls.__dict__.get("instances_tracked")
        if not isinstance(tracked, _WeakInstances):  # the metaclass's list, or the one a reset put back
            with _CONVERTING:  # two threads' first instances of a class: one container, neither lost
                tracked = cls.__dict__.get("instances_tracked")
                if not isinstance(tracked, _WeakInstances):
                    tracked = _WeakInstances(tracked or ())
                    cls.instances_tracked = tracked
        tracked.append(instance)
        return instance

    __new__._inventory_fast = True  # type: ignore[attr-defined]
    __new__.__wrapped__ = original  # type: ignore[attr-defined]
    BaseModel.__new__ = staticmethod(__new__)  # type: ignore[method-assign]


def apply() -> None:
    """Every patch of this module (the emulator's behaviour is unchanged, only its speed)."""
    patch_ec2_tag_lookup()
    patch_sqs_queue_counts()
    patch_backend_lookup()
    quiet_access_log()
    patch_module_listing()
    patch_dynamodb_query()
    patch_dynamodb_projection()
    patch_dynamodb_serializer()
    patch_dynamodb_parser()
    patch_dynamodb_item_size()
    patch_dynamodb_value_size()
    patch_attribute_picker()
    patch_dynamodb_scan()
    patch_sns_sent_notifications()
    patch_instance_tracking()


#: How often the server gives its free heap back (``inventory_core.memory.trimming``). With the glibc settings
#: ``MotoServer.start`` passes, the RSS after a first 10,000-resource soak scan went 574-592 -> 441 MB; the growth
#: scan over scan was moto's instance tracking (``patch_instance_tracking``), which no allocator setting changed.
HEAP_TRIM_INTERVAL_S = 1.0


#: werkzeug's development server (moto's own ``python -m moto.server``) sends ``Connection: close`` on every
#: response, so every AWS call opened a new TCP connection, for which the server started a thread and a selector
#: and then waited 10 ms for body bytes that never came: py-spy on the server during a 10,000-resource soak
#: (2026-12-01) put a fifth of its samples there (thread start 8.6%, selectors 8%, socket shutdown and close 4%),
#: and every client paid a new connection per call as well. ``KeepAliveRequestHandler`` keeps the connection.
#: Measured by the server's own CPU the saving is smaller than those samples suggested: 6,000 small calls cost it
#: 8.97-9.84 s either way (3 runs each, 2026-12-01); the calls' wall time fell 3-11%.
#: ``MOTO_KEEP_ALIVE=0`` serves exactly as moto's own command does.
KEEP_ALIVE_ENV = "MOTO_KEEP_ALIVE"
#: An idle kept-alive connection is closed after this long (its thread waits on it until then).
IDLE_CONNECTION_S = 60.0


class _RequestBody:
    """The connection's read side as werkzeug sees it; counts the body bytes read so the rest can be skipped.

    werkzeug, after each response, reads whatever the client sent within 10 ms and throws it away (the unread
    rest of the body: safe only because it closes every connection). On a kept-alive connection that would be
    the client's next request, so once the response is complete (``finished``) those reads get nothing, and the
    handler skips the body's unread rest by its Content-Length instead.
    """

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self.finished = False
        self.consumed = 0

    def start(self) -> None:
        self.finished = False
        self.consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        if self.finished:
            return b""
        data: bytes = self._raw.read(size)
        self.consumed += len(data)
        return data

    def read1(self, size: int = -1) -> bytes:
        data: bytes = self._raw.read1(size)
        self.consumed += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        if self.finished:
            return 0
        n: int = self._raw.readinto(buffer)
        self.consumed += n
        return n

    def readline(self, size: int | None = -1) -> bytes:
        data: bytes = self._raw.readline(size)
        self.consumed += len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def _keep_alive_handler() -> type:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class KeepAliveRequestHandler(MotoRequestHandler):
        """moto's request handler on persistent HTTP/1.1 connections (see ``KEEP_ALIVE_ENV``)."""

        timeout = IDLE_CONNECTION_S
        _body: _RequestBody
        _in_wsgi = False

        def setup(self) -> None:
            super().setup()
            # werkzeug writes the headers and the body in two sends: with Nagle's algorithm the body waited for
            # the client's delayed ACK of the headers (tens of ms a call on a reused connection)
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._body = _RequestBody(self.rfile)
            self.rfile = self._body  # type: ignore[assignment]  # reads as the buffered reader it wraps

        def handle_one_request(self) -> None:
            super().handle_one_request()
            if self.close_connection:  # a malformed request (send_error closes), or the client's own close
                return
            # the body the application left unread: skipped by its length, or the connection is not reused
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                self.close_connection = True  # botocore frames its bodies by length; this is rare
                return
            unread = int(self.headers.get("Content-Length") or 0) - self._body.consumed
            if unread > 0:
                self._body.finished = False
                self._body.read(unread)

        def run_wsgi(self) -> None:
            self._in_wsgi = True
            try:
                super().run_wsgi()
            finally:
                self._in_wsgi = False

        def send_header(self, keyword: str, value: str) -> None:
            if self._in_wsgi and keyword.lower() == "connection" and value.lower() == "close":
                # werkzeug's, on every response it serves; the request's own Connection header still decides, and
                # send_error's (a request that did not parse, whose framing is unknown) still closes
                return
            super().send_header(keyword, value)

        def make_environ(self) -> dict[str, Any]:
            environ: dict[str, Any] = super().make_environ()
            self._body.start()  # the request line and headers are read: from here on, the body
            environ[_BODY_ENVIRON_KEY] = self._body
            return environ

    return KeepAliveRequestHandler


_BODY_ENVIRON_KEY = "inventory.request_body"


def _finishing(app: Any, stats: CpuStats | None = None) -> Any:
    """The WSGI application, marking the request body finished once the response has been produced.

    With ``stats``, each request's CPU time (its thread's, from the call until the response is written) is
    added to its action's total.
    """

    def application(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        started = time.thread_time() if stats is not None else 0.0
        action = action_of(environ) if stats is not None else ""
        result = app(environ, start_response)
        try:
            yield from result
        finally:
            if hasattr(result, "close"):
                result.close()
            body = environ.get(_BODY_ENVIRON_KEY)
            if body is not None:
                body.finished = True
            if stats is not None:
                stats.add(action, time.thread_time() - started)

    return application


#: ``MOTO_CPU_STATS=PATH``: the server writes the CPU seconds its request threads spent per AWS action to PATH
#: (JSON, ``{"dynamodb Query": {"calls": n, "cpu_s": s}, ...}``, cumulative since start, rewritten every
#: ``CPU_STATS_INTERVAL_S`` while it changes). Thread CPU time: a request waiting for the GIL or the network
#: costs nothing, unlike a sampling profiler's count, which on a busy server put a third of its samples in
#: socket writes that were GIL waits. Python's cyclic collections are counted too, as ``python gc gen N``. The soak
#: reads it per scan (``tests/chaos/soak.py``).
CPU_STATS_ENV = "MOTO_CPU_STATS"
CPU_STATS_INTERVAL_S = 0.5
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/")
_ACTION_PARAM = re.compile(rb"(?:^|&)Action=([A-Za-z0-9]+)")
_FORM = "application/x-www-form-urlencoded"
_MAX_FORM_PEEK = 1 << 20


def action_of(environ: dict[str, Any]) -> str:
    """``"service Action"`` of a request: the SigV4 credential scope's service, and the JSON protocol's target,
    the query protocol's Action (a form body is read and put back) or, for S3, the method and what it names."""
    auth = environ.get("HTTP_AUTHORIZATION") or ""
    query = environ.get("QUERY_STRING") or ""
    scope = _CREDENTIAL_SCOPE.search(auth) or _CREDENTIAL_SCOPE.search(query.replace("%2F", "/"))
    service = scope.group(1) if scope else "unsigned"
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return f"{service} {target.rsplit('.', 1)[-1]}"
    if service == "s3":
        parts = [p for p in (environ.get("PATH_INFO") or "").split("/") if p]
        named = "object" if len(parts) > 1 else "bucket" if parts else "service"
        sub = query.split("=", 1)[0].split("&", 1)[0] if query and "X-Amz-" not in query else ""
        return f"s3 {environ.get('REQUEST_METHOD', '?')} {named}" + (f" ?{sub}" if sub else "")
    found = _ACTION_PARAM.search(query.encode())
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if found is None and (environ.get("CONTENT_TYPE") or "").startswith(_FORM) and 0 < length <= _MAX_FORM_PEEK:
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)  # the application reads the same bytes
        found = _ACTION_PARAM.search(body)
    return f"{service} {found.group(1).decode() if found else environ.get('REQUEST_METHOD', '?')}"


class CpuStats:
    """CPU seconds and calls per action, written to a JSON file by :meth:`flush` (see ``CPU_STATS_ENV``)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._totals: dict[str, list[float]] = {}
        self._changed = False
        self._gc_started: float | None = None  # the collector runs on one thread at a time, under the GIL
        self._gc: dict[int, list[float]] = {generation: [0, 0.0] for generation in range(3)}

    def collector(self, phase: str, info: dict[str, Any]) -> None:
        """A ``gc.callbacks`` entry: each collection's CPU time as the action ``python gc gen N`` (it is inside the
        time of the request that set it off as well: a full pass walks every object the server holds).

        It takes no lock: a collection can start on a thread that holds ``_lock`` (any allocation in :meth:`add`
        or :meth:`flush`), which would wait for itself. Collections do not nest and run under the GIL, and the
        per-generation figures are fixed lists updated in place, so a flush that copies them never sees the
        mapping change.
        """
        if phase == "start":
            self._gc_started = time.thread_time()
            return
        started, self._gc_started = self._gc_started, None
        figures = self._gc.get(info.get("generation", -1))
        if started is not None and figures is not None:
            figures[0] += 1
            figures[1] += time.thread_time() - started
            self._changed = True

    def add(self, action: str, cpu_s: float) -> None:
        with self._lock:
            total = self._totals.setdefault(action, [0, 0.0])
            total[0] += 1
            total[1] += cpu_s
            self._changed = True

    def flush(self) -> None:
        """Rewrite the file if anything was added since the last flush (atomically: readers see whole files)."""
        with self._lock:
            if not self._changed:
                return
            totals = dict(self._totals) | {
                f"python gc gen {generation}": list(figures) for generation, figures in self._gc.items() if figures[0]
            }
            data = {k: {"calls": int(n), "cpu_s": round(s, 4)} for k, (n, s) in sorted(totals.items())}
            self._changed = False
        partial = self._path.with_name(self._path.name + ".partial")
        partial.write_text(json.dumps(data))
        partial.replace(self._path)


#: Python's cyclic collector in the server: a full collection walks every object the server holds (every
#: DynamoDB item and attribute value, every queued message, every EC2 model), so its cost grows with the emulated
#: estate, and the churn of a scan (each resource item rewritten) sets off two or three a scan: 0.44-0.92 s each
#: at 10,000 resources (``MOTO_CPU_STATS``, soak of 2026-12-01), spent inside whichever request allocated last.
#: After each full collection the survivors are frozen (``gc.freeze``: never walked again, still freed by their
#: reference counts), so the next full collection walks only what was promoted since. Garbage cycles among frozen
#: objects would wait, so every ``GC_SWEEP_S`` everything is unfrozen and collected once. ``MOTO_GC_FREEZE=0``:
#: Python's own policy.
GC_FREEZE_ENV = "MOTO_GC_FREEZE"
GC_SWEEP_S = 300.0


class _GcFreezing:
    """The ``gc.callbacks`` entry and the periodic sweep of the server's collector policy (see ``GC_FREEZE_ENV``)."""

    def __init__(self) -> None:
        self.frozen_after = 0  # full collections followed by a freeze
        self.sweeps = 0

    def collector(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info.get("generation") == 2:
            gc.freeze()  # the lists are whole again once a collection has stopped
            self.frozen_after += 1

    def sweep(self) -> None:
        gc.unfreeze()
        gc.collect()  # full: its stop freezes the survivors again
        self.sweeps += 1


@contextlib.contextmanager
def gc_freezing(sweep_s: float = GC_SWEEP_S) -> Iterator[_GcFreezing]:
    """The server's collector policy for the block (see ``GC_FREEZE_ENV``); Python's own again after it."""
    from inventory_core.periodic import periodically

    policy = _GcFreezing()
    gc.callbacks.append(policy.collector)
    try:
        with periodically(sweep_s, policy.sweep, name="gc-sweep"):
            yield policy
    finally:
        gc.callbacks.remove(policy.collector)
        gc.unfreeze()


def read_cpu_stats(path: Path) -> dict[str, tuple[int, float]]:
    """What a server wrote to ``path`` (see ``CPU_STATS_ENV``): calls and CPU seconds per action; empty if none."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: (int(v["calls"]), float(v["cpu_s"])) for k, v in data.items()}


def serve(host: str, port: int) -> None:
    """moto's application on werkzeug's threaded server, with keep-alive connections."""
    from inventory_core.periodic import periodically
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import run_simple

    stats_path = os.environ.get(CPU_STATS_ENV)
    stats = CpuStats(Path(stats_path)) if stats_path else None
    app = _finishing(DomainDispatcherApplication(create_backend_app), stats)

    def serving() -> None:
        with contextlib.ExitStack() as stack:
            if os.environ.get(GC_FREEZE_ENV, "1") != "0":
                stack.enter_context(gc_freezing())
            run_simple(host, port, app, threaded=True, request_handler=_keep_alive_handler())

    if stats is None:
        serving()
        return
    gc.callbacks.append(stats.collector)
    try:
        with periodically(CPU_STATS_INTERVAL_S, stats.flush, name="cpu-stats"):
            serving()
    finally:
        gc.callbacks.remove(stats.collector)
        stats.flush()


def main(argv: list[str] | None = None) -> None:
    """``python -m inventory_cli.moto_fast -H HOST -p PORT``: the patched moto server."""
    import argparse
    import signal

    apply()
    from inventory_core.memory import trimming

    args = sys.argv[1:] if argv is None else argv
    if os.environ.get(KEEP_ALIVE_ENV, "1") == "0":
        from moto.server import main as serve_as_moto

        with trimming(HEAP_TRIM_INTERVAL_S):
            serve_as_moto(args)
        return
    parser = argparse.ArgumentParser(prog="python -m inventory_cli.moto_fast")
    parser.add_argument("-H", "--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("-p", "--port", type=int, default=int(os.environ.get("MOTO_PORT", "5000")), help="port")
    parsed = parser.parse_args(args)
    stats_path = os.environ.get(CPU_STATS_ENV)
    if stats_path and not os.access(Path(stats_path).parent, os.W_OK):
        # refused now: found at the first flush, the stats thread died with a traceback and the server ran on
        parser.error(f"{CPU_STATS_ENV}={stats_path}: its folder does not exist or is not writable")
    os.environ.setdefault("MOTO_PORT", str(parsed.port))  # as moto's own command: some answers name the port
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with trimming(HEAP_TRIM_INTERVAL_S):
        serve(parsed.host, parsed.port)


if __name__ == "__main__":
    main()
