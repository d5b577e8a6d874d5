"""The moto server with two hot spots patched (same answers, less time): EC2 tags, module listing.

moto 5.2.5 serialises every EC2 resource's tags through ``TagBackend.describe_tags(filters={"resource-id":
[id]})``, which copies and regex-matches every tag of the account and region for each resource. A
``describe_instances`` of 1,333 instances in one region therefore made about 5 million regex matches, and at
10,000 seeded resources 95% of the server's time went to serialising EC2 responses (py-spy, soak of
2026-11-30): every other caller of the single-process server (SQS, DynamoDB, S3) queued behind it, and scan
scopes timed out. The first patch answers the same question from ``TagBackend.tags`` (resource id -> key -> value)
directly; an id with glob characters, which moto would treat as a pattern, still takes moto's own path.

    python -m inventory_cli.moto_fast -H 127.0.0.1 -p 5000   (the arguments of python -m moto.server)
"""

from __future__ import annotations

import sys
from typing import Any

_GLOB = frozenset("*?[")


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


def apply() -> None:
    """Every patch of this module (the emulator's behaviour is unchanged, only its speed)."""
    patch_ec2_tag_lookup()
    patch_module_listing()


def main() -> None:
    apply()
    from moto.server import main as serve

    serve(sys.argv[1:])


if __name__ == "__main__":
    main()
