"""`veeam-perms publish`: the deployable directory installs the project itself, pinned by pyproject.toml
and, transitive dependencies included, by .ci/constraints.txt."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def published(site_catalog, tmp_path_factory):
    target = tmp_path_factory.mktemp("published") / "site"
    result = CliRunner().invoke(cli, ["publish", "--db", str(site_catalog), "--to", str(target)])
    assert result.exit_code == 0, result.output
    return target


def test_the_dockerfile_installs_the_project_and_pins_nothing_itself(published):
    dockerfile = (published / "Dockerfile").read_text()
    assert "RUN pip install --no-cache-dir -c ./project/constraints.txt ./project" in dockerfile
    assert "==" not in dockerfile and "PYTHONPATH" not in dockerfile
    assert (published / "project" / "pyproject.toml").read_bytes() == (ROOT / "pyproject.toml").read_bytes()
    assert (published / "project" / "constraints.txt").read_bytes() == (ROOT / ".ci" / "constraints.txt").read_bytes()
    assert not (published / "catalog").exists() and not (published / "pipeline").exists()


def test_the_published_project_builds_a_wheel_with_its_data_files(published, tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(tmp_path), str(published / "project")], check=True, capture_output=True)
    wheel = next(tmp_path.glob("veeam_perms-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {str(p.relative_to(ROOT)) for package in ("pipeline", "catalog") for p in (ROOT / package).rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}
    assert expected <= names, sorted(expected - names)
