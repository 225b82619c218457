"""Attacking the safety model: what thumbnailer never does, whatever the user does.

A stateful property test (hypothesis ``RuleBasedStateMachine``). A temp tree holds
``src/`` (photos and folders), ``out/`` (the output root), ``outside/`` (the
user's other files, and targets for symlinks) and ``cwd/`` (the command's working
folder). The rules play a user: they add, change, rename and delete photos and
folders, make folders unreadable (``chmod 000``), plant symlinks and their own
files in ``out/``, corrupt the state database or hold it from another process,
and run the real command in a subprocess with options drawn from a small set.

After every run the model is checked against the tree (the model, from
docs/guarantees.md and the safety model being adopted):

1. every source file is byte-identical to the model; none deleted or added;
2. ``outside/`` is unchanged (paths, bytes, symlink targets); nothing new in the
   temp tree outside ``out/``; the working folder stays empty;
3. every user file planted in ``out/`` is still there with its bytes, and every
   symlink planted there still points where it pointed;
4. the exit code is 0, 1, 3, 4 or 75; 75 when the database was held; not 0 when a
   visible folder could not be listed (and the folder is named on stderr); not 0
   (and a failure counted) when a user's file or symlink sat where a thumbnail had
   to be written; and with ``--prune``, thumbnails under an unlistable folder stay;
5. no traceback; every stderr line is one line (no raw control character, a
   newline in a name never starts a line of its own), and none is said twice;
6. the junk bytes of a corrupted database are kept in an
   ``out/.thumbnailer-state.sqlite.damaged-<UTC YYYYmmddTHHMMSSZ>`` file; a held
   database is left as it was.

CI runs THUMBNAILER_ATTACK_EXAMPLES (default 50) examples of up to
THUMBNAILER_ATTACK_STEPS (default 25) steps each: 100 to 170 runs of the command, under a
minute when nothing fails (shrinking failures took 5 minutes on code that broke them all). A
longer run by hand:
THUMBNAILER_ATTACK_EXAMPLES=1000 THUMBNAILER_ATTACK_STEPS=40 pytest tests/test_attack.py
(THUMBNAILER_ATTACK_DEBUG=1 with -n 0 -s prints how many runs each example made.)
"""

from __future__ import annotations

import functools
import io
import os
import posixpath
import random
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule
from PIL import Image, ImageDraw

EXAMPLES = int(os.environ.get("THUMBNAILER_ATTACK_EXAMPLES", "50"))
STEPS = int(os.environ.get("THUMBNAILER_ATTACK_STEPS", "25"))

REPO = str(Path(__file__).resolve().parents[1])
STATE_NAME = ".thumbnailer-state.sqlite"
#: A damaged database moved aside (-N when one moved aside in the same second is there).
DAMAGED = re.compile(re.escape(STATE_NAME) + r"\.damaged-\d{8}T\d{6}Z(-\d+)?")
EXIT_CODES = {0, 1, 3, 4, 75}

#: The command, with the busy timeout lowered so that a held database costs half
#: a second, not ten (setting it is harmless where the module has no such name).
LAUNCH = ("from thumbnailer.plan import state as s; s.BUSY_SECONDS = 0.5; "
          "from thumbnailer.cli import main; main(prog_name='thumbnailer')")

#: Another process holding the state database in a transaction until its stdin closes.
HOLD = ("import sqlite3, sys\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "db.execute('BEGIN EXCLUSIVE')\n"
        "print('held', flush=True)\n"
        "sys.stdin.read()\n")

# Names a user gives: a leading "..", spaces, a newline, case twins, non-ASCII.
STEMS = ["p1", "P1", "..p", " a b ", "new\nline", "café", "x"]
EXTS = [".jpg", ".png", ".JPG"]
FOLDERS = ["Sub", "sub", "..d", "d ir", "café", "new\nlf", ".h"]
USER_NAMES = ["notes.txt", "mine.jpg", "Café.JPG", ".hidden", "p1.jpg"]

#: --name templates: plain, with {size}, with format specs and conversions.
TEMPLATES_ONE = [None, "{stem}", "{stem}_{size}", "{stem:.2}/{stem}", "sub/{stem}",
                 "{stem!s:.1}/{stem}", "{stem:>4}"]
#: With two sizes a template must hold {size} (else it is a usage error, exit 2).
TEMPLATES_TWO = [None, "{stem}_{size}", "{stem:.2}/{stem}_{size}"]
SIZES = [("32",), ("32", "16")]

CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# --- the machine's surroundings ------------------------------------------------------

@functools.cache
def privilege_drop() -> tuple[list[str], bool]:
    """The prefix that makes ``chmod 000`` bind the command, and whether it does.

    Root reads any folder (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH); setpriv takes
    those out of the bounding set, so the command runs as root but is refused an
    unreadable folder like anyone else. Checked on a real folder here, since a
    container may not allow it: the checks that need it are then skipped, with a
    warning, not silently passed."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search"]
    folder = tempfile.mkdtemp(prefix="thumbnailer-attack-check-")
    try:
        os.chmod(folder, 0)
        probe = subprocess.run([*prefix, sys.executable, "-c",
                                "import os, sys; os.listdir(sys.argv[1])", folder],
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        works = probe.returncode != 0 and b"PermissionError" in probe.stderr
    except (OSError, subprocess.SubprocessError):
        works = False
    finally:
        os.chmod(folder, 0o700)
        shutil.rmtree(folder)
    if not works:
        prefix = []
    return prefix, works


def tiny_photo(seed: int, ext: str) -> bytes:
    """A photo of a few to 64 px in random colours, as JPEG or PNG by ``ext``."""
    rng = random.Random(seed)
    size = (rng.randint(1, 64), rng.randint(1, 64))
    im = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    w, h = size
    xs, ys = sorted(rng.randrange(w) for _ in "xy"), sorted(rng.randrange(h) for _ in "xy")
    ImageDraw.Draw(im).rectangle((xs[0], ys[0], xs[1], ys[1]),
                                 fill=tuple(rng.randrange(256) for _ in range(3)))
    buf = io.BytesIO()
    im.save(buf, "PNG" if ext.lower() == ".png" else "JPEG")
    return buf.getvalue()


#: ("dir",), ("file", bytes), ("link", target) or ("other",).
Entry = tuple[str] | tuple[str, bytes] | tuple[str, str]


def tree(root: Path) -> dict[str, Entry]:
    """Everything under ``root`` without following symlinks: folders, file bytes,
    symlink targets, by "/"-joined relative path. A folder this process cannot
    read (chmod 000, not root) is opened for the look and closed again."""
    found: dict[str, Entry] = {}

    def visit(folder: str, rel: str) -> None:
        try:
            entries = list(os.scandir(folder))
        except PermissionError:
            mode = stat.S_IMODE(os.stat(folder).st_mode)
            os.chmod(folder, 0o700)
            try:
                entries = list(os.scandir(folder))
            finally:
                os.chmod(folder, mode)
        for e in entries:
            path = rel + e.name
            if e.is_symlink():
                found[path] = ("link", os.readlink(e.path))
            elif e.is_dir(follow_symlinks=False):
                found[path] = ("dir",)
                visit(e.path, path + "/")
            elif e.is_file(follow_symlinks=False):
                with open(e.path, "rb") as f:
                    found[path] = ("file", f.read())
            else:
                found[path] = ("other",)

    if root.is_dir() and not root.is_symlink():
        visit(str(root), "")
    return found


def pieces(name: str) -> list[str]:
    """The printable runs of a name: each must show on stderr however the tool
    escapes the control characters between them."""
    return [p for p in CONTROL.split(name) if p]


def within(rel: str, folder: str) -> bool:
    """Whether ``rel`` is ``folder`` or below it (relative "/"-joined paths)."""
    return folder == "" or rel == folder or rel.startswith(folder + "/")


def thumbnail_names(source: str, template: str | None, sizes: tuple[str, ...]) -> list[str]:
    """The thumbnail paths (relative to the output root) the spec gives ``source``
    when nothing collides: its folder, the template filled in, ``.jpg`` (the photos
    are opaque, so ``-f auto`` writes JPEG). Not normalised: "../x" stays."""
    folder, _, filename = source.rpartition("/")
    stem, _ = os.path.splitext(filename)
    if template is None:
        template = "{stem}" if len(sizes) == 1 else "{stem}_{size}"
    prefix = folder + "/" if folder else ""
    return [prefix + template.format(stem=stem, size=size, width=size, height=size) + ".jpg"
            for size in sizes]


def summary_failed(stderr: str) -> int | None:
    """The failed count of the summary line ("4 images: 3 made (3 thumbnails), 1 failed ..")."""
    found = re.findall(r"(\d[\d,]*) failed", stderr)
    return int(found[-1].replace(",", "")) if found else None


# --- the machine -------------------------------------------------------------------------

class AttackMachine(RuleBasedStateMachine):
    """The user, the model of what they own, and a run of the real command."""

    def __init__(self) -> None:
        super().__init__()
        self.prefix, self.locks_bind = privilege_drop()
        self.base = Path(tempfile.mkdtemp(prefix="thumbnailer-attack-"))
        self.src, self.out = self.base / "src", self.base / "out"
        self.outside, self.cwd = self.base / "outside", self.base / "cwd"
        for folder in (self.src, self.out, self.outside / "pics" / "deep", self.cwd):
            folder.mkdir(parents=True)
        (self.outside / "notes.txt").write_bytes(b"the user's notes\n")
        (self.outside / "pics" / "a.jpg").write_bytes(tiny_photo(1, ".jpg"))
        (self.outside / "pics" / "deep" / "b.png").write_bytes(tiny_photo(2, ".png"))
        self.sources: dict[str, bytes] = {}  # relative to src/
        self.folders: set[str] = {""}  # relative to src/, "" is src itself
        self.locked: set[str] = set()
        self.user_files: dict[str, bytes] = {}  # relative to out/
        self.links: dict[str, str] = {}  # relative to out/ -> target
        self.junk: list[bytes] = []
        self.fresh: set[str] = set()  # sources added or changed since the last run
        self.broken: set[str] = set()  # sources that are not images
        self.made_by: dict[str, str] = {}  # thumbnail (relative to out/) -> its source
        self.holder: subprocess.Popen[bytes] | None = None
        self.clock = 1_600_000_000 * 10**9  # each change gets a new mtime, 1 s later
        self.runs = 0

    def teardown(self) -> None:
        if os.environ.get("THUMBNAILER_ATTACK_DEBUG"):
            print(f"attack: {self.runs} runs")
        self._release()
        for folder in self.locked:
            os.chmod(self.src / folder, 0o755)
        shutil.rmtree(self.base, ignore_errors=True)

    # --- model helpers ---------------------------------------------------------------

    def _locked_at(self, rel: str) -> bool:
        """Under (or at) a folder made unreadable: the user leaves it alone meanwhile."""
        return any(within(rel, folder) for folder in self.locked)

    def _open_folders(self) -> list[str]:
        return sorted(f for f in self.folders if not self._locked_at(f))

    def _tick(self, path: Path) -> None:
        """A new, never used mtime: a change is always a change to the tool."""
        self.clock += 10**9
        os.utime(path, ns=(self.clock, self.clock))

    def _write_source(self, rel: str, data: bytes) -> None:
        self.broken.discard(rel)
        path = self.src / rel
        path.write_bytes(data)
        self._tick(path)
        self.sources[rel] = data
        self.fresh.add(rel)

    def _out_parent_ready(self, rel: str) -> bool:
        """Make the real folders above out/rel, as a user would; False where one
        of them is a symlink or a file (nothing to plant there)."""
        path = self.out
        for part in rel.split("/")[:-1]:
            path = path / part
            if path.is_symlink() or (path.exists() and not path.is_dir()):
                return False
            if not path.exists():
                path.mkdir()
        return True

    def _tool_made(self, rel: str) -> bool:
        """out/rel is a regular file the user did not put there (a thumbnail)."""
        path = self.out / rel
        return (rel not in self.user_files and rel not in self.links
                and not path.is_symlink() and path.is_file()
                and not any(within(rel, link) for link in self.links))

    def _free_or_thumbnail(self, rel: str) -> bool:
        """Make room at out/rel for the user's own file: nothing there, or a
        thumbnail the user replaces (deleted by the user, not by the tool)."""
        if ".." in rel.split("/") or not self._out_parent_ready(rel):
            return False
        path = self.out / rel
        if self._tool_made(rel):
            path.unlink()
            return True
        return not os.path.lexists(path)

    def _walked(self, rel: str, hidden: bool) -> bool:
        """Whether a run's walk reaches src/rel (a file or folder): not hidden
        (unless --hidden), not under an unreadable folder."""
        parts = rel.split("/")
        return (hidden or not any(p.startswith(".") for p in parts)) and not any(
            within(rel, folder) and rel != folder for folder in self.locked)

    @initialize(seeds=st.lists(st.integers(0, 2**32), min_size=1, max_size=3))
    def some_photos(self, seeds: list[int]) -> None:
        """A library to start from: a photo or a few, one in a sub-folder."""
        (self.src / "sub").mkdir()
        self.folders.add("sub")
        for n, seed in enumerate(seeds):
            self._write_source("sub/p1.jpg" if n == 1 else f"p{n}.jpg", tiny_photo(seed, ".jpg"))

    # --- photos ----------------------------------------------------------------------

    @rule(data=st.data(), stem=st.sampled_from(STEMS), ext=st.sampled_from(EXTS),
          seed=st.integers(0, 2**32))
    def add_photo(self, data: st.DataObject, stem: str, ext: str, seed: int) -> None:
        folder = data.draw(st.sampled_from(self._open_folders()), label="folder")
        rel = f"{folder}/{stem}{ext}" if folder else stem + ext
        if os.path.lexists(self.src / rel):
            return
        self._write_source(rel, tiny_photo(seed, ext))

    @precondition(lambda self: self.sources)
    @rule(data=st.data(), seed=st.integers(0, 2**32))
    def change_photo(self, data: st.DataObject, seed: int) -> None:
        rel = data.draw(st.sampled_from(sorted(self.sources)), label="photo")
        if self._locked_at(rel):
            return
        new = tiny_photo(seed, os.path.splitext(rel)[1])
        while new == self.sources[rel]:
            seed += 1
            new = tiny_photo(seed, os.path.splitext(rel)[1])
        self._write_source(rel, new)

    @precondition(lambda self: self.sources)
    @rule(data=st.data(), body=st.binary(max_size=16))
    def break_photo(self, data: st.DataObject, body: bytes) -> None:
        """A file with an image's name that is not one: a failure line naming it."""
        rel = data.draw(st.sampled_from(sorted(self.sources)), label="photo")
        if self._locked_at(rel):
            return
        self._write_source(rel, b"not a photo " + body)
        self.broken.add(rel)

    @precondition(lambda self: self.sources)
    @rule(data=st.data())
    def delete_photo(self, data: st.DataObject) -> None:
        rel = data.draw(st.sampled_from(sorted(self.sources)), label="photo")
        if self._locked_at(rel):
            return
        (self.src / rel).unlink()
        del self.sources[rel]
        self.fresh.discard(rel)
        self.broken.discard(rel)

    @precondition(lambda self: self.sources)
    @rule(data=st.data(), stem=st.sampled_from(STEMS), ext=st.sampled_from(EXTS))
    def rename_photo(self, data: st.DataObject, stem: str, ext: str) -> None:
        rel = data.draw(st.sampled_from(sorted(self.sources)), label="photo")
        folder = data.draw(st.sampled_from(self._open_folders()), label="to folder")
        new = f"{folder}/{stem}{ext}" if folder else stem + ext
        if self._locked_at(rel) or os.path.lexists(self.src / new):
            return
        os.rename(self.src / rel, self.src / new)  # keeps its mtime: not "fresh"
        self.sources[new] = self.sources.pop(rel)
        for marks in (self.fresh, self.broken):
            if rel in marks:
                marks.discard(rel)
                marks.add(new)

    # --- folders ---------------------------------------------------------------------

    @rule(data=st.data(), name=st.sampled_from(FOLDERS))
    def add_folder(self, data: st.DataObject, name: str) -> None:
        parent = data.draw(st.sampled_from(self._open_folders()), label="parent")
        rel = f"{parent}/{name}" if parent else name
        if os.path.lexists(self.src / rel):
            return
        (self.src / rel).mkdir()
        self.folders.add(rel)

    def _movable(self) -> list[str]:
        """Folders the user may rename or delete: no unreadable folder at, under
        or above them."""
        return sorted(f for f in self.folders if f and not any(
            within(f, lk) or within(lk, f) for lk in self.locked))

    def _move_model(self, old: str, new: str | None) -> None:
        """Carry the model's paths below ``old`` to ``new`` (None: deleted)."""
        def moved(rel: str) -> str | None:
            if not within(rel, old):
                return rel
            return None if new is None else new + rel[len(old):]
        self.sources = {m: v for r, v in self.sources.items() if (m := moved(r)) is not None}
        self.folders = {m for r in self.folders if (m := moved(r)) is not None}
        self.fresh = {m for r in self.fresh if (m := moved(r)) is not None}
        self.broken = {m for r in self.broken if (m := moved(r)) is not None}

    @precondition(lambda self: len(self.folders) > 1)
    @rule(data=st.data(), name=st.sampled_from(FOLDERS))
    def rename_folder(self, data: st.DataObject, name: str) -> None:
        movable = self._movable()
        if not movable:
            return
        rel = data.draw(st.sampled_from(movable), label="folder")
        parent = data.draw(st.sampled_from(self._open_folders()), label="to parent")
        new = f"{parent}/{name}" if parent else name
        if within(parent, rel) or os.path.lexists(self.src / new):
            return
        os.rename(self.src / rel, self.src / new)
        self._move_model(rel, new)

    @precondition(lambda self: len(self.folders) > 1)
    @rule(data=st.data())
    def delete_folder(self, data: st.DataObject) -> None:
        movable = self._movable()
        if not movable:
            return
        rel = data.draw(st.sampled_from(movable), label="folder")
        shutil.rmtree(self.src / rel)
        self._move_model(rel, None)

    @precondition(lambda self: len(self.folders) > 1)
    @rule(data=st.data())
    def lock_folder(self, data: st.DataObject) -> None:
        """chmod 000: the walk cannot list it (restored before teardown)."""
        candidates = [f for f in self._open_folders() if f]
        if not candidates:
            return
        rel = data.draw(st.sampled_from(candidates), label="folder")
        os.chmod(self.src / rel, 0)
        self.locked.add(rel)

    @precondition(lambda self: self.locked)
    @rule(data=st.data())
    def unlock_folder(self, data: st.DataObject) -> None:
        rel = data.draw(st.sampled_from(sorted(self.locked)), label="folder")
        os.chmod(self.src / rel, 0o755)
        self.locked.discard(rel)

    # --- the user's things in out/ ------------------------------------------------------

    def _link_targets(self, folders: bool) -> list[str]:
        """Where a planted symlink may point: into src/ (originals) or outside/."""
        if folders:
            inside = [str(self.src / f) for f in sorted(self.folders)]
            return [*inside, str(self.outside), str(self.outside / "pics")]
        return [str(self.src / s) for s in sorted(self.sources)] + [
            str(self.outside / "notes.txt"), str(self.outside / "pics" / "a.jpg")]

    def _thumbnail_name(self, data: st.DataObject) -> str:
        """The name a thumbnail of some source has, or will have, under a template."""
        source = data.draw(st.sampled_from(sorted(self.sources)), label="of photo")
        sizes = data.draw(st.sampled_from(SIZES), label="sizes")
        template = data.draw(st.sampled_from(TEMPLATES_ONE if len(sizes) == 1
                                             else TEMPLATES_TWO), label="template")
        name = data.draw(st.sampled_from(thumbnail_names(source, template, sizes)),
                         label="thumbnail")
        return posixpath.normpath(name)

    @precondition(lambda self: len(self.folders) > 1)
    @rule(data=st.data())
    def plant_folder_link(self, data: st.DataObject) -> None:
        """A symlink where a thumbnail folder is or will be (out/<folder>)."""
        rel = data.draw(st.sampled_from(sorted(self.folders - {""})), label="at")
        target = data.draw(st.sampled_from(self._link_targets(folders=True)), label="to")
        if os.path.lexists(self.out / rel) or not self._out_parent_ready(rel):
            return
        os.symlink(target, self.out / rel)
        self.links[rel] = target

    @precondition(lambda self: self.sources)
    @rule(data=st.data())
    def plant_file_link(self, data: st.DataObject) -> None:
        """A symlink under a thumbnail's name, to a source or an outside file."""
        rel = self._thumbnail_name(data)
        target = data.draw(st.sampled_from(self._link_targets(folders=False)), label="to")
        if not self._free_or_thumbnail(rel):
            return
        os.symlink(target, self.out / rel)
        self.links[rel] = target

    @precondition(lambda self: self.sources)
    @rule(data=st.data(), body=st.binary(max_size=32))
    def save_user_file_at_thumbnail_name(self, data: st.DataObject, body: bytes) -> None:
        """The user saves their own file where a thumbnail is, or will be."""
        rel = self._thumbnail_name(data)
        if not self._free_or_thumbnail(rel):
            return
        content = b"the user's own file " + body
        (self.out / rel).write_bytes(content)
        self.user_files[rel] = content

    @rule(data=st.data(), name=st.sampled_from(USER_NAMES), body=st.binary(max_size=32))
    def save_user_file_new_name(self, data: st.DataObject, name: str, body: bytes) -> None:
        """The user keeps a file of their own in the output folder, by a new name."""
        found = tree(self.out)
        folders = ["", *sorted(r for r, e in found.items() if e[0] == "dir")]
        folder = data.draw(st.sampled_from(folders), label="in")
        rel = f"{folder}/{name}" if folder else name
        if os.path.lexists(self.out / rel) or not self._out_parent_ready(rel):
            return
        content = b"kept by the user " + body
        (self.out / rel).write_bytes(content)
        self.user_files[rel] = content

    # --- the state database ---------------------------------------------------------------

    @precondition(lambda self: self.holder is None)
    @rule(body=st.binary(min_size=1, max_size=64))
    def corrupt_state(self, body: bytes) -> None:
        """Junk where the database is: not ours, so it is moved aside, never lost."""
        state = self.out / STATE_NAME
        if state.is_file() and state.read_bytes() in self.junk:  # no run saw it: ours to lose
            self.junk.remove(state.read_bytes())
        junk = b"not a database %d " % self.runs + body
        while junk in self.junk:
            junk += b"."
        state.write_bytes(junk)
        self.junk.append(junk)

    @precondition(lambda self: self.holder is None and (self.out / STATE_NAME).is_file())
    @rule()
    def hold_state(self) -> None:
        """Another process holds the database in a transaction during the next run."""
        path = self.out / STATE_NAME
        if path.read_bytes() in self.junk:
            return
        holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL)
        assert holder.stdout is not None
        if holder.stdout.readline().strip() == b"held":
            self.holder = holder
        else:  # not a database we can lock: nothing held
            holder.kill()
            holder.communicate()

    def _release(self) -> None:
        if self.holder is not None:
            self.holder.communicate(timeout=30)  # closing stdin ends the transaction
            self.holder = None

    # --- a run ----------------------------------------------------------------------------

    # Three rules run the command (hypothesis has no rule weights): a run is what
    # is attacked, so about one step in six is one.

    @rule(prune=st.booleans(), hidden=st.booleans(), data=st.data())
    def run(self, prune: bool, hidden: bool, data: st.DataObject) -> None:
        self._run(prune, hidden, data)

    @rule(hidden=st.booleans(), data=st.data())
    def run_prune(self, hidden: bool, data: st.DataObject) -> None:
        self._run(True, hidden, data)

    @rule(prune=st.booleans(), data=st.data())
    def run_hidden(self, prune: bool, data: st.DataObject) -> None:
        self._run(prune, True, data)

    def _run(self, prune: bool, hidden: bool, data: st.DataObject) -> None:
        """Run the command with the options drawn, then check every invariant."""
        sizes = data.draw(st.sampled_from(SIZES), label="sizes")
        workers = data.draw(st.sampled_from(["1", "2"]), label="workers")
        template = data.draw(st.sampled_from(TEMPLATES_ONE if len(sizes) == 1
                                             else TEMPLATES_TWO), label="template")
        args = [str(self.src), "-o", str(self.out), "-w", workers]
        for size in sizes:
            args += ["-s", size]
        if template is not None:
            args += ["--name", template]
        if hidden:
            args.append("--hidden")
        if prune:
            args += ["--prune", "--prune-limit", "100%"]
        held = self.holder is not None
        state = self.out / STATE_NAME
        state_before = state.read_bytes() if held and state.exists() else None
        outside_before = tree(self.outside)
        refused = self._refused_writes(template, sizes, hidden)
        listed = sorted(f for f in self.locked if self._walked(f, hidden))
        named = [] if held else sorted(
            s for s in self.fresh & self.broken if self._walked(s, hidden))
        protected = self._protected(listed) if prune and self.locks_bind else []

        env = {k: v for k, v in os.environ.items() if not k.startswith("THUMBNAILER_")}
        env["PYTHONPATH"] = REPO
        command = [*self.prefix, sys.executable, "-c", LAUNCH, *args]
        try:
            done = subprocess.run(command, cwd=self.cwd, env=env, stdin=subprocess.DEVNULL,
                                  capture_output=True, timeout=120)
        finally:
            self._release()
        self.runs += 1
        rc = done.returncode
        err = done.stderr.decode("utf-8", "surrogateescape")
        out = done.stdout.decode("utf-8", "surrogateescape")
        what = f"thumbnailer {' '.join(map(repr, args))}\nexit {rc}\nstderr:\n{err}"

        self._check_sources(what)
        self._check_surroundings(outside_before, what)
        self._check_user_things(what)
        self._check_exit(rc, err, held, listed, refused, protected, what)
        self._check_lines(err, out, named, what)
        self._check_state(rc, held, state_before, what)
        if rc != 75:
            self._attribute(template, sizes, hidden)
        self.fresh.clear()

    def _refused_writes(self, template: str | None, sizes: tuple[str, ...],
                        hidden: bool) -> list[str]:
        """Thumbnail paths this run has to write where the user's file or symlink
        sits (or a symlink stands for one of its folders): each a failure.

        Only sources added or changed since the last run (with a new mtime) count,
        since their records cannot be up to date; and only when no other source
        of the folder has the same stem (a collision renames one of them)."""
        refused = []
        for source in sorted(self.fresh):
            folder, _, filename = source.rpartition("/")
            stem = os.path.splitext(filename)[0].casefold()
            twins = [s for s in self.sources if s != source and s.rpartition("/")[0] == folder
                     and os.path.splitext(s.rpartition("/")[2])[0].casefold() == stem]
            if twins or source in self.broken or not self._walked(source, hidden):
                continue
            for name in map(posixpath.normpath, thumbnail_names(source, template, sizes)):
                parts = name.split("/")
                if ".." in parts:
                    continue
                above = ["/".join(parts[:i]) for i in range(1, len(parts))]
                if name in self.user_files or name in self.links or any(
                        a in self.links or a in self.user_files for a in above):
                    refused.append(name)
        return refused

    def _protected(self, listed: list[str]) -> list[str]:
        """The thumbnails of sources under each folder the walk cannot list, as
        far as the model knows them (made_by): --prune must keep them, since the
        tool cannot tell whether their sources are still there."""
        return sorted(name for name, source in self.made_by.items()
                      if any(within(source, folder) for folder in listed)
                      and self._tool_made(name))

    def _attribute(self, template: str | None, sizes: tuple[str, ...], hidden: bool) -> None:
        """After a run, note which source each thumbnail belongs to, where the
        names tell it without doubt: a walked image, no twin stem in its folder,
        a name no other source of the run gives, a file the tool made."""
        names: dict[str, list[str]] = {}
        for source in self.sources:
            if source in self.broken or not self._walked(source, hidden):
                continue
            for name in map(posixpath.normpath, thumbnail_names(source, template, sizes)):
                names.setdefault(name, []).append(source)
        for name, sources in names.items():
            folder, _, filename = sources[0].rpartition("/")
            stem = os.path.splitext(filename)[0].casefold()
            twins = [s for s in self.sources if s.rpartition("/")[0] == folder
                     and os.path.splitext(s.rpartition("/")[2])[0].casefold() == stem]
            if len(sources) == 1 and len(twins) == 1 and ".." not in name.split("/") \
                    and self._tool_made(name):
                self.made_by[name] = sources[0]
        self.made_by = {n: s for n, s in self.made_by.items() if self._tool_made(n)}

    # --- the invariants -----------------------------------------------------------------

    def _check_sources(self, what: str) -> None:
        """(1) Sources are only read: same files, same bytes, nothing added."""
        found = tree(self.src)
        files = {r: e[1] for r, e in found.items() if e[0] == "file"}
        others = {r: e for r, e in found.items() if e[0] not in ("file", "dir")}
        assert not others, f"(1) the tool made {sorted(others)} in src/\n{what}"
        added = sorted(set(files) - set(self.sources))
        gone = sorted(set(self.sources) - set(files))
        assert not added, f"(1) the tool added {added} to src/\n{what}"
        assert not gone, f"(1) the tool removed sources {gone}\n{what}"
        changed = sorted(r for r in files if files[r] != self.sources[r])
        assert not changed, f"(1) the tool changed sources {changed}\n{what}"
        folders = {r for r, e in found.items() if e[0] == "dir"} | {""}
        assert folders == self.folders, (
            f"(1) src/ folders changed: {sorted(folders ^ self.folders)}\n{what}")

    def _check_surroundings(self, outside_before: dict[str, Entry], what: str) -> None:
        """(2) Nothing outside out/ changes: outside/ as it was, no new entry
        beside the four folders, the working folder empty."""
        after = tree(self.outside)
        changed = sorted(r for r in set(after) | set(outside_before)
                         if after.get(r) != outside_before.get(r))
        assert not changed, f"(2) the tool changed outside/: {changed}\n{what}"
        top = sorted(os.listdir(self.base))
        assert top == ["cwd", "out", "outside", "src"], (
            f"(2) the tool wrote beside the output folder: {top}\n{what}")
        assert os.listdir(self.cwd) == [], (
            f"(2) the tool wrote in its working folder: {os.listdir(self.cwd)}\n{what}")

    def _check_user_things(self, what: str) -> None:
        """(3) The user's own files and symlinks in out/ are kept as they were."""
        for rel, content in sorted(self.user_files.items()):
            path = self.out / rel
            assert not path.is_symlink() and path.is_file(), (
                f"(3) the user's file out/{rel!r} is gone\n{what}")
            assert path.read_bytes() == content, (
                f"(3) the user's file out/{rel!r} was overwritten\n{what}")
        for rel, target in sorted(self.links.items()):
            path = self.out / rel
            assert path.is_symlink(), f"(3) the user's symlink out/{rel!r} is gone\n{what}"
            assert os.readlink(path) == target, (
                f"(3) the user's symlink out/{rel!r} now points elsewhere\n{what}")

    def _check_exit(self, rc: int, err: str, held: bool, listed: list[str],
                    refused: list[str], protected: list[str], what: str) -> None:
        """(4) The exit code says what happened."""
        assert rc in EXIT_CODES, f"(4) exit code {rc} is not one of {EXIT_CODES}\n{what}"
        if held:
            assert rc == 75, f"(4) the database was held: exit 75 expected\n{what}"
            return
        if self.locks_bind:
            for folder in listed:
                assert rc != 0, (f"(4) src/{folder!r} could not be listed, "
                                 f"yet exit 0\n{what}")
                missing = [p for p in pieces(folder) if p not in err]
                assert not missing, (f"(4) src/{folder!r} could not be listed and "
                                     f"stderr does not name it\n{what}")
            gone = [rel for rel in protected if not (self.out / rel).exists()]
            assert not gone, (f"(4) --prune deleted {gone}, under a folder it could not "
                              f"list\n{what}")
        elif self.locked:
            warnings.warn("chmod 000 does not bind the command here (root without "
                          "setpriv?): unreadable folders are not checked", stacklevel=1)
        if refused:
            assert rc != 0, (f"(4) a thumbnail had to be written over the user's "
                             f"{refused}, yet exit 0\n{what}")
            failed = summary_failed(err)
            assert failed is None or failed >= 1, (
                f"(4) the refusal over {refused} was not counted as a failure\n{what}")

    def _check_lines(self, err: str, out: str, named: list[str], what: str) -> None:
        """(5) No traceback; one line a failure, naming the file, said once,
        control characters escaped (a newline in a name never starts a line)."""
        assert "Traceback" not in err and "Traceback" not in out, f"(5) a traceback\n{what}"
        for source in named:
            name = source.rpartition("/")[2]
            assert all(p in err for p in pieces(name)), (
                f"(5) src/{source!r} is not an image and no line names it\n{what}")
        lines = err.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        raw = [line for line in lines if CONTROL.search(line)]
        assert not raw, f"(5) raw control characters on stderr: {raw!r}\n{what}"
        names = [n for n in list(self.sources) + list(self.folders) if "\n" in n]
        for name in names:
            tail = name.split("\n", 1)[1]
            split = [line for line in lines if line.startswith(tail)]
            assert not split, f"(5) a newline in {name!r} split a line: {split!r}\n{what}"
        twice = sorted({line for line in lines if lines.count(line) > 1})
        assert not twice, f"(5) lines said more than once: {twice!r}\n{what}"

    def _check_state(self, rc: int, held: bool, before: bytes | None, what: str) -> None:
        """(6) State is never discarded: a held database is left as it was, and
        junk is moved aside under its UTC-stamped name, never deleted."""
        state = self.out / STATE_NAME
        if held and before is not None:
            assert state.exists() and state.read_bytes() == before, (
                f"(6) the held database was discarded or changed\n{what}")
        if rc == 75:
            return
        damaged = [p.read_bytes() for p in self.out.iterdir() if DAMAGED.fullmatch(p.name)]
        lost = [junk for junk in self.junk if junk not in damaged]
        assert not lost, (f"(6) corrupted database bytes {lost!r} are not in any "
                          f"out/{STATE_NAME}.damaged-<UTC> file\n{what}")


AttackMachine.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
TestAttack = AttackMachine.TestCase
