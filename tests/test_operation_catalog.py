"""Issue 13 in the catalog: keys and descriptions stored, migrated, exported, diffed, shown."""

import json
from pathlib import Path

import pytest
from sqlite_utils import Database

from catalog.analysis import gate, site_data
from catalog.analysis.compare import page_history
from catalog.analysis.export import export_catalog, page_from_export
from catalog.analysis.queries import catalog_stats
from catalog.storage.database import open_catalog
from catalog.storage.migrations import migrations
from catalog.storage.store import CatalogWriter, Observation
from pipeline.parse.page import parse_markdown_page

PAGES = Path(__file__).parent / "pages"
URL = "https://helpcenter.veeam.com/docs/vbr/userguide/fixture_targets.html"
FRONT = (f'---\ntitle: "Targets"\nsource_url: "{URL}"\nlast_updated: "1/2/2026"\n'
         'product_version: "{build}"\n---\n\n# Targets\n\n')


def code(names):
    return "|  |\n| --- |\n| [ " + ", ".join(f'"{n}"' for n in names) + " ] |\n\n"


def page_text(build, sections):
    """A page of `sections`: (heading, [(label or None, names)])."""
    body = FRONT.replace("{build}", build)
    for heading, blocks in sections:
        body += f"## {heading}\n\n"
        for label, names in blocks:
            body += (f"* {label}\n\n" if label else "The account must have the following permissions:\n\n")
            body += code(names)
    return body


def store(db_path, texts):
    db = open_catalog(db_path)
    for number, text in enumerate(texts, start=1):
        writer = CatalogWriter(db, "live", f"v{number}")
        with writer.run():
            writer.save_page(parse_markdown_page(text),
                             Observation(f"2026-0{number}-01T00:00:00+00:00", "live", f"v{number}"))
    return db


S3 = ["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"]


def test_the_catalog_keeps_key_section_and_description(tmp_path):
    db = store(tmp_path / "c.db", [(PAGES / "16_operation_identity.md").read_text()])
    rows = list(db.query("select key, section, description from operations order by position"))
    page = parse_markdown_page((PAGES / "16_operation_identity.md").read_text())
    assert rows == [{"key": op.key, "section": op.section, "description": op.description}
                    for op in page.operations]
    assert db.execute("select count(distinct key) = count(*) from operations").fetchone()[0] == 1
    view = list(db.query("select key, section, description from current_operations order by operation_id"))
    assert view == rows


def test_migration_backfills_keys_of_an_existing_catalog(tmp_path):
    db = Database(tmp_path / "old.db")
    migrations.apply(db, stop_before="m13_operation_key")
    assert "key" not in db["operations"].columns_dict
    db["pages"].insert({"id": 1, "product": "vbr", "canonical_url": URL})
    db["page_versions"].insert({"id": 1, "page": 1})
    db["operations"].insert_all([
        {"id": 1, "page_version": 1, "position": 0, "title": "Amazon S3", "section": "Amazon S3"},
        {"id": 2, "page_version": 1, "position": 1, "title": "Amazon S3", "section": "Amazon S3"},
        {"id": 3, "page_version": 1, "position": 2, "title": "For a bucket", "section": "Archive"},
        {"id": 4, "page_version": 1, "position": 3, "title": "Full list", "section": None}])
    migrations.apply(db)
    assert [(row["key"], row["description"]) for row in db.query("select * from operations order by id")] == [
        ("amazon s3", None), ("amazon s3 #2", None), ("archive › for bucket", None), ("full list", None)]
    identity = [row[0] for row in db.execute("select key from operation_identity order by operation_id")]
    assert identity == ["amazon s3", "amazon s3 #2", "archive › for bucket", "full list"]
    with pytest.raises(Exception, match="UNIQUE constraint failed"):
        db.execute("update operations set key = 'amazon s3' where id = 2")


def test_export_carries_key_and_description_and_reads_back(tmp_path):
    db = store(tmp_path / "c.db", [(PAGES / "17_inline_lists.md").read_text()])
    export_catalog(db, tmp_path / "out")
    (path,) = (tmp_path / "out" / "vbazure").glob("*.json")
    record = json.loads(path.read_text())
    assert [op["key"] for op in record["operations"]][:2] == ["restoring virtual machines",
                                                             "restoring virtual machines #2"]
    assert record["operations"][0]["description"] == \
        "The restore service account must have the following permissions"
    back = page_from_export(record, "vbazure")
    assert [(op.key, op.description) for op in back.operations] == \
        [(op["key"], op["description"]) for op in record["operations"]]
    for op in record["operations"]:
        del op["key"], op["description"]  # an export written before keys existed
    assert [op.key for op in page_from_export(record, "vbazure").operations][:2] == \
        ["restoring virtual machines", "restoring virtual machines #2"]


def test_diff_matches_twins_by_key_not_by_overlap(tmp_path):
    # Two sections hold an "Amazon S3" list; in v2 the archive list grows to look like the other.
    v1 = page_text("13.0.1.1071", [("Object Storage", [("Amazon S3", S3)]),
                                   ("Archive Storage", [("Amazon S3", ["s3:ListBucket", "s3:RestoreObject"])])])
    v2 = page_text("13.0.1.2067", [("Object Storage", [("Amazon S3", S3[:2])]),
                                   ("Archive Storage", [("Amazon S3", [*S3, "s3:RestoreObject"])])])
    store(tmp_path / "c.db", [v1, v2])
    changes = page_history(Database(tmp_path / "c.db"), URL).changes
    assert sorted((c.key, c.change, c.permission) for c in changes) == [
        ("archive storage › amazon s3", "added", "s3:DeleteObject"),
        ("archive storage › amazon s3", "added", "s3:GetObject"),
        ("archive storage › amazon s3", "added", "s3:PutObject"),
        ("object storage › amazon s3", "removed", "s3:DeleteObject"),
        ("object storage › amazon s3", "removed", "s3:PutObject")]
    assert {c.section for c in changes} == {"Object Storage", "Archive Storage"}


def test_a_reworded_title_in_the_same_section_is_a_rename(tmp_path):
    v1 = page_text("13.0.1.1071", [("Helper Appliance", [("For a helper bucket", S3)])])
    reworded = ("For the bucket of the helper", [*S3, "s3:PutObjectTagging"])
    v2 = page_text("13.0.1.2067", [("Helper Appliance", [reworded])])
    store(tmp_path / "c.db", [v1, v2])
    changes = page_history(Database(tmp_path / "c.db"), URL).changes
    assert sorted((c.change, c.permission, c.from_, c.to) for c in changes) == [
        ("added", "s3:PutObjectTagging", None, "Allow"),
        ("renamed", None, "For a helper bucket", "For the bucket of the helper")]


def test_history_of_an_operation_follows_its_key_never_another_section(tmp_path):
    v1 = page_text("13.0.1.1071", [("Object Storage", [("Amazon S3", S3)]),
                                   ("Archive Storage", [("Amazon S3", ["s3:RestoreObject"])])])
    v2 = page_text("13.0.1.2067", [("Object Storage", [("Amazon S3", S3[:3])]),
                                   ("Archive Storage", [("Amazon S3", ["s3:RestoreObject", "s3:ListBucket"])])])
    db = store(tmp_path / "c.db", [v1, v2])
    latest = db.execute("select o.id from operations o join pages p on p.current_version = o.page_version "
                        "where o.key = 'archive storage › amazon s3'").fetchone()[0]
    data = site_data.operation_page(db, latest)
    assert data["section"] == "Archive Storage" and data["key"] == "archive storage › amazon s3"
    sections = {db.execute("select section from operations where id = ?", [h["id"]]).fetchone()[0]
                for h in data["history"]}
    assert sections == {"Archive Storage"} and [h["size"] for h in data["history"]] == [1, 2]


def test_page_warnings_reach_stats_the_gate_and_the_site(tmp_path):
    whole = page_text("13.0.1.1071", [("Workers", [(None, S3)]), ("Helpers", [(None, ["ec2:RunInstances"])])])
    cut = whole.replace(code(S3), "|  |\n| --- |\n| { |\n\n")
    db = store(tmp_path / "c.db", [whole, cut.replace("13.0.1.1071", "13.0.1.2067")])
    stats = catalog_stats(db)
    assert "warnings per page (1 on 1 current pages, 1 content-lost):" in stats
    assert f"  {URL}: 1 (1 content-lost)" in stats
    last_run = db.execute("select max(run) from page_versions").fetchone()[0]
    result = gate.evaluate(db, last_run)
    assert "1 content-lost warnings on 1 pages that read whole before" in result.reasons
    (warning,) = site_data.product_page(db, "vbr")["warnings"]
    assert warning["message"] == "content-lost: the block is unbalanced (+1 '{' left open): '{'"
    first_run = db.execute("select min(run) from page_versions").fetchone()[0]
    assert gate.evaluate(db, first_run).reasons == []


def test_a_policy_can_pick_one_of_two_same_titled_operations_by_its_section(tmp_path):
    from catalog.analysis.policy import select_permissions

    text = page_text("13.0.1.1071", [("Object Storage", [("Amazon S3", S3)]),
                                     ("Archive Storage", [("Amazon S3", ["s3:RestoreObject"])])])
    db = store(tmp_path / "c.db", [text])
    selection = select_permissions(db, "vbr", None, ("archive storage › amazon s3",))
    assert selection.operations == [(URL, "Archive Storage › Amazon S3")]
    assert [row["name"] for row in selection.rows] == ["s3:RestoreObject"]
    assert len(select_permissions(db, "vbr", None, ("Amazon S3",)).operations) == 2


def test_a_page_whose_only_list_was_lost_is_kept_to_report_it(tmp_path):
    lost = FRONT.replace("{build}", "13.0.1.1071") + (
        "The account must have the following permissions:\n\n|  |\n| --- |\n| { |\n\n")
    db = store(tmp_path / "c.db", [lost])
    assert db.execute("select count(*) from pages").fetchone()[0] == 1
    assert f"  {URL}: 1 (1 content-lost)" in catalog_stats(db)
    nothing = FRONT.replace("{build}", "13.0.1.1071") + "No permissions here.\n"
    assert store(tmp_path / "d.db", [nothing]).execute("select count(*) from pages").fetchone()[0] == 0
