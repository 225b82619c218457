"""What thumbnailer never does (docs/guarantees.md): each promise attacked the way
an unlucky or hostile user would, through the command line. Each test here failed
on 1.1, where the promise was broken."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import invoke, photo

from thumbnailer.plan.state import STATE_NAME
from thumbnailer.storage.atomic import RUNNING_NAME, made_by_killed_run


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every file's bytes and every link's target under ``root``."""
    found: dict[str, bytes | str] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            if path.is_symlink():
                found[str(path.relative_to(root))] = "-> " + os.readlink(path)
            elif path.is_file():
                found[str(path.relative_to(root))] = path.read_bytes()
    return found


@pytest.fixture
def src(tmp_path):
    for i in range(3):
        photo(tmp_path / "src" / "sub" / f"q{i}.jpg", (64, 48), seed=i)
    photo(tmp_path / "src" / "p1.jpg", (64, 48), seed=9)
    return tmp_path / "src"


def test_a_symlink_in_the_output_never_carries_a_write_onto_the_photos(tmp_path, src):
    # 1.1: "3 created", and the three originals were now 32 px thumbnails.
    before = snapshot(src)
    (tmp_path / "out").mkdir()
    os.symlink("../src/sub", tmp_path / "out" / "sub")
    result = invoke(src, "-o", tmp_path / "out", "-s", "32", "-w", "1")
    assert snapshot(src) == before
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len([line for line in lines if "is a symbolic link in the output folder" in line]) == 3
    assert "Traceback" not in result.output
    assert (tmp_path / "out" / "p1.jpg").exists()  # the rest of the run went on


def test_a_symlink_at_a_thumbnails_name_is_not_written_through(tmp_path, src):
    (tmp_path / "out").mkdir()
    victim = tmp_path / "mine.jpg"
    victim.write_bytes(b"precious")
    os.symlink(victim, tmp_path / "out" / "p1.jpg")
    result = invoke(src, "-o", tmp_path / "out", "-w", "1")
    assert victim.read_bytes() == b"precious"
    assert os.readlink(tmp_path / "out" / "p1.jpg") == str(victim)
    assert result.exit_code == 1
    assert "is not a file thumbnailer made" in result.stderr


def test_prune_never_deletes_through_a_symlink(tmp_path, src):
    # 1.1: the user's q0.jpg outside out/ was deleted, and thumbnails were written there.
    out = tmp_path / "out"
    assert invoke(src, "-o", out, "-w", "1").exit_code == 0
    mine = tmp_path / "mine"
    mine.mkdir()
    for name in ("q0.jpg", "q1.jpg", "q2.jpg"):
        (mine / name).write_bytes(b"my own " + name.encode())
    shutil.rmtree(out / "sub")
    os.symlink(mine, out / "sub")
    before = snapshot(mine)
    os.unlink(src / "sub" / "q0.jpg")
    result = invoke(src, "-o", out, "-w", "1", "--prune", "--prune-limit", "100%")
    assert snapshot(mine) == before
    assert "Traceback" not in result.output
    assert result.exit_code == 1  # the thumbnails that would go through the link fail


def test_prune_leaves_a_users_file_saved_under_an_old_thumbnails_name(tmp_path, src):
    # 1.1: the state was trusted without checking that the file was still the one written.
    out = tmp_path / "out"
    assert invoke(src, "-o", out, "-w", "1").exit_code == 0
    (out / "p1.jpg").unlink()
    (out / "p1.jpg").write_bytes(b"my own picture")
    os.unlink(src / "p1.jpg")
    result = invoke(src, "-o", out, "-w", "1", "--prune", "--prune-limit", "100%")
    assert (out / "p1.jpg").read_bytes() == b"my own picture"
    assert result.stderr.count("p1.jpg is not a file thumbnailer made") == 1
    assert "; 0 thumbnails pruned in" in result.stderr or result.exit_code == 0
    # Said once: the record is let go, and the next prune says nothing of it.
    again = invoke(src, "-o", out, "-w", "1", "--prune", "--prune-limit", "100%")
    assert "p1.jpg" not in again.stderr
    assert (out / "p1.jpg").read_bytes() == b"my own picture"


def test_a_changed_photo_never_overwrites_a_users_file_under_its_thumbnails_name(tmp_path,
                                                                               src):
    out = tmp_path / "out"
    assert invoke(src, "-o", out, "-w", "1").exit_code == 0
    (out / "p1.jpg").unlink()
    (out / "p1.jpg").write_bytes(b"my own picture")
    photo(src / "p1.jpg", (80, 60), seed=10)  # changed: its thumbnail must be made again
    result = invoke(src, "-o", out, "-w", "1")
    assert (out / "p1.jpg").read_bytes() == b"my own picture"
    assert result.exit_code == 1
    [line] = [line for line in result.stderr.splitlines() if "p1.jpg" in line]
    assert line.startswith(f"{src / 'p1.jpg'}: ") and "left as it is" in line


def test_a_file_already_there_on_a_first_run_is_never_overwritten(tmp_path, src):
    out = tmp_path / "out"
    out.mkdir()
    (out / "p1.jpg").write_bytes(b"not a thumbnail")
    result = invoke(src, "-o", out, "-w", "1")
    assert (out / "p1.jpg").read_bytes() == b"not a thumbnail"
    assert result.exit_code == 1
    assert "1 failed" in result.stderr.splitlines()[-1]
    # --adopt takes it as the tool's own: made, and recorded as such.
    adopted = invoke(src, "-o", out, "-w", "1", "--adopt")
    assert adopted.exit_code == 0
    assert (out / "p1.jpg").read_bytes()[:2] == b"\xff\xd8"


def test_adopt_lets_prune_delete_thumbnails_after_the_output_folder_was_copied(tmp_path,
                                                                              src):
    made = tmp_path / "made"
    assert invoke(src, "-o", made, "-w", "1").exit_code == 0
    out = tmp_path / "out"
    shutil.copytree(made, out)  # every file a new inode: none provably the tool's
    os.unlink(src / "p1.jpg")
    refused = invoke(src, "-o", out, "-w", "1", "--prune", "--prune-limit", "100%")
    assert (out / "p1.jpg").exists() and "p1.jpg is not a file thumbnailer made" in refused.stderr
    photo(src / "p1.jpg", (64, 48), seed=9)
    assert invoke(src, "-o", out, "-w", "1", "--adopt").exit_code == 0
    os.unlink(src / "p1.jpg")
    pruned = invoke(src, "-o", out, "-w", "1", "--prune", "--prune-limit", "100%")
    assert pruned.exit_code == 0, pruned.output
    assert not (out / "p1.jpg").exists()


def test_a_killed_runs_files_are_still_its_own(tmp_path, src):
    """A run killed before it recorded what it made: the running mark's journal
    proves the files are the tool's, so the next run replaces them, no failure."""
    out = tmp_path / "out"
    assert invoke(src, "-o", out, "-w", "1").exit_code == 0
    # As a killed run leaves things: files made, a mark with their journal, no records.
    journal = (out / RUNNING_NAME)
    from thumbnailer.storage.atomic import journal_line

    journal.write_bytes(b"started 0\n" + b"".join(
        journal_line(rel, (st.st_size, st.st_mtime_ns, st.st_ino))
        for rel in ("p1.jpg", "sub/q0.jpg")
        for st in [os.stat(out / rel)]))
    (out / STATE_NAME).unlink()
    assert set(made_by_killed_run(str(out))) == {"p1.jpg", "sub/q0.jpg"}
    result = invoke(src, "-o", out, "-w", "1")
    lines = result.stderr.strip().splitlines()
    # The two journalled files are replaced; the two the journal does not name are left.
    assert result.exit_code == 1
    assert sorted(line.split(": ")[0] for line in lines[:-1]) == [
        str(src / "sub" / "q1.jpg"), str(src / "sub" / "q2.jpg")]
    assert not (out / RUNNING_NAME).exists()


def test_an_unreadable_source_folder_is_a_failure_and_keeps_its_thumbnails(tmp_path, src):
    # 1.1: no line, "0 failed", exit 0; with --prune its thumbnails were deleted.
    out = tmp_path / "out"
    for i in range(8):
        photo(src / f"x{i}.jpg", (32, 24), seed=20 + i)
    assert invoke(src, "-o", out, "-w", "1").exit_code == 0
    kept = snapshot(out / "sub")
    os.chmod(src / "sub", 0)
    try:  # as a user without root's power to read anything
        result = subprocess.run(
            ["setpriv", "--bounding-set=-dac_override,-dac_read_search", sys.executable,
             "-m", "thumbnailer", str(src), "-o", str(out), "-w", "1", "--prune"],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    finally:
        os.chmod(src / "sub", 0o755)
    assert result.returncode == 1, result.stderr
    [line] = [line for line in result.stderr.splitlines() if "cannot read this folder" in line]
    assert line.startswith(f"{src / 'sub'}: ") and "Permission denied" in line
    assert "1 failed" in result.stderr.splitlines()[-1]
    assert snapshot(out / "sub") == kept


def test_the_lock_and_the_running_mark_are_never_opened_through_a_link(tmp_path, src):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.jpg"
    victim.write_bytes(b"precious")
    os.symlink(victim, out / RUNNING_NAME)
    result = invoke(src, "-o", out, "-w", "1")
    assert victim.read_bytes() == b"precious"
    assert "Traceback" not in result.output
    os.unlink(out / RUNNING_NAME)
    os.unlink(out / ".thumbnailer.lock")
    os.symlink(tmp_path / "new-file", out / ".thumbnailer.lock")
    result = invoke(src, "-o", out, "-w", "1")
    assert not (tmp_path / "new-file").exists()
    assert result.exit_code == 3 and "Traceback" not in result.output


def test_a_state_row_naming_a_path_outside_cannot_reach_it(tmp_path, src):
    out = tmp_path / "out"
    assert invoke(src, "-o", out, "-w", "1").exit_code == 0
    victim = tmp_path / "victim.jpg"
    victim.write_bytes(b"precious")
    db = sqlite3.connect(out / STATE_NAME)
    with db:
        db.execute("UPDATE records SET output = CAST('../victim.jpg' AS BLOB), made = NULL "
                   "WHERE key = CAST('p1.jpg' AS BLOB)")
    db.close()
    os.unlink(src / "p1.jpg")
    invoke(src, "-o", out, "-w", "1", "--prune", "--prune-limit", "100%")
    assert victim.read_bytes() == b"precious"


def test_a_manifest_or_report_is_never_written_over_a_photo(tmp_path, src):
    before = snapshot(src)
    for option in ("--manifest", "--report"):
        result = invoke(src, "-o", tmp_path / "out", option, src / "p1.jpg")
        assert result.exit_code == 2
        assert f"{option} '{src / 'p1.jpg'}' is a photo in SOURCE" in result.stderr
    assert snapshot(src) == before


def test_a_manifest_is_never_written_over_a_file_it_did_not_write(tmp_path, src):
    notes = tmp_path / "notes.json"
    notes.write_text('{"mine": true}')
    result = invoke(src, "-o", tmp_path / "out", "--manifest", notes)
    assert result.exit_code == 2 and "is a file thumbnailer did not write" in result.stderr
    assert notes.read_text() == '{"mine": true}'
    assert not (tmp_path / "out").exists()  # refused before anything was touched
    ours = tmp_path / "m.json"
    assert invoke(src, "-o", tmp_path / "out", "--manifest", ours).exit_code == 0
    assert invoke(src, "-o", tmp_path / "out", "--manifest", ours).exit_code == 0


def test_the_state_is_never_opened_through_a_link(tmp_path, src):
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(tmp_path / "elsewhere.sqlite", out / STATE_NAME)  # SQLite would make it
    result = invoke(src, "-o", out, "-w", "1")
    assert result.exit_code == 3
    assert result.stderr.strip().splitlines() == [
        f"thumbnailer: {out / STATE_NAME} is a symbolic link, not thumbnailer's state: "
        "move it away"]
    assert not (tmp_path / "elsewhere.sqlite").exists()
    assert os.path.islink(out / STATE_NAME)
