"""``make preflight``: checks what CloudFormation cannot create or own, before and after ``make deploy``.

1. The app table (the stack's own or one imported by ``inventory:existingAppTableName``, TRD 3.1) has the
   topology's keys, GSIs (string keys, ALL projection) and TTL attribute.
2. The S3 Tables integration with the AWS analytics services is on: the Glue federated catalog
   ``s3tablescatalog/<table bucket>`` shows the namespace's tables, so docs/analytics.md's Athena queries run.

Exit status 0 when every check passes, 1 otherwise; each line says what to fix.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError
from inventory_core.aws import AwsClientFactory
from inventory_core.topology import TableSpec, build_topology

ANALYTICS_TABLES = ("resources", "resource_history")
"""The tables docs/analytics.md queries."""


@dataclass(frozen=True)
class Finding:
    """One check's outcome."""

    check: str
    ok: bool
    message: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.check}: {self.message}"


def _key_schema(schema: list[dict[str, str]]) -> tuple[str | None, str | None]:
    by_type = {k["KeyType"]: k["AttributeName"] for k in schema}
    return by_type.get("HASH"), by_type.get("RANGE")


def check_app_table(dynamodb: Any, spec: TableSpec, name: str) -> list[Finding]:
    """The table named ``name`` against ``spec``: keys, attribute types, GSIs and TTL."""
    check = f"app table {name}"
    try:
        table = dynamodb.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        return [
            Finding(check, False, f"cannot describe it ({exc.response['Error']['Code']}): create it or fix the name")
        ]
    findings: list[Finding] = []
    types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    keys = _key_schema(table["KeySchema"])
    want = (spec.pk, spec.sk)
    findings.append(Finding(check, keys == want, f"keys {keys}, expected {want}"))
    gsis = {g["IndexName"]: g for g in table.get("GlobalSecondaryIndexes", [])}
    for gsi in spec.gsis:
        index = gsis.get(gsi.name)
        if index is None:
            findings.append(Finding(check, False, f"GSI {gsi.name} ({gsi.pk}, {gsi.sk}) is missing"))
            continue
        got = _key_schema(index["KeySchema"])
        projection = index.get("Projection", {}).get("ProjectionType")
        ok = got == (gsi.pk, gsi.sk) and projection == "ALL"
        findings.append(
            Finding(check, ok, f"GSI {gsi.name} keys {got} projection {projection}, expected ({gsi.pk}, {gsi.sk}) ALL")
        )
    wrong_types = sorted(
        k for k in (spec.pk, spec.sk, *(a for g in spec.gsis for a in (g.pk, g.sk))) if types.get(k, "S") != "S"
    )
    findings.append(Finding(check, not wrong_types, f"string key attributes (not S: {wrong_types or 'none'})"))
    if spec.ttl_attribute:
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        ok = ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and ttl.get("AttributeName") == spec.ttl_attribute
        findings.append(
            Finding(
                check,
                ok,
                f"TTL {ttl.get('TimeToLiveStatus')} on {ttl.get('AttributeName')}, "
                f"expected ENABLED on {spec.ttl_attribute}",
            )
        )
    return findings


def check_analytics_integration(glue: Any, account_id: str, table_bucket: str, namespace: str) -> list[Finding]:
    """The federated catalog of the table bucket lists the namespace's tables (Athena can see them)."""
    check = "S3 Tables analytics integration"
    catalog = f"{account_id}:s3tablescatalog/{table_bucket}"
    try:
        tables = {t["Name"] for t in glue.get_tables(CatalogId=catalog, DatabaseName=namespace)["TableList"]}
    except ClientError as exc:
        return [
            Finding(
                check,
                False,
                f"catalog {catalog} database {namespace} not visible ({exc.response['Error']['Code']}): enable the "
                "integration and grant Lake Formation access (docs/deploy.md, 'Analytics with Athena')",
            )
        ]
    missing = sorted(set(ANALYTICS_TABLES) - tables)
    return [Finding(check, not missing, f"{catalog}/{namespace} tables {sorted(tables)}; missing {missing or 'none'}")]


def run(
    clients: AwsClientFactory, *, account_id: str, region: str, stage: str, existing_app_table: str | None
) -> list[Finding]:
    """Every check for one deployment (stage) of the stack in ``account_id``/``region``."""
    topology = build_topology(account_id, region, prefix=f"{stage}-" if stage else "")
    name = existing_app_table or topology.table.name
    return [
        *check_app_table(clients.client("dynamodb"), topology.table, name),
        *check_analytics_integration(
            clients.client("glue"), account_id, topology.table_bucket, topology.iceberg_namespace
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="preflight", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stage", default="", help="the stage deployed with -c inventory:stage=...")
    parser.add_argument("--existing-app-table", help="the table imported with -c inventory:existingAppTableName=...")
    parser.add_argument("--skip-analytics", action="store_true", help="only the table check (before the first deploy)")
    args = parser.parse_args(argv)
    region = boto3.session.Session().region_name
    if not region:
        parser.error("no region: set AWS_REGION (the stack's home region)")
    clients = AwsClientFactory(region)
    account_id = clients.client("sts").get_caller_identity()["Account"]
    findings = run(
        clients, account_id=account_id, region=region, stage=args.stage, existing_app_table=args.existing_app_table
    )
    if args.skip_analytics:
        findings = [f for f in findings if not f.check.startswith("S3 Tables")]
    for finding in findings:
        print(finding.line())  # noqa: T201 - a command-line report
    return 0 if all(f.ok for f in findings) else 1


if __name__ == "__main__":
    sys.exit(main())
