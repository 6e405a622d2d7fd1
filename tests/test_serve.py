"""`veeam-perms serve` as a user runs it: a real process, stopped by signals, on ephemeral ports."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from pipeline.cli.main import cli
from pipeline.jobs.tempdirs import SITE_PREFIX
from pipeline.jobs.website import bind_problem, run_forwarding_signals

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(base: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        try:
            if httpx.get(base + "/", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)  # polling the condition (the server answers), bounded by the deadline
    process.kill()
    pytest.fail("serve did not start answering")


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_a_signal_stops_the_server_frees_the_port_and_removes_the_snapshot(site_catalog, tmp_path, signum):
    temp = tmp_path / "tmp"
    temp.mkdir()
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "pipeline", "serve", "--db", str(site_catalog),
                                "--port", str(port)], cwd=ROOT, env={**os.environ, "TMPDIR": str(temp)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", process)
        [server] = children(process.pid)
        assert [p.name for p in temp.iterdir()][0].startswith(SITE_PREFIX)
        process.send_signal(signum)
        # uvicorn re-raises the signal after a graceful shutdown; either way no traceback.
        assert process.wait(timeout=30) in (0, 128 + signum)
        assert "Traceback" not in process.stderr.read().decode()
    finally:
        if process.poll() is None:
            process.kill()
    assert not running(server)
    assert bind_problem("127.0.0.1", port) is None
    assert list(temp.iterdir()) == []


def test_a_busy_port_is_a_one_line_usage_error(site_catalog):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", "--db", str(site_catalog), "--port", str(port)])
    assert result.exit_code == 2
    assert result.output == f"Error: port {port} is in use; pick another with --port\n"


def test_the_servers_exit_status_is_passed_on():
    assert run_forwarding_signals([sys.executable, "-c", "raise SystemExit(3)"]) == 3
    assert run_forwarding_signals([sys.executable, "-c", "import os; os.kill(os.getpid(), 9)"]) == 128 + 9
    assert run_forwarding_signals([sys.executable, "-c", "pass"]) == 0


def test_the_demo_checks_its_port_before_building(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, ["demo", "--port", str(port)])
    assert result.exit_code == 2
    assert result.output == f"Error: port {port} is in use; pick another with --port\n"
    assert list(tmp_path.iterdir()) == []
