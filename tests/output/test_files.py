"""Outputs never damage what they write to (issue 19): ``-o`` writes *to* its path (a device stays
a device, a symlink a symlink, a file keeps its mode), ``--output-dir`` is swapped in as one set,
the manifest hashes the config that was parsed, and a closed or broken stdout is exit 5 with one
line, never a traceback or ``check``'s 1."""
from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

import microconv
from builders import load_csv
from conftest import ROOT
from microconv.output import atomic_write, report_dir, write_report_dir
from microconv.reports.alerts import load_baseline
from microconv.cli import app
from microconv.errors import DataError, OutputError

from helpers import TINY_CONFIG, TINY_EVENTS

# u1 reaches B, u2 A, u3 C, u4 never enters, u5 has no timestamp (a note on stderr): step C has 1 of
# the 2 who reached B, so the alert (min 90%) is breached.
CONFIG = TINY_CONFIG + "alerts:\n  - {funnel: abc, step: C, rate_from_previous: {min: 0.9}}\n"
EVENTS = TINY_EVENTS


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    (tmp_path / "f.yaml").write_text(CONFIG)
    (tmp_path / "e.csv").write_text(EVENTS)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def umask():
    """Set the umask for one test, restoring it after."""
    saved = os.umask(0o022)
    os.umask(saved)
    yield os.umask
    os.umask(saved)


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --- -o PATH: regular files ----------------------------------------------------------------------

def test_an_existing_file_keeps_its_mode_and_a_new_one_honours_the_umask(tmp_path, umask):
    umask(0o077)
    shared = tmp_path / "report.html"
    shared.write_text("old")
    os.chmod(shared, 0o644)
    atomic_write(shared, "new")
    assert shared.read_text() == "new" and mode(shared) == 0o644          # was 0600 before issue 19
    atomic_write(tmp_path / "private.json", "{}")
    assert mode(tmp_path / "private.json") == 0o600                      # 0666 less 077
    umask(0o022)
    atomic_write(tmp_path / "team.json", "{}")
    assert mode(tmp_path / "team.json") == 0o644                         # 0666 less 022
    umask(0o002)
    atomic_write(tmp_path / "group.json", "{}")
    assert mode(tmp_path / "group.json") == 0o664


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may give a file to another owner")
def test_an_existing_file_keeps_its_owner_when_root_rewrites_it(tmp_path):
    report = tmp_path / "r.csv"
    report.write_text("old")
    os.chown(report, 1234, 5678)
    atomic_write(report, "new")
    assert (report.stat().st_uid, report.stat().st_gid) == (1234, 5678)
    assert report.read_text() == "new"


def test_a_symlink_is_followed_and_stays_a_link(tmp_path):
    (tmp_path / "reports").mkdir()
    real = tmp_path / "reports" / "latest.json"
    real.write_text("old")
    os.chmod(real, 0o640)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    atomic_write(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new" and mode(real) == 0o640
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "reports" / "first.json")
    atomic_write(dangling, "made")                                 # as `echo made > dangling` would
    assert dangling.is_symlink() and (tmp_path / "reports" / "first.json").read_text() == "made"
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["first.json", "latest.json"]


def test_a_symlink_loop_is_an_output_error(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(OutputError) as caught:
        atomic_write(tmp_path / "a", "x")
    assert caught.value.exit_code == 5
    assert (tmp_path / "a").is_symlink() and (tmp_path / "b").is_symlink()


def test_a_failure_mid_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    report = tmp_path / "r.csv"
    report.write_text("the old report\n")

    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OutputError) as caught:
        atomic_write(report, "a new report that does not fit\n")
    assert str(caught.value) == (f"{report}: cannot write output: No space left on device "
                                 "(free some space, or write elsewhere)")
    assert report.read_text() == "the old report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]              # no temporary file left


def test_a_directory_is_not_an_output_file(tmp_path):
    with pytest.raises(OutputError, match="it is a directory"):
        atomic_write(tmp_path, "x")
    assert tmp_path.is_dir()


# --- -o PATH: devices and FIFOs are written, never replaced --------------------------------------

def test_dev_null_stays_a_character_device():
    before = os.stat("/dev/null")
    atomic_write("/dev/null", "discarded\n")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino


def test_dev_full_is_exit_5_in_one_line_and_stays_a_device(tiny):
    with pytest.raises(OutputError) as caught:
        atomic_write("/dev/full", "x" * 100_000)
    assert caught.value.exit_code == 5 and "No space left on device" in str(caught.value)
    result = invoke("analyze", "e.csv", "-c", "f.yaml", "-f", "json", "-o", "/dev/full", "-q")
    assert result.exit_code == 5
    assert result.stderr == ("microconv: error: /dev/full: cannot write output: No space left on device "
                             "(free some space, or write elsewhere)\n")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    assert invoke("analyze", "e.csv", "-c", "f.yaml", "-f", "csv", "-o", "/dev/null").exit_code == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_fifo_is_written_to_its_reader(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    text = "funnel,step\n" + "abc,1\n" * 20_000                           # more than a pipe holds at once
    atomic_write(fifo, text)
    reader.join(timeout=30)
    assert got == [text.encode()]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


# --- --output-dir: one set, swapped in whole ------------------------------------------------------

def result_of(events: str, **options):
    cfg = microconv.parse_config({"columns": {"user": "user_id", "event": "event_name", "timestamp": "timestamp"},
                                  "funnels": {"abc": {"steps": [{"event": e} for e in "ABC"], "window": "10s"}}})
    evts, quality = load_csv(events, cfg)
    return microconv.analyze(cfg, evts, quality=quality, **options)


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def hashes_match(directory: Path) -> bool:
    manifest = json.loads((directory / "manifest.json").read_text())
    return all(hashlib.sha256((directory / t["file"]).read_bytes()).hexdigest() == t["sha256"]
               for t in manifest["tables"].values())


def test_the_set_is_the_new_set_and_the_manifest_describes_it(tmp_path):
    out = tmp_path / "last"
    write_report_dir(result_of(EVENTS, trend="day"), out, run={"run": 1})
    assert listing(out) == ["funnels.csv", "manifest.json", "time.csv", "trend.csv"]
    os.chmod(out, 0o750)
    write_report_dir(result_of(EVENTS), out, run={"run": 2})
    assert listing(out) == ["funnels.csv", "manifest.json", "time.csv"]  # trend.csv of run 1 is gone
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["run"] == 2 and sorted(manifest["tables"]) == ["funnels", "time"]
    assert manifest["tables"]["funnels"]["rows"] == 3 and hashes_match(out)
    assert mode(out) == 0o750                                             # the directory keeps its mode
    assert listing(tmp_path) == ["last"]                                  # nothing left beside it


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "fallback"])
def test_a_failure_while_writing_the_set_leaves_the_old_set_whole(tmp_path, monkeypatch, exchange):
    out = tmp_path / "last"
    write_report_dir(result_of(EVENTS, trend="day"), out, run={"run": 1})
    before = {name: (out / name).read_bytes() for name in listing(out)}
    if not exchange:
        monkeypatch.setattr(report_dir, "_exchange", lambda a, b: False)
    written = []
    real = report_dir._write_new_file

    def second_file_fails(path, data, like):
        if written:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(path.name)
        real(path, data, like)

    monkeypatch.setattr(report_dir, "_write_new_file", second_file_fails)
    with pytest.raises(OutputError, match="No space left on device"):
        write_report_dir(result_of(EVENTS.replace("u3,C", "u9,C")), out, run={"run": 2})
    assert {name: (out / name).read_bytes() for name in listing(out)} == before
    assert listing(tmp_path) == ["last"] and written == ["funnels.csv"]
    monkeypatch.setattr(report_dir, "_write_new_file", real)
    write_report_dir(result_of(EVENTS), out, run={"run": 3})
    assert listing(out) == ["funnels.csv", "manifest.json", "time.csv"] and hashes_match(out)
    assert listing(tmp_path) == ["last"]


def test_the_fallback_puts_the_old_set_back_when_the_new_one_cannot_go_in(tmp_path, monkeypatch):
    out = tmp_path / "last"
    write_report_dir(result_of(EVENTS), out, run={"run": 1})
    before = (out / "manifest.json").read_bytes()
    monkeypatch.setattr(report_dir, "_exchange", lambda a, b: False)
    real_rename = os.rename

    def refuse_the_new_set(src, dst):
        if ".last.new-" in str(src):
            raise OSError(errno.EIO, "Input/output error")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", refuse_the_new_set)
    with pytest.raises(OutputError, match="Input/output error"):
        write_report_dir(result_of(EVENTS), out, run={"run": 2})
    assert (out / "manifest.json").read_bytes() == before and listing(tmp_path) == ["last"]


def test_a_reader_sees_the_old_set_or_the_new_one_never_a_mix(tmp_path):
    """Two sets alternate in DIR while another thread reads it as a baseline: each read is one
    whole set (step users 3,2,1 or, with u3's events moved to u1, 2,1,1), as the manifest's sha256
    vouches; the old file-by-file writer fails this with a table newer than its manifest."""
    out = tmp_path / "last"
    sets = [result_of(EVENTS), result_of(EVENTS.replace("u3,", "u1,"))]
    expected = {(3, 2, 1), (2, 1, 1)}
    write_report_dir(sets[0], out, run={})
    assert {tuple(load_baseline(out).steps["users"])} <= expected
    stop, seen, errors, reads = threading.Event(), set(), [], []

    def read():
        while not stop.is_set():
            try:
                seen.add(tuple(load_baseline(out).steps["users"]))
                reads.append(1)
            except (DataError, FileNotFoundError) as exc:     # FileNotFoundError: only in the fallback's gap
                errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(40):
            write_report_dir(sets[i % 2], out, run={"i": i})
    finally:
        stop.set()
        reader.join()
    assert seen <= expected and not errors and reads


def test_refuses_a_path_that_is_not_a_report_dir_and_deletes_nothing(tmp_path):
    result = result_of(EVENTS)
    (tmp_path / "file").write_text("keep")
    with pytest.raises(OutputError, match="it exists and is not a directory"):
        write_report_dir(result, tmp_path / "file", run={})
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("keep")
    with pytest.raises(OutputError) as caught:
        write_report_dir(result, mine, run={})
    assert "has no manifest.json" in str(caught.value) and "'thesis.tex'" in str(caught.value)
    assert listing(mine) == ["thesis.tex"]
    report = tmp_path / "report"
    write_report_dir(result, report, run={})
    (report / "notes.txt").write_text("keep")
    with pytest.raises(OutputError, match="holds 'notes.txt', which microconv did not write"):
        write_report_dir(result, report, run={})
    assert (report / "notes.txt").read_text() == "keep" and hashes_match(report)
    empty = tmp_path / "empty"
    empty.mkdir()
    write_report_dir(result, empty, run={})
    assert listing(empty) == ["funnels.csv", "manifest.json", "time.csv"]
    assert sorted(listing(tmp_path)) == ["empty", "file", "mine", "report"]


def test_a_symlinked_output_dir_stays_a_link(tmp_path):
    (tmp_path / "runs").mkdir()
    (tmp_path / "latest").symlink_to(tmp_path / "runs")
    write_report_dir(result_of(EVENTS), tmp_path / "latest", run={})
    assert (tmp_path / "latest").is_symlink() and listing(tmp_path / "runs") == ["funnels.csv", "manifest.json",
                                                                               "time.csv"]


def test_a_mixed_baseline_dir_is_a_data_error_and_unlisted_tables_are_ignored(tiny):
    """What an interrupted run of the old file-by-file writer left: a table newer than its manifest."""
    assert invoke("check", "e.csv", "-c", "f.yaml", "--output-dir", "last", "-q").exit_code == 1
    (tiny / "last" / "micro.csv").write_text("conversion,share\nx,0.5\n")     # not listed: not of this set
    assert load_baseline(tiny / "last").micro.empty
    (tiny / "last" / "funnels.csv").write_text((tiny / "last" / "funnels.csv").read_text().replace(",3,", ",4,"))
    result = invoke("check", "e.csv", "-c", "f.yaml", "--baseline", "last", "-q")
    assert result.exit_code == 4
    assert result.stderr == (
        "microconv: error: last: funnels.csv is not the file its manifest.json describes (an interrupted run of "
        "an older microconv, or an edit?) (re-run with --output-dir to write the set again, or pass another "
        "baseline)\n")


# --- the manifest hashes the config that was parsed ----------------------------------------------

def test_the_config_hash_is_of_the_bytes_parsed_from_a_pipe(tiny):
    fifo = tiny / "config.fifo"                                          # what `-c <(cat f.yaml)` hands over
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text(CONFIG), daemon=True)
    writer.start()
    result = invoke("analyze", "e.csv", "-c", fifo, "--output-dir", "out", "-q", "-f", "json")
    writer.join(timeout=30)
    assert result.exit_code == 0, result.stderr
    manifest = json.loads((tiny / "out" / "manifest.json").read_text())
    assert manifest["config"] == {"path": str(fifo), "sha256": hashlib.sha256(CONFIG.encode()).hexdigest()}


def test_an_edit_after_loading_does_not_change_the_recorded_hash(tiny, monkeypatch):
    real = microconv.load_config

    def load_then_edit(path):
        cfg = real(path)
        Path(path).write_text(CONFIG + "# edited while the run was reading events\n")
        return cfg

    monkeypatch.setattr(microconv, "load_config", load_then_edit)
    assert invoke("analyze", "e.csv", "-c", "f.yaml", "--output-dir", "out", "-q", "-f", "json").exit_code == 0
    manifest = json.loads((tiny / "out" / "manifest.json").read_text())
    assert manifest["config"]["sha256"] == hashlib.sha256(CONFIG.encode()).hexdigest()
    assert (tiny / "f.yaml").read_text() != CONFIG


# --- stdout and stderr: closed, broken or full is exit 5 in one line -----------------------------

def run_cli(tiny, *args, shell_redirect: str = "", **kwargs):
    """``python -m microconv ARGS`` in ``tiny``, with a shell redirection such as ``>&-`` applied."""
    command = [sys.executable, "-m", "microconv", *map(str, args)]
    return subprocess.run(["sh", "-c", f'exec "$@" {shell_redirect}', "sh", *command], cwd=tiny, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, **kwargs)


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_closed_stdout_is_exit_5_with_one_line(tiny, fmt):
    done = run_cli(tiny, "analyze", "e.csv", "-c", "f.yaml", "-f", fmt, "-q", shell_redirect=">&-",
                   stderr=subprocess.PIPE, text=True)
    assert done.returncode == 5
    assert done.stderr == "microconv: error: cannot write to stdout: it is closed\n"


def test_check_with_closed_stdout_is_5_not_breached(tiny):
    done = run_cli(tiny, "check", "e.csv", "-c", "f.yaml", "-q", shell_redirect=">&-",
                   stderr=subprocess.PIPE, text=True)
    assert done.returncode == 5 and done.stderr == "microconv: error: cannot write to stdout: it is closed\n"
    breached = run_cli(tiny, "check", "e.csv", "-c", "f.yaml", "-q", capture_output=True, text=True)
    assert breached.returncode == 1 and breached.stdout.startswith("ALERT abc step 3 'C' rate_from_previous = 50.0%")


def test_a_reader_gone_away_is_exit_5_with_one_line_even_for_check(tiny):
    """The check line sits in stdout's buffer when `check` ends with 1; the pipe breaks at the last flush."""
    for args in (("analyze", "e.csv", "-c", "f.yaml", "-f", "json", "-q"), ("check", "e.csv", "-c", "f.yaml", "-q")):
        read_end, write_end = os.pipe()
        os.close(read_end)                                               # the reader went away at once
        done = run_cli(tiny, *args, stdout=write_end, stderr=subprocess.PIPE, text=True)
        os.close(write_end)
        assert done.returncode == 5, args
        assert done.stderr == "microconv: error: cannot write to stdout: its reader went away (broken pipe)\n"


def test_stdout_on_a_full_disk_and_closed_stderr(tiny):
    full = run_cli(tiny, "analyze", "e.csv", "-c", "f.yaml", "-f", "json", "-q", shell_redirect="> /dev/full",
                   stderr=subprocess.PIPE, text=True)
    assert full.returncode == 5
    assert full.stderr == "microconv: error: cannot write to stdout: No space left on device\n"
    # the payload arrives whole; the notes cannot, so the run does not claim success
    quiet_lost = run_cli(tiny, "analyze", "e.csv", "-c", "f.yaml", "-f", "json", "--trend", "day",
                         shell_redirect="2>&-", stdout=subprocess.PIPE, text=True)
    assert json.loads(quiet_lost.stdout)["funnels"][0]["steps"][0]["users"] == 3
    assert quiet_lost.returncode == 5
    both = run_cli(tiny, "analyze", "e.csv", "-c", "f.yaml", shell_redirect=">&- 2>&-")
    assert both.returncode == 5
    version = run_cli(tiny, "--version", shell_redirect=">&-", stderr=subprocess.PIPE, text=True)
    assert version.returncode == 5 and version.stderr == "microconv: error: cannot write to stdout: it is closed\n"


def test_dash_o_dev_stdout_writes_to_what_the_shell_opened(tiny):
    """``-o /dev/stdout`` is this process's descriptor 1: a pipe, which no path reaches again, or a
    file opened for appending, which a rename would have replaced (losing its earlier lines)."""
    piped = run_cli(tiny, "analyze", "e.csv", "-c", "f.yaml", "-f", "csv", "-q", "-o", "/dev/stdout",
                    capture_output=True, text=True)
    assert piped.returncode == 0 and piped.stderr == ""
    assert piped.stdout.splitlines()[1].startswith("abc,1,A,3,")
    (tiny / "log.txt").write_text("an earlier line\n")
    appended = run_cli(tiny, "analyze", "e.csv", "-c", "f.yaml", "-f", "csv", "-q", "-o", "/dev/stdout",
                       shell_redirect=">> log.txt", stderr=subprocess.PIPE, text=True)
    lines = (tiny / "log.txt").read_text().splitlines()
    assert appended.returncode == 0 and lines[0] == "an earlier line" and lines[2].startswith("abc,1,A,3,")
    closed = run_cli(tiny, "analyze", "e.csv", "-c", "f.yaml", "-f", "csv", "-q", "-o", "/dev/stdout",
                     shell_redirect=">&-", stderr=subprocess.PIPE, text=True)
    assert closed.returncode == 5 and closed.stderr == "microconv: error: cannot write to stdout: it is closed\n"
    fd9 = run_cli(tiny, "analyze", "e.csv", "-c", "f.yaml", "-f", "csv", "-q", "-o", "/dev/fd/9",
                  shell_redirect="9> nine.csv", stderr=subprocess.PIPE, text=True)
    assert fd9.returncode == 0 and (tiny / "nine.csv").read_text().splitlines()[1].startswith("abc,1,A,3,")


def test_csv_on_a_terminal_shows_escape_sequences_a_file_keeps_them(tiny):
    """A segment value holding a window-title sequence: shown as text when stdout is a terminal,
    kept byte for byte in a pipe or file (a CSV is data for the next tool)."""
    hostile = "\x1b]0;pwned\x07"
    (tiny / "h.csv").write_text("user_id,event_name,timestamp,device\n"
                                f"u1,A,2026-01-01T00:00:00Z,{hostile}\nu1,B,2026-01-01T00:00:01Z,{hostile}\n")
    (tiny / "h.yaml").write_text(TINY_CONFIG)
    args = ("analyze", "h.csv", "-c", "h.yaml", "-f", "csv", "--report", "breakdown", "--by", "device", "-q")
    piped = run_cli(tiny, *args, capture_output=True, text=True)
    assert piped.returncode == 0 and f"\nabc,device,first_touch,{hostile},1," in piped.stdout
    leader, follower = os.openpty()
    done = run_cli(tiny, *args, stdout=follower, stderr=subprocess.PIPE)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:                       # EIO: the terminal's other end is closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert done.returncode == 0
    assert b"\x1b" not in shown and b"\x07" not in shown
    assert b"abc,device,first_touch,\\x1b]0;pwned\\x07,1," in shown
