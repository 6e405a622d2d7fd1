"""`export --to DIR`: the folder is the export's own; one file per page release, none lost."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from catalog.analysis.export import MANIFEST
from pipeline.cli.main import cli


def export(db_path, target):
    return CliRunner().invoke(cli, ["export", "--db", str(db_path), "--to", str(target)])


def page_files(target: Path) -> list[Path]:
    return sorted(p for p in target.rglob("*.json") if p.parent != target)


def test_one_file_per_current_page_release_each_naming_its_url(site_catalog, tmp_path):
    result = export(site_catalog, tmp_path / "out")
    assert result.exit_code == 0, result.output
    current = {row[0] for row in Database(site_catalog).execute(
        "select canonical_url from pages where current_version is not null and _removed_at is null")}
    # The demo catalog holds `?ver=` releases beside the current release of the same page.
    assert any("?ver=" in url for url in current)
    assert any(url.replace("?ver=", "#").split("#")[0] in current for url in current if "?ver=" in url)
    files = page_files(tmp_path / "out")
    assert len(files) == len(current)
    assert {json.loads(p.read_text())["url"] for p in files} == current


def test_a_folder_with_other_files_is_refused_and_nothing_is_deleted(site_catalog, tmp_path):
    work = tmp_path / "work"
    for name in ("project/package.json", "notes/todo.json", "settings.json"):
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text("{}\n")
    before = sorted(p for p in work.rglob("*"))
    result = export(site_catalog, work)
    assert result.exit_code == 2
    assert result.output == (f"Error: {work}: holds files the export did not write (notes/todo.json and 2 more); "
                             "export into an empty folder or a previous export's folder\n")
    assert sorted(p for p in work.rglob("*")) == before


def test_re_export_deletes_only_its_own_stale_files(site_catalog, tmp_path):
    target = tmp_path / "out"
    assert export(site_catalog, target).exit_code == 0
    manifest = json.loads((target / MANIFEST).read_text())
    assert sorted(manifest["files"]) == sorted(p.relative_to(target).as_posix() for p in target.rglob("*.json")
                                               if p.name != MANIFEST)
    stale = target / "vbaws" / "gone_page.json"
    stale.write_text("{}\n")
    (target / MANIFEST).write_text(json.dumps({"files": [*manifest["files"], "vbaws/gone_page.json"]}))
    assert export(site_catalog, target).exit_code == 0
    assert not stale.exists()
    # A file the user adds later makes the folder no longer the export's alone.
    (target / "mine.json").write_text("{}\n")
    result = export(site_catalog, target)
    assert result.exit_code == 2 and "mine.json" in result.output and (target / "mine.json").exists()


def test_an_interrupted_export_leaves_a_folder_it_can_resume(site_catalog, tmp_path, monkeypatch):
    import catalog.analysis.export as module

    target = tmp_path / "out"
    calls = []

    def fail_after_two(db, page):
        calls.append(page)
        if len(calls) > 2:
            raise KeyboardInterrupt
        return real(db, page)

    real = module.page_record
    monkeypatch.setattr(module, "page_record", fail_after_two)
    with pytest.raises(KeyboardInterrupt):
        module.export_catalog(Database(site_catalog), target)
    monkeypatch.setattr(module, "page_record", real)
    assert export(site_catalog, target).exit_code == 0


def test_the_scheduled_update_refuses_a_foreign_export_folder_before_scraping(tmp_path, monkeypatch):
    import pipeline.jobs.update as update

    monkeypatch.setattr(update, "scrape", lambda *a, **k: pytest.fail("scraped before checking the folder"))
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "notes.json").write_text("{}\n")
    result = CliRunner().invoke(cli, ["update", "--db", str(tmp_path / "c.db"), "--export-dir",
                                      str(tmp_path / "export"), "--report", str(tmp_path / "gate.md"),
                                      "--changelog", str(tmp_path / "CHANGES.md")])
    assert (result.exit_code, result.output) == (2, (
        f"Error: {tmp_path / 'export'}: holds files the export did not write (notes.json); "
        "export into an empty folder or a previous export's folder\n"))
    assert (tmp_path / "export" / "notes.json").exists()
