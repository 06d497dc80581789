"""The cloud-region catalogue: every public region of the three providers, sane coordinates,
ids and bare names, and each region's stored grid zone checked against boundaries: the
Electricity Maps test zones for the US, the file built from the hand-written Natural Earth
samples elsewhere."""
from __future__ import annotations

import json
import re

import pytest
from shapely.geometry import Point, shape

from api.services import cloud_locations as cloud_location
from api.services.boundaries import Boundaries
from api.services.cloud_locations import CloudLocation, find, find_any, locations, providers
# The fixtures that build the boundaries file from the hand-written samples, shared with its tests.
from tests.test_boundaries import ZONES, downloader, world, world_download, zones_path  # noqa: F401

# Every region each provider lists (AWS: its region list, with GovCloud and China; Google: the
# Compute Engine regions, and us-central2 and us-east7 that the original service listed; Azure:
# Microsoft's region list, with the regions operated by 21Vianet in China).
AWS = {"af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
       "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
       "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1", "cn-north-1", "cn-northwest-1",
       "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2",
       "eu-west-3", "il-central-1", "me-central-1", "me-south-1", "mx-central-1", "sa-east-1", "us-east-1",
       "us-east-2", "us-gov-east-1", "us-gov-west-1", "us-west-1", "us-west-2"}
GCP = {"africa-south1", "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2", "asia-northeast3",
       "asia-south1", "asia-south2", "asia-southeast1", "asia-southeast2", "asia-southeast3", "australia-southeast1",
       "australia-southeast2", "europe-central2", "europe-north1", "europe-north2", "europe-southwest1",
       "europe-west1", "europe-west2", "europe-west3", "europe-west4", "europe-west6", "europe-west8",
       "europe-west9", "europe-west10", "europe-west12", "me-central1", "me-central2", "me-west1",
       "northamerica-northeast1", "northamerica-northeast2", "northamerica-south1", "southamerica-east1",
       "southamerica-west1", "us-central1", "us-central2", "us-east1", "us-east4", "us-east5", "us-east7",
       "us-south1", "us-west1", "us-west2", "us-west3", "us-west4"}
AZURE = {"australiacentral", "australiacentral2", "australiaeast", "australiasoutheast", "austriaeast",
         "belgiumcentral", "brazilsouth", "brazilsoutheast", "canadacentral", "canadaeast", "centralindia",
         "centralus", "chilecentral", "chinaeast", "chinaeast2", "chinaeast3", "chinanorth", "chinanorth2",
         "chinanorth3", "eastasia", "eastus", "eastus2", "francecentral", "francesouth", "germanynorth",
         "germanywestcentral", "indonesiacentral", "israelcentral", "italynorth", "japaneast", "japanwest",
         "jioindiacentral", "jioindiawest", "koreacentral", "koreasouth", "malaysiawest", "mexicocentral",
         "newzealandnorth", "northcentralus", "northeurope", "norwayeast", "norwaywest", "polandcentral",
         "qatarcentral", "southafricanorth", "southafricawest", "southcentralus", "southeastasia", "southindia",
         "spaincentral", "swedencentral", "swedensouth", "switzerlandnorth", "switzerlandwest", "uaecentral",
         "uaenorth", "uksouth", "ukwest", "westcentralus", "westeurope", "westindia", "westus", "westus2",
         "westus3"}
ZONE_KEY = re.compile(r"^[A-Z]{2}(-[A-Z0-9]+)*$")

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


def test_every_public_region_of_each_provider_is_there():
    assert {place.name for place in locations("aws")} == AWS
    assert {place.name for place in locations("gcp")} == GCP
    assert {place.name for place in locations("azure")} == AZURE
    assert (len(AWS), len(GCP), len(AZURE)) == (38, 45, 64)


def test_every_entry_is_complete_and_cited():
    entries = [place for provider in providers() for place in locations(provider)]
    assert len(entries) == len(AWS) + len(GCP) + len(AZURE)
    for place in entries:
        assert place.provider in providers()
        assert place.name == place.name.strip().lower() and place.name
        assert -90 <= place.latitude <= 90 and -180 <= place.longitude <= 180
        assert (place.latitude, place.longitude) != (0.0, 0.0), place.id
        assert "http" in place.citation or "by hand" in place.citation, f"{place.id} cites no source"
        assert place.zone and place.zone_source.startswith(("boundaries: coordinates in ",
                                                            "boundaries: coordinates nearest ", "by hand: ")), place.id


def test_zones_are_our_region_ids_in_the_us_and_zone_keys_elsewhere(db):
    with db.cursor() as cur:
        cur.execute("SELECT code FROM region")
        codes = {code for (code,) in cur.fetchall()}
    us = {place.id for place in us_locations()}
    for place in (p for provider in providers() for p in locations(provider)):
        if place.id in us:
            assert place.zone in codes, f"{place.id}: {place.zone} is not one of our regions"
        else:  # a region of ours too once a source for it is added (the European ones, ...)
            assert ZONE_KEY.match(place.zone) and cloud_location.zone_name(place.zone), place.id


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


@pytest.mark.parametrize("text, expected", [
    ("westeurope", "azure:westeurope"), ("SwedenCentral", "azure:swedencentral"), ("eu-west-1", "aws:eu-west-1"),
    ("europe-west1", "gcp:europe-west1"), ("aws:eu-west-1", "aws:eu-west-1"), ("gcloud:europe-west1", "gcp:europe-west1"),
])
def test_find_any_takes_bare_names_and_ids(text, expected):
    assert find_any(text).id == expected


@pytest.mark.parametrize("text", ["", "narnia", "aws:westeurope", "CISO", None])
def test_find_any_rejects_what_is_no_cloud_region(text):
    assert find_any(text) is None


@pytest.mark.parametrize("location_id, zone", [
    ("aws:eu-west-1", "IE"), ("azure:northeurope", "IE"), ("azure:westeurope", "NL"),
    ("azure:swedencentral", "SE-SE3"), ("aws:eu-north-1", "SE-SE3"), ("azure:norwayeast", "NO-NO1"),
    ("aws:eu-south-1", "IT-NO"), ("aws:ap-southeast-2", "AU-NSW"), ("aws:ca-central-1", "CA-QC"),
    ("gcp:europe-west1", "BE"), ("aws:ap-south-1", "IN-WE"), ("aws:us-east-1", "PJM"), ("azure:westus2", "GCPD"),
])
def test_stored_zones(location_id, zone):
    assert find(location_id).zone == zone


def test_not_covered_reason_names_the_zone():
    assert cloud_location.not_covered_reason("IN-WE").startswith(
        "grid zone IN-WE (Western India) is not covered: no source for its generation mix is crawled here")
    assert cloud_location.not_covered_reason("XX").startswith("grid zone XX is not covered")


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


def test_us_zones_agree_with_the_boundaries_file(zones):
    """Each US region's stored zone is what the recorded Electricity Maps zones say at its
    coordinates; where that file has no zone there, the stored one is none of its zones."""
    boundaries, _ = zones
    agreed, elsewhere = 0, {}
    for place in us_locations():
        in_file = boundaries.locate(place.latitude, place.longitude)
        if in_file is None:
            assert place.zone not in boundaries.regions, place.id
            elsewhere[place.id] = place.zone
        else:
            assert place.zone == in_file, place.id
            agreed += 1
    assert agreed == 18
    # outside the file's 11 zones: balancing authorities it does not have (the full zone outlines
    # the catalogue was built from do)
    assert elsewhere == {"gcp:us-central2": "AECI", "gcp:us-east1": "SCEG", "gcp:us-east7": "SOCO",
                         "gcp:us-west3": "PACE", "gcp:us-west4": "NEVP", "azure:westcentralus": "PACE",
                         "azure:westus2": "GCPD", "azure:westus3": "SRP"}


NON_US_IN_THE_SAMPLE = {
    "aws:eu-west-1", "azure:northeurope", "azure:westeurope", "gcp:europe-west4", "aws:eu-north-1",
    "gcp:europe-north2", "azure:swedencentral", "azure:swedensouth", "azure:norwayeast", "azure:norwaywest",
    "aws:eu-south-1", "azure:italynorth", "gcp:europe-west8", "gcp:europe-west12", "aws:ap-southeast-2",
    "aws:ap-southeast-4", "azure:australiacentral", "azure:australiasoutheast", "aws:ca-central-1",
    "aws:ca-west-1", "azure:canadacentral", "azure:canadaeast", "gcp:northamerica-northeast2",
    "aws:eu-west-2", "azure:uksouth", "aws:eu-west-3", "azure:francecentral", "gcp:europe-west9",
}


def test_non_us_zones_agree_with_the_handwritten_natural_earth_sample(world):
    """The stored zone of each cloud region that lies in an area of the file `make boundaries`
    builds from the hand-written Natural Earth samples is the zone that file gives its point."""
    checked = set()
    for place in (p for provider in providers() for p in locations(provider)):
        in_file = world.locate(place.latitude, place.longitude)
        if in_file is None or place.id in {p.id for p in us_locations()}:
            continue
        assert place.zone == in_file, place.id
        checked.add(place.id)
    assert NON_US_IN_THE_SAMPLE <= checked


# --- the API: cloud ids with no boundaries installed -------------------------------------------

CAISO_HOUR = {"start": "2025-02-09T08:00:00Z", "end": "2025-02-09T09:00:00Z"}  # the hand-written CAISO day
US_NAMES = {name for names in US_REGIONS.values() for name in names}


@pytest.fixture
def no_boundaries(filled, tmp_path, monkeypatch):
    """An app over the filled database with no boundaries file and no WattTime account."""
    from api import create_app

    monkeypatch.setenv("ENERGY_DATA_BOUNDARIES", str(tmp_path / "absent.geojson"))
    for name in ("WATTTIME_USERNAME", "WATTTIME_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return create_app(filled)


def get(client, path, **params):
    response = client.get(path, query_string=params)
    return response.status_code, response.get_json()


def test_a_cloud_id_resolves_with_no_boundaries_installed(no_boundaries):
    client = no_boundaries.test_client()
    status, body = get(client, "/balancing-authority/", location="aws:us-east-1")
    assert status == 200, body  # was a 503: the id was placed through the boundaries
    assert (body["region"]["id"], body["method"], body["cloud_location"]) == ("PJM", "cloud", "aws:us-east-1")
    assert (body["latitude"], body["longitude"]) == (find("aws:us-east-1").latitude, find("aws:us-east-1").longitude)
    status, by_cloud = get(client, "/carbon-intensity/", location="aws:us-west-1", **CAISO_HOUR)
    _, by_region = get(client, "/carbon-intensity/", region="CISO", **CAISO_HOUR)
    assert status == 200 and by_cloud["region"] == "CISO" and by_cloud["location_method"] == "cloud"
    assert by_cloud["carbon_intensities"] == by_region["carbon_intensities"] and len(by_region["carbon_intensities"]) == 12
    # coordinates still need the boundaries, and the answer says what works without them
    status, body = get(client, "/balancing-authority/", latitude=37.7749, longitude=-122.4194)
    assert status == 503 and body["error"]["code"] == "boundaries_not_installed"
    assert "cloud regions work without them" in body["error"]["message"]


# Zones no source here covers (India, Japan, South Africa, Singapore); the European, Australian
# and Canadian ones are covered once their sources add them as regions.
@pytest.mark.parametrize("params, zone, name", [
    ({"location": "gcp:asia-south1"}, "IN-WE", "Western India"),
    ({"location": "aws:ap-northeast-1"}, "JP-TK", "Tokyo area (Japan)"),
    ({"location": "japanwest"}, "JP-KN", "Kansai (Japan)"),  # the bare names the Carbon Aware SDK uses
    ({"location": "southafricanorth"}, "ZA", "South Africa"),
    ({"location": "ap-southeast-1"}, "SG", "Singapore"),
])
def test_a_cloud_region_in_a_zone_without_a_source_is_not_covered(no_boundaries, params, zone, name):
    client = no_boundaries.test_client()
    for path, extra in (("/balancing-authority/", {}), ("/carbon-intensity/", CAISO_HOUR)):
        status, body = get(client, path, **params, **extra)
        assert status == 404, body
        error = body["error"]
        assert (error["code"], error["parameter"]) == ("not_covered", "location")
        assert f"grid zone {zone} ({name}) is not covered" in error["message"]
        assert find_any(params["location"]).id in error["message"]
    status, body = get(client, "/balancing-authority/", location="aws:mars-1")
    assert status == 404 and body["error"]["code"] == "unknown_location"


def covered_names(database_url: str) -> set[str]:
    """Every name of a region in the region table (code, alias, full name), normalised."""
    import psycopg2

    from database.regions import region_names

    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        return set(region_names(cur))


def test_the_catalogue_listing_says_what_is_covered(no_boundaries, filled):
    from database.regions import normalise_name

    names = covered_names(filled)
    client = no_boundaries.test_client()
    status, body = get(client, "/metadata/cloud-location/providers/")
    assert status == 200
    expected = [{"name": p, "locations": n, "covered": sum(normalise_name(place.zone) in names for place in locations(p))}
                for p, n in (("aws", 38), ("gcp", 45), ("azure", 64))]
    assert body["providers"] == expected
    assert [p["covered"] for p in body["providers"]] >= [6, 11, 9]  # at least every US region
    status, body = get(client, "/metadata/cloud-location/locations/aws/")
    by_id = {item["id"]: item for item in body["locations"]}
    assert {k: by_id["aws:us-west-2"][k] for k in ("zone", "region", "covered", "not_covered_reason")} == {
        "zone": "PACW", "region": "PACW", "covered": True, "not_covered_reason": None}
    mumbai = by_id["aws:ap-south-1"]
    assert (mumbai["zone"], mumbai["region"], mumbai["covered"]) == ("IN-WE", None, False)
    assert mumbai["not_covered_reason"].startswith("grid zone IN-WE (Western India) is not covered")
    assert mumbai["zone_source"] == find("aws:ap-south-1").zone_source and mumbai["citation"]
    assert {item["name"] for item in body["locations"] if item["covered"]} >= set(US_REGIONS["aws"])
    assert all(item["covered"] == (normalise_name(item["zone"]) in names) for item in body["locations"])


def sdk(client, path, **params):
    response = client.get(path, query_string=params)
    return response.status_code, response.get_json(silent=True)


def test_sdk_locations_resolve_with_no_boundaries(no_boundaries):
    client = no_boundaries.test_client()
    window = {"time": "2025-02-09T08:00:00Z", "toTime": "2025-02-09T09:00:00Z"}
    status, body = sdk(client, "/emissions/bylocation", location="westus", **window)  # Azure West US: CISO
    _, by_region = sdk(client, "/emissions/bylocation", location="CISO", **window)
    assert status == 200 and len(body) >= 12 and {item["location"] for item in body} == {"westus"}
    assert [{**item, "location": "CISO"} for item in body] == by_region
    status, body = sdk(client, "/emissions/bylocation", location="eastus", **window)  # PJM: no data stored
    assert status == 204  # was a 400: the name was placed through the boundaries
    for name, zone in (("centralindia", "IN-WE"), ("japaneast", "JP-TK")):
        status, body = sdk(client, "/emissions/bylocation", location=name, **window)
        assert status == 400 and body["title"] == "One or more validation errors occurred."
        (message,) = body["errors"]["location"]
        assert message.startswith(f"'{name}' (azure:{name}: grid zone {zone} ") and "is not covered" in message
    status, body = sdk(client, "/locations")
    # the cloud regions whose zone is covered here: every US one, none in India or Japan
    assert status == 200 and set(body) >= US_NAMES
    assert not {"centralindia", "ap-south-1", "asia-south1", "japaneast", "ap-northeast-1"} & set(body)
    assert body["westus2"] == {"latitude": find("azure:westus2").latitude,
                               "longitude": find("azure:westus2").longitude, "name": "westus2"}


def test_scheduler_candidates_resolve_with_no_boundaries(no_boundaries):
    client = no_boundaries.test_client()
    workload = {"runtime": 3600, "power_kw": 1.0, "original_location": "aws:us-west-1",
                "schedule": {"type": "onetime", "start_time": "2025-02-09T08:00:00Z", "max_delay": 4 * 3600},
                "candidate_locations": [{"id": "aws:us-west-1"}, {"id": "azure:westus"}, {"id": "westus"}]}
    response = client.post("/carbon-aware-scheduler/", json=workload)
    assert response.status_code == 200, response.get_json()
    (schedule,) = response.get_json()["schedules"]
    assert {c["location"]: c["region"] for c in schedule["candidates"]} == {
        "aws:us-west-1": "CISO", "azure:westus": "CISO", "westus": "CISO"}  # a bare Azure name too
    workload["candidate_locations"].append({"id": "aws:ap-south-1"})
    response = client.post("/carbon-aware-scheduler/", json=workload)
    error = response.get_json()["error"]
    assert response.status_code == 400 and (error["code"], error["parameter"]) == (
        "not_covered", "candidate_locations.3.id")
    assert error["message"].startswith("candidate_locations.3.id: aws:ap-south-1: grid zone IN-WE (Western India)")


# --- once a zone outside the US is a region of ours, its cloud regions answer from it ----------

@pytest.fixture
def regions_elsewhere(filled):
    """IE, NL and SE-SE3 as regions (as the European sources add them); those this fixture added
    are removed afterwards."""
    import psycopg2

    conn = psycopg2.connect(filled)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("INSERT INTO region (code, name, time_zone) VALUES ('IE', 'Ireland', 'Europe/Dublin'), "
                    "('NL', 'Netherlands', 'Europe/Amsterdam'), ('SE-SE3', 'Sweden SE3', 'Europe/Stockholm') "
                    "ON CONFLICT (code) DO NOTHING RETURNING code")
        added = [code for (code,) in cur.fetchall()]
    try:
        yield filled
    finally:
        with conn.cursor() as cur:
            cur.execute("DELETE FROM region WHERE code = ANY(%s)", (added,))
        conn.close()


def test_covered_zones_outside_the_us_resolve_everywhere(regions_elsewhere, tmp_path, monkeypatch):
    from api import create_app
    from api.faces.http import core
    from api.services import carbon_aware_sdk
    from api.services.scheduler.places import resolve_place

    monkeypatch.setenv("ENERGY_DATA_BOUNDARIES", str(tmp_path / "absent.geojson"))
    app = create_app(regions_elsewhere)
    client = app.test_client()
    status, body = get(client, "/balancing-authority/", location="aws:eu-west-1")
    assert status == 200 and (body["region"]["id"], body["method"]) == ("IE", "cloud")
    with app.test_request_context():
        locator = core().locator
        assert carbon_aware_sdk.region_of(locator, "westeurope") == "NL"
        assert carbon_aware_sdk.region_of(locator, "swedencentral") == "SE-SE3"
        assert carbon_aware_sdk.region_of(locator, "aws:eu-north-1") == "SE-SE3"
        assert resolve_place(locator, "aws:eu-west-1", None, None, "candidate").region == "IE"
        assert {"westeurope", "swedencentral", "northeurope", "eu-west-1"} <= set(carbon_aware_sdk.all_locations(locator))
    status, body = sdk(client, "/emissions/bylocation", location="westeurope", time="2025-02-09T08:00:00Z",
                       toTime="2025-02-09T09:00:00Z")
    assert status == 204  # resolved to NL, which has no data yet
    _, body = get(client, "/metadata/cloud-location/locations/aws/")
    covered = {item["name"] for item in body["locations"] if item["covered"]}
    assert {"eu-west-1", "eu-north-1"} <= covered and "ap-south-1" not in covered


# --- scripts/setup/build_cloud_zones.py -----------------------------------------------------------

@pytest.fixture(scope="module")
def builder():
    import importlib.util

    from tests.conftest import REPO

    spec = importlib.util.spec_from_file_location("build_cloud_zones", REPO / "scripts" / "setup" / "build_cloud_zones.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_builder_derives_zones_from_the_coordinates(builder, world_download, tmp_path, capsys):
    """Run on the file built from the hand-written samples (the recorded US zones plus the Natural
    Earth samples), on a copy of the catalogue without its zones."""
    data = json.loads(cloud_location.DATA_FILE.read_text())
    for entry in data["locations"]:
        entry.pop("zone"), entry.pop("zone_source")
    catalogue = tmp_path / "cloud_locations.json"
    catalogue.write_text(json.dumps(data))
    assert builder.main([str(world_download[0]), "--source", "sample", "--catalogue", str(catalogue), "--write"]) == 0
    out = capsys.readouterr().out
    derived = {f"{e['provider']}:{e['name']}": e for e in json.loads(catalogue.read_text())["locations"]}
    assert derived["aws:eu-west-1"]["zone"] == "IE"
    assert derived["aws:eu-west-1"]["zone_source"] == "boundaries: coordinates in IE (sample)"
    assert derived["aws:us-east-1"]["zone"] == "PJM"  # US-MIDA-PJM, stored as our region id
    assert derived["azure:swedencentral"]["zone"] == "SE-SE3"
    # Frankfurt is in no area of the sample and 30 km from none: reported, left without a zone
    assert "zone" not in derived["aws:eu-central-1"]
    assert "aws:eu-central-1: outside every zone of boundaries.geojson; place it by hand" in out
    assert builder.our_zone("US-HI") == "HECO" and builder.our_zone("PR") == "PREPA"
    assert builder.our_zone("US-NW-BPAT") == "BPAT" and builder.our_zone("NO-NO5") == "NO-NO5"


def test_builder_reports_a_stored_zone_the_boundaries_contradict(builder, world_download, tmp_path, capsys):
    data = json.loads(cloud_location.DATA_FILE.read_text())
    (ireland,) = [e for e in data["locations"] if (e["provider"], e["name"]) == ("aws", "eu-west-1")]
    ireland["zone"] = "GB"
    catalogue = tmp_path / "cloud_locations.json"
    catalogue.write_text(json.dumps(data))
    assert builder.main([str(world_download[0]), "--source", "sample", "--catalogue", str(catalogue)]) == 1
    assert "aws:eu-west-1: GB -> IE" in capsys.readouterr().out
    assert json.loads(catalogue.read_text()) == data  # without --write nothing is written
