"""The storage seam: one contract, kept by local folders and by fsspec's memory://."""

import os
import uuid

import pytest

from thumbnailer import storage
from thumbnailer.storage import LOCAL, Local, is_url, local_path, store
from thumbnailer.storage.remote import Remote


class Names:
    """A walk's name rules for these tests: no hidden names, only .jpg files."""

    follow_symlinks = False

    def __init__(self):
        self.passed_over = []

    def folder(self, name, rel):
        return not name.startswith(".")

    def file(self, name, rel):
        return not name.startswith(".") and name.endswith(".jpg")

    def unreadable(self, path, rel, reason):
        pass

    def passed(self, name, rel, is_dir):
        self.passed_over.append(rel)


@pytest.fixture(params=["local", "memory"])
def root(request, tmp_path):
    """An empty folder on each kind of store."""
    if request.param == "local":
        return str(tmp_path / "root")
    return f"memory://t-{uuid.uuid4().hex}/root"


TREE = ["a.jpg", "b/c.jpg", "b/d/e.jpg", "b/notes.txt", ".hidden/f.jpg", "b/.g.jpg",
        "out/h.jpg"]


def make_tree(root):
    where = store(root)
    for rel in TREE:
        where.write(where.join(root, rel), rel.encode())


def test_a_path_has_one_store():
    assert store("photos/a.jpg") is LOCAL and isinstance(LOCAL, Local)
    assert isinstance(store("memory://x/a.jpg"), Remote)
    assert store("s3://b/a") is store("S3://b/c")  # one per protocol
    assert is_url("s3://bucket/x") and is_url("gs://b")
    assert not is_url("file:///tmp/x") and not is_url("/tmp/s3://x") and not is_url("c:\\x")
    assert local_path("file:///tmp/a%20b.jpg") == "/tmp/a b.jpg"
    assert local_path("s3://b/a.jpg") == "s3://b/a.jpg"


@pytest.mark.parametrize("root", ["/a", "/a/", "a", "", "/", "./a b"])
@pytest.mark.parametrize("rel", ["x", "x/y.jpg", ""])
def test_local_join_is_os_path_join(root, rel):
    assert LOCAL.join(root, rel) == os.path.join(root, *rel.split("/"))


def test_written_files_read_back_whole(root):
    where = store(root)
    path = where.join(root, "x/y.bin")
    assert not where.exists(path)
    where.write(path, b"hello")
    assert where.exists(path) and where.read(path) == b"hello"
    assert where.stat(path).st_size == 5 and where.stat(path).st_mtime_ns > 0
    assert where.is_dir(where.join(root, "x")) and not where.is_dir(path)
    assert where.is_file(path) and not where.is_file(where.join(root, "x"))
    assert where.relative(path, root) == "x/y.bin"
    assert where.parent(path) == where.join(root, "x")
    readable = where.readable(path)
    data = open(readable, "rb").read() if isinstance(readable, str) else readable.read()
    assert data == b"hello"


def test_encode_writes_what_the_encoder_wrote_and_counts_it(root):
    where = store(root)
    path = where.join(root, "e/z.bin")
    assert where.encode(path, lambda f: f.write(b"x" * 1000)) == 1000
    assert where.read(path) == b"x" * 1000


def test_a_failed_encode_leaves_nothing(root):
    where = store(root)
    path = where.join(root, "f/z.bin")

    def fails(f):
        f.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        where.encode(path, fails)
    assert not where.exists(path)
    folder = where.join(root, "f")
    leftovers = os.listdir(folder) if where is LOCAL and os.path.isdir(folder) else []
    assert leftovers == []


def test_link_and_remove(root):
    where = store(root)
    a, b = where.join(root, "a.bin"), where.join(root, "sub/b.bin")
    where.write(a, b"same bytes")
    where.put_link(root, "a.bin", "sub/b.bin")
    assert where.read(b) == b"same bytes"
    where.remove(a)
    assert not where.exists(a) and where.read(b) == b"same bytes"
    with pytest.raises(FileNotFoundError):
        where.stat(a)
    with pytest.raises(OSError):
        where.read(a)


def test_walk_takes_the_same_files_on_every_store(root, tmp_path):
    make_tree(root)
    where = store(root)
    names = Names()
    found = list(where.walk(root, names, skip=[where.join(root, "out")]))
    assert [f.rel for f in found] == ["a.jpg", "b/c.jpg", "b/d/e.jpg"]
    for f in found:
        assert where.read(f.path) == f.rel.encode()
        assert f.stat.st_size == len(f.rel)
    # Differential: a bare os.walk over the same tree, with the same rules.
    reference = tmp_path / "reference"
    for rel in TREE:
        (reference / rel).parent.mkdir(parents=True, exist_ok=True)
        (reference / rel).write_bytes(rel.encode())
    expected = sorted(
        os.path.relpath(os.path.join(d, n), reference).replace(os.sep, "/")
        for d, dirs, files in os.walk(reference)
        for n in files
        if n.endswith(".jpg") and not n.startswith(".")
        and not any((p.startswith(".") and p != ".") or p == "out"
                    for p in os.path.relpath(d, reference).split(os.sep))
    )
    assert [f.rel for f in found] == expected


def test_walk_of_a_file_takes_it_as_named(root):
    where = store(root)
    path = where.join(root, "notes.txt")
    where.write(path, b"x")
    (found,) = where.walk(path, Names())
    assert found.path == path and found.rel == "notes.txt" and found.stat.st_size == 1


def test_local_walk_enters_a_folder_once_and_counts_symlinks(tmp_path):
    make_tree(str(tmp_path))
    os.symlink(tmp_path / "b", tmp_path / "link-to-b")
    os.symlink(tmp_path / "a.jpg", tmp_path / "z.jpg")
    names, seen = Names(), set()
    first = [f.rel for f in LOCAL.walk(str(tmp_path), names, seen=seen)]
    assert sorted(names.passed_over) == ["link-to-b", "z.jpg"]
    assert "b/c.jpg" in first
    # The same folder again, under another name, with the same seen set: nothing new.
    assert list(LOCAL.walk(str(tmp_path / "b"), names, seen=seen)) == []


def counted_listings(where, monkeypatch):
    """The folders a store is asked to list (none for the local store)."""
    asked = []
    if where is not LOCAL:
        fs, ls = where.fs, where.fs.ls
        monkeypatch.setattr(fs, "ls", lambda path, **kw: asked.append(path) or ls(path, **kw))
        monkeypatch.setattr(fs, "find", None)  # never the whole tree at once
    return asked


def test_a_finder_finds_files_and_lists_each_folder_once(root, monkeypatch):
    make_tree(root)
    where = store(root)
    asked = counted_listings(where, monkeypatch)
    find = where.finder(root)
    for rel in [*TREE, *TREE]:
        path, st = find(rel)
        assert path == where.join(root, rel) and st.st_size == len(rel)
    assert find("b/missing.jpg") is None and find("nowhere/x.jpg") is None
    assert find("b") is None or where is LOCAL  # a folder is no file on a store
    if where is not LOCAL:  # the root, b, b/d, .hidden, out, nowhere: each once
        assert len(asked) == len(set(asked)) == 6


def test_a_walk_lists_folder_by_folder(root, monkeypatch):
    make_tree(root)
    where = store(root)
    asked = counted_listings(where, monkeypatch)
    found = [f.rel for f in where.walk(root, Names(), skip=[where.join(root, "out")])]
    assert found == ["a.jpg", "b/c.jpg", "b/d/e.jpg"]
    if where is not LOCAL:  # not .hidden nor out: they are never entered
        assert asked == [root, where.join(root, "b"), where.join(root, "b/d")]


def test_web_links_only_where_a_browser_can_follow_them(root):
    where = store(root)
    path = where.join(root, "pics/a b.jpg")
    where.write(path, b"12345")
    if where is LOCAL:
        assert where.href(path, os.path.join(root, "out")) == "../pics/a%20b.jpg"
        assert where.cheap_size(path) == 5
    else:
        assert where.href(path, root) is None and where.cheap_size(path) is None


def test_a_store_that_cannot_be_used_says_why():
    with pytest.raises(OSError, match="nosuchproto"):
        storage.check("nosuchproto://bucket/x")
    storage.check("memory://fine")
    storage.check("/a/local/path")


def test_store_errors_become_oserror(monkeypatch):
    where = store("memory://errors")

    class Broken:
        def cat_file(self, path):
            raise RuntimeError("the store fell over")

    monkeypatch.setattr(Remote, "fs", property(lambda self: Broken()))
    with pytest.raises(OSError, match="RuntimeError: the store fell over"):
        where.read("memory://errors/x")


def test_the_local_lock_is_held_and_a_store_has_none(tmp_path):
    from thumbnailer.storage.lock import Locked

    with LOCAL.lock(str(tmp_path)), pytest.raises(Locked):
        with LOCAL.lock(str(tmp_path)):
            pass
    with store("memory://x").lock("memory://x"):
        pass


def test_a_local_run_never_imports_fsspec(tmp_path):
    import subprocess
    import sys

    from helpers import photo

    photo(tmp_path / "src" / "a.jpg", (64, 48))
    code = ("import sys\n"
            "from thumbnailer.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('fsspec', 'thumbnailer.storage.remote')\n"
            "             if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "src"), "-o",
                           str(tmp_path / "out"), "--gallery", "--prune", "--manifest",
                           str(tmp_path / "m.json"), "-w", "1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "[]", proc.stderr
    assert "1 image: 1 made (1 thumbnail)" in proc.stderr


# --- the safety seam: put, put_link, delete inside an output root -------------------

def _bytes(data):
    return lambda f: f.write(data)


@pytest.mark.parametrize("rel", ["", "/etc/x", "../x", "a/../../x", "a//b", "./x", "a/."])
def test_a_path_that_leaves_the_root_is_refused(root, rel):
    where = store(root)
    with pytest.raises(storage.Unsafe):
        where.put(root, rel, _bytes(b"x"))
    with pytest.raises(storage.Unsafe):
        where.delete(root, rel, storage.ANY)


def test_put_makes_a_file_and_says_what_it_is(root):
    where = store(root)
    made = where.put(root, "a/b/c.jpg", _bytes(b"12345"))
    st = where.stat(where.join(root, "a/b/c.jpg"))
    assert made == where.identity(st) and made.size == 5
    assert where.read(where.join(root, "a/b/c.jpg")) == b"12345"


def test_put_never_writes_over_a_file_it_cannot_prove_it_made(root):
    where = store(root)
    path = where.join(root, "c.jpg")
    where.write(path, b"the user's")
    with pytest.raises(storage.NotOurs, match=r"c\.jpg is not a file thumbnailer made"):
        where.put(root, "c.jpg", _bytes(b"thumbnail"))
    assert where.read(path) == b"the user's"
    ours = where.put(root, "d.jpg", _bytes(b"one"))
    again = where.put(root, "d.jpg", _bytes(b"two!"), expect=ours)  # its own: replaced
    assert where.read(where.join(root, "d.jpg")) == b"two!"
    with pytest.raises(storage.NotOurs):  # the identity of before no longer holds
        where.put(root, "d.jpg", _bytes(b"three"), expect=ours)
    assert where.read(where.join(root, "d.jpg")) == b"two!"
    where.put(root, "d.jpg", _bytes(b"four"), expect=again)
    where.put(root, "c.jpg", _bytes(b"adopted"), expect=storage.ANY)
    assert where.read(path) == b"adopted"
    if where is LOCAL:
        assert not [n for n in os.listdir(root) if n.startswith(".thumbnailer-tmp-")]


def test_delete_takes_only_the_file_made(root):
    where = store(root)
    made = where.put(root, "x/a.jpg", _bytes(b"ours"))
    where.write(where.join(root, "x/b.jpg"), b"the user's, bigger")
    stale = storage.Identity(made.size + 1, made.mtime_ns, made.ino)
    with pytest.raises(storage.NotOurs):
        where.delete(root, "x/a.jpg", stale)
    with pytest.raises(storage.NotOurs):
        where.delete(root, "x/b.jpg", made)
    assert where.delete(root, "x/a.jpg", made) is True
    assert where.delete(root, "x/a.jpg", made) is False  # gone: nothing to do
    assert where.read(where.join(root, "x/b.jpg")) == b"the user's, bigger"


def test_put_link_gives_the_same_bytes(root):
    where = store(root)
    where.put(root, "a.jpg", _bytes(b"same"))
    made = where.put_link(root, "a.jpg", "sub/b.jpg")
    assert where.read(where.join(root, "sub/b.jpg")) == b"same" and made.size == 4
    with pytest.raises(storage.NotOurs):
        where.put_link(root, "a.jpg", "sub/b.jpg")  # taken now


def test_no_write_or_delete_goes_through_a_link_below_the_root(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "q.jpg").write_bytes(b"original")
    root = tmp_path / "out"
    root.mkdir()
    os.symlink(photos, root / "sub")
    with pytest.raises(storage.Unsafe, match="sub is a symbolic link in the output folder"):
        LOCAL.put(str(root), "sub/q.jpg", _bytes(b"thumb"), expect=storage.ANY)
    with pytest.raises(storage.Unsafe):
        LOCAL.delete(str(root), "sub/q.jpg", storage.ANY)
    with pytest.raises(storage.Unsafe):
        LOCAL.put(str(root), "sub/new/x.jpg", _bytes(b"thumb"))
    LOCAL.remove_empty(["sub"], str(root))
    assert (photos / "q.jpg").read_bytes() == b"original" and os.listdir(photos) == ["q.jpg"]
    assert os.path.islink(root / "sub")
    # A link at the file's own name is replaced only as a name, never written through.
    os.symlink(photos / "q.jpg", root / "q.jpg")
    with pytest.raises(storage.NotOurs):
        LOCAL.put(str(root), "q.jpg", _bytes(b"thumb"))
    with pytest.raises(storage.NotOurs):
        LOCAL.delete(str(root), "q.jpg", storage.ANY)
    assert (photos / "q.jpg").read_bytes() == b"original"


def test_the_root_itself_may_be_a_link(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "out")
    LOCAL.put(str(tmp_path / "out"), "a/b.jpg", _bytes(b"x"))
    assert (tmp_path / "real" / "a" / "b.jpg").read_bytes() == b"x"


def test_remove_empty_goes_up_to_the_root_and_no_further(tmp_path):
    root = tmp_path / "out"
    (root / "a" / "b" / "c").mkdir(parents=True)
    (root / "a" / "keep.jpg").write_bytes(b"x")
    LOCAL.remove_empty(["a/b/c"], str(root))
    assert sorted(os.listdir(root / "a")) == ["keep.jpg"] and root.is_dir()


def test_a_key_that_is_a_folder_is_not_written_over(tmp_path):
    root = f"memory://t-{uuid.uuid4().hex}/root"
    where = store(root)
    where.write(where.join(root, "a.jpg/inside.jpg"), b"x")
    with pytest.raises(OSError):
        where.put(root, "a.jpg", _bytes(b"thumb"), expect=storage.ANY)
