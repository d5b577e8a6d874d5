from __future__ import annotations

from datetime import date

import pytest
from scanner.catalog import CATALOG, TRD_CATALOG, ScopeContext, spec_by_slug
from scanner.config import ConfigError, config_yaml, generate_config, parse_config, scan_plan

from tests.builders import T0

TRD_SHEETS = {
    ("EC2Instances", "ec2", "describe_instances", "Reservations", "Instances"),
    ("ECSServices", "ecs", "list_services", "serviceArns", None),
    ("LambdaFunctions", "lambda", "list_functions", "Functions", None),
    ("RDSInstances", "rds", "describe_db_instances", "DBInstances", None),
    ("DynamoDBTables", "dynamodb", "list_tables", "TableNames", None),
    ("S3Buckets", "s3", "list_buckets", "Buckets", None),
    ("VPCs", "ec2", "describe_vpcs", "Vpcs", None),
    ("LoadBalancers", "elbv2", "describe_load_balancers", "LoadBalancers", None),
}
USER_SHEET = """
inventories:
  - name: mine
    aws: {profile: null, region: [eu-west-1], organization: false}
    sheets:
      - name: EC2Instances
        service: ec2
        function: describe_instances
        result_key: Reservations
        flatten: Instances
      - name: Snapshots
        service: ec2
        function: describe_snapshots
        result_key: Snapshots
        parameters: {OwnerIds: [self]}
"""


def no_such_call(service: str, function: str) -> str | None:
    return None if (service, function) != ("ec2", "describe_nothing") else "ec2 has no function 'describe_nothing'"


def test_generated_config_has_the_trd_document_shape_and_sheets() -> None:
    document = generate_config(["us-east-1", "us-west-2", "eu-west-1", "ap-south-1"], on=date(2026, 1, 31))
    inventory = document["inventories"][0]
    assert inventory["name"] == "nucleus-discovery-2026-01-31"
    assert inventory["aws"] == {
        "profile": None,
        "region": ["us-east-1", "us-west-2", "eu-west-1", "ap-south-1"],
        "organization": False,
    }
    sheets = {(s["name"], s["service"], s["function"], s["result_key"], s.get("flatten")) for s in inventory["sheets"]}
    assert sheets == TRD_SHEETS


def test_generated_yaml_round_trips_to_the_same_scan_plan() -> None:
    text = config_yaml(generate_config(["eu-west-1"], on=date(2026, 1, 31), specs=CATALOG), account_ids=["1" * 12])
    assert "# accounts (syncEnabled): 111111111111" in text
    regions, specs = scan_plan(parse_config(text))
    assert regions == ["eu-west-1"]
    assert [s.slug for s in specs] == [s.slug for s in CATALOG]
    assert [s.normalize for s in specs] == [s.normalize for s in CATALOG]
    assert specs[1].lister == "ecs_services"  # the TRD ECS sheet is walked through its clusters


def test_a_user_sheet_is_scanned_with_its_parameters_and_normalized_generically() -> None:
    _, specs = scan_plan(parse_config(USER_SHEET))
    assert specs[0] == TRD_CATALOG[0].__class__(**{**TRD_CATALOG[0].__dict__, "sheet": "EC2Instances"})
    snapshot = specs[1]
    assert (snapshot.slug, snapshot.parameters, snapshot.is_global) == ("snapshots", {"OwnerIds": ["self"]}, False)
    ctx = ScopeContext(account_id="111111111111", region="eu-west-1", discovered_at=T0)
    r = snapshot.normalize(
        {"SnapshotId": "snap-1", "State": "completed", "VolumeSize": 8, "Tags": [{"Key": "Name", "Value": "nightly"}]},
        ctx,
    )
    assert (r.resource_id, r.resource_type, r.state, r.name) == ("snap-1", "snapshots", "completed", "nightly")
    assert r.resource_arn == "arn:aws:ec2:eu-west-1:111111111111:snapshots/snap-1"
    assert r.metadata == {"SnapshotId": "snap-1", "State": "completed", "VolumeSize": "8"}


def test_a_generic_item_keeps_the_arn_the_api_gives() -> None:
    # (describe_fleets is a catalogue type now; a call outside the catalogue is normalized generically)
    _, specs = scan_plan(parse_config(USER_SHEET.replace("describe_snapshots", "describe_spot_fleet_requests")))
    ctx = ScopeContext(account_id="111111111111", region="eu-west-1", discovered_at=T0)
    r = specs[1].normalize({"FleetId": "f-1", "FleetArn": "arn:aws:ec2:eu-west-1:1:fleet/f-1"}, ctx)
    assert r.resource_arn == "arn:aws:ec2:eu-west-1:1:fleet/f-1"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("        function: describe_snapshots\n", ""), "sheet 'Snapshots': field 'function': Field required"),
        (("result_key: Snapshots", "result_key: ''"), "sheet 'Snapshots': field 'result_key'"),
        (
            ("describe_snapshots", "delete_snapshot"),
            "sheet 'Snapshots': field 'function': Value error, 'delete_snapshot' is not a read-only",
        ),
        (("describe_snapshots", "describe_nothing"), "sheet 'Snapshots': field 'function': ec2 has no function"),
        (
            ("        flatten: Instances\n", "        flaten: Instances\n"),
            "sheet 'EC2Instances': field 'flaten': Extra inputs",
        ),
        (("name: Snapshots", "name: EC2Instances"), "sheet 'EC2Instances': field 'name': used by two sheets"),
        (("region: [eu-west-1]", "region: []"), "field 'inventories.0.aws.region'"),
        (("sheets:", "sheets: [unclosed"), "not valid YAML"),
    ],
)
def test_an_invalid_config_names_the_sheet_and_the_field(change: tuple[str, str], message: str) -> None:
    text = USER_SHEET.replace(*change)
    assert text != USER_SHEET
    with pytest.raises(ConfigError) as raised:
        parse_config(text, operation_exists=no_such_call)
    assert message in str(raised.value)


def test_a_sheet_without_a_name_is_named_by_its_position() -> None:
    with pytest.raises(ConfigError, match=r"sheet #2: field 'name'"):
        parse_config(USER_SHEET.replace("      - name: Snapshots\n        service: ec2", "      - service: ec2"))


def test_catalogue_types_are_matched_by_service_and_function() -> None:
    text = USER_SHEET.replace("describe_snapshots", "describe_subnets").replace(
        "result_key: Snapshots", "result_key: Subnets"
    )
    _, specs = scan_plan(parse_config(text))
    assert specs[1].normalize is spec_by_slug("subnet").normalize
    assert specs[1].cfn_type == "AWS::EC2::Subnet"
