"""LIST_PAGE_SIZE_MAX lowers the page size of the listings that ask for more, and only those."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from scanner.bootstrap import capped_page_sizes
from scanner.catalog import select_specs
from scanner.settings import ScannerSettings

BASE = {"APP_TABLE_NAME": "t", "EVENTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:e"}


def test_the_cap_lowers_larger_page_sizes_and_keeps_the_others() -> None:
    specs = select_specs("trd")
    before = {s.slug: s.page_size for s in specs}
    assert before["ec2"] == 1000 and before["lambda"] == 50  # the catalogue's own sizes, above and below the cap
    after = {s.slug: s.page_size for s in capped_page_sizes(specs, 200)}
    assert after["ec2"] == after["vpc"] == 200
    assert after["elbv2"] == 200
    assert after["lambda"] == 50 and after["rds"] == 100
    assert all(after[slug] is None for slug, size in before.items() if size is None)  # the API's own default
    assert [s.slug for s in capped_page_sizes(specs, 200)] == [s.slug for s in specs]


def test_no_cap_keeps_every_spec() -> None:
    specs = select_specs("trd")
    assert capped_page_sizes(specs, None) == specs


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {**BASE, "LIST_PAGE_SIZE_MAX": "250"}.items():
        monkeypatch.setenv(key, value)
    assert ScannerSettings().list_page_size_max == 250
    monkeypatch.setenv("LIST_PAGE_SIZE_MAX", "2")  # below any API's minimum page size
    with pytest.raises(ValidationError, match="list_page_size_max"):
        ScannerSettings()
