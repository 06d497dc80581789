"""The cloud-region catalogue: completeness for the US, sane coordinates, ids, lookups, and
where the US regions fall in the Electricity Maps test zones."""
from __future__ import annotations

import json

import pytest
from shapely.geometry import Point, shape

from api.services import cloud_locations as cloud_location
from api.services.boundaries import Boundaries
from api.services.cloud_locations import CloudLocation, find, locations, providers
from tests.test_boundaries import ZONES

US_REGIONS = {
    "aws": ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "us-gov-east-1", "us-gov-west-1"],
    "gcp": ["us-central1", "us-central2", "us-east1", "us-east4", "us-east5", "us-east7", "us-south1",
            "us-west1", "us-west2", "us-west3", "us-west4"],
    "azure": ["eastus", "eastus2", "centralus", "northcentralus", "southcentralus", "westcentralus",
              "westus", "westus2", "westus3"],
}
# The lower 48's bounding box: every US cloud region is there.
US_BOX = {"south": 24.5, "north": 49.4, "west": -124.8, "east": -66.9}


def us_locations() -> list[CloudLocation]:
    return [find(f"{provider}:{name}") for provider, names in US_REGIONS.items() for name in names]


def test_providers():
    assert providers() == ["aws", "gcp", "azure"]


@pytest.mark.parametrize("provider, name", [(p, n) for p, names in US_REGIONS.items() for n in names])
def test_every_us_region_is_present_inside_the_us(provider, name):
    place = find(f"{provider}:{name}")
    assert place is not None, f"{provider}:{name} is missing"
    assert US_BOX["south"] <= place.latitude <= US_BOX["north"]
    assert US_BOX["west"] <= place.longitude <= US_BOX["east"]
    assert place.display_name and place.citation


def test_every_entry_is_complete_and_cited():
    entries = [place for provider in providers() for place in locations(provider)]
    assert len(entries) >= sum(len(names) for names in US_REGIONS.values())
    for place in entries:
        assert place.provider in providers()
        assert place.name == place.name.strip().lower() and place.name
        assert -90 <= place.latitude <= 90 and -180 <= place.longitude <= 180
        assert (place.latitude, place.longitude) != (0.0, 0.0), place.id
        assert "http" in place.citation, f"{place.id} cites no source"


def test_ids_are_unique_in_the_data_file():
    raw = json.loads(cloud_location.DATA_FILE.read_text())["locations"]
    ids = [f"{entry['provider']}:{entry['name']}" for entry in raw]
    assert len(ids) == len(set(ids))
    assert len(cloud_location._catalogue()) == len(raw)


def test_locations_are_per_provider_and_sorted():
    for provider in providers():
        names = [place.name for place in locations(provider)]
        assert names == sorted(names) and set(US_REGIONS[provider]) <= set(names)
        assert {place.provider for place in locations(provider)} == {provider}
    assert locations("Google") == locations("gcp")
    with pytest.raises(ValueError, match="unknown cloud provider 'ibm'"):
        locations("ibm")


@pytest.mark.parametrize("location_id, expected", [
    ("aws:us-west-2", "aws:us-west-2"),
    ("AWS:US-WEST-2", "aws:us-west-2"),
    (" aws : us-west-2 ", "aws:us-west-2"),
    ("gcp:us-central1", "gcp:us-central1"),
    ("google:us-central1", "gcp:us-central1"),
    ("gcloud:us-central1", "gcp:us-central1"),
    ("azure:westus2", "azure:westus2"),
    ("Microsoft:WestUS2", "azure:westus2"),
])
def test_find(location_id, expected):
    assert find(location_id).id == expected


@pytest.mark.parametrize("location_id", [
    "us-west-2", "aws", "aws:", ":us-west-2", "aws:us-west-2:a", "aws/us-west-2", "ibm:us-south",
    "aws:us-west-9", "azure:us-west-2", "", None, 42,
])
def test_find_rejects_malformed_and_unknown_ids(location_id):
    assert find(location_id) is None


@pytest.fixture(scope="module")
def zones(shared_fixtures):
    path = shared_fixtures.parent / "geo" / "us_zones.geojson"
    if not path.is_file():
        pytest.skip(f"test boundaries not found at {path}")
    raw = [(ZONES[f["properties"]["zoneName"]], shape(f["geometry"]))
           for f in json.loads(path.read_text())["features"]]
    return Boundaries.load(path, ZONES.get), raw


@pytest.mark.parametrize("location_id, expected", [
    ("aws:us-west-1", "CISO"),  # N. California (San Jose area)
    ("aws:us-east-1", "PJM"),  # N. Virginia (Loudoun County)
    ("aws:us-east-2", "PJM"),  # Ohio (Columbus: AEP Ohio)
    ("aws:us-west-2", "PACW"),  # Oregon (Boardman area)
    ("gcp:us-west1", "PACW"),  # The Dalles, Oregon
    ("gcp:us-west2", "CISO"),  # Los Angeles
    ("gcp:us-south1", "ERCO"),  # Dallas
    ("gcp:us-central2", None),  # Tulsa, Oklahoma (the original's coordinates): outside this file's SWPP polygon
    ("gcp:us-east7", None),  # Birmingham, Alabama: Southern Company (SOCO), not one of this file's zones
    ("azure:centralus", "MISO"),  # Des Moines, Iowa
    ("azure:southcentralus", "ERCO"),  # San Antonio
    ("azure:northcentralus", "PJM"),  # Chicago
    ("azure:westus", "CISO"),  # San Francisco
    # Council Bluffs, Iowa. The city is MidAmerican's (MISO) territory, but this file's SWPP
    # polygon takes in western Iowa north of 41.15 N between the Missouri and 95 W (SPP has
    # members there, e.g. NIPCO); the point is 0.11 degrees outside MISO's polygon. The
    # coordinates are Council Bluffs' (checked against the city centre, which the file also
    # puts in SWPP), so this is what these boundaries say, not a data-entry error.
    ("gcp:us-central1", "SWPP"),
    # Quincy, Washington: Grant County PUD (GCPD) is its own balancing authority and is not
    # one of this file's 11 zones; with the full HIFLD layer it resolves to GCPD.
    ("azure:westus2", None),
])
def test_cloud_regions_in_the_test_zones(zones, location_id, expected):
    boundaries, raw = zones
    place = find(location_id)
    point = Point(place.longitude, place.latitude)
    in_file = [code for code, geometry in raw if geometry.covers(point)]
    assert in_file == ([expected] if expected else []), f"the file puts {location_id} in {in_file}"
    assert boundaries.locate(place.latitude, place.longitude) == expected


def test_non_us_regions_fall_in_no_us_zone(zones):
    boundaries, _ = zones
    foreign = [place for provider in providers() for place in locations(provider)
               if place.name not in US_REGIONS[provider]]
    assert len(foreign) > 50 and find("aws:ca-central-1") in foreign  # Montreal, close to NYISO
    assert {boundaries.locate(place.latitude, place.longitude) for place in foreign} == {None}


def test_every_original_location_in_a_covered_region_resolves(zones, shared_fixtures):
    """The original's catalogue (../shared/reference): each of its AWS, Azure and gcloud regions
    whose coordinates lie in a region of the test boundaries is in ours and resolves to that
    region. (Its Nautilus research sites are not cloud regions and are not carried.)"""
    import yaml

    path = shared_fixtures.parent / "reference" / "seed_cloud_location.yaml"
    if not path.is_file():
        pytest.skip(f"the original's catalogue not found at {path}")
    boundaries, _ = zones
    checked = 0
    for cloud in yaml.safe_load(path.read_text())["public_clouds"]:
        if cloud["provider"] == "Nautilus":
            continue
        for entry in cloud["regions"]:
            latitude, longitude = (float(value) for value in entry["gps"])
            if US_BOX["south"] <= latitude <= US_BOX["north"] and US_BOX["west"] <= longitude <= US_BOX["east"]:
                assert find(f"{cloud['provider']}:{entry['code']}") is not None, f"US region {entry['code']} is missing"
            region = boundaries.locate(latitude, longitude)
            if region is None:
                continue
            place = find(f"{cloud['provider']}:{entry['code']}")
            assert place is not None, f"{cloud['provider']}:{entry['code']} (in {region}) is missing"
            assert boundaries.locate(place.latitude, place.longitude) == region, place.id
            checked += 1
    assert checked == 12  # of the 66 AWS, Azure and gcloud regions, those in the 11 test zones
