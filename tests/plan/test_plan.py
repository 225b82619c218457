import dataclasses
import json
import os
import time

import pytest
from helpers import photo
from PIL import Image

from thumbnailer import plan as plan_module
from thumbnailer.plan import plan
from thumbnailer.plan.names import Taken, check_template, free_keys, namers, split_name
from thumbnailer.plan.state import LEGACY_NAME, STATE_NAME, State
from thumbnailer.render import render
from thumbnailer.spec import Format, Settings, Size, Status


def settings(tmp_path, **kw):
    return Settings(output=str(tmp_path / "out"), **kw)


def run(job):
    """Render every task in-process and record it: the steps run_job takes."""
    outcomes = [render(task) for task in job.tasks]
    for outcome in outcomes:
        job.record(outcome)
    job.close()
    return outcomes


def outputs(job):
    return {os.path.relpath(t.stem, job.settings.output) for task in job.tasks
            for t in task.targets}


@pytest.fixture
def photos(tmp_path):
    src = tmp_path / "photos"
    photo(src / "a.jpg", (300, 200))
    photo(src / "sub" / "b.png", (200, 300), seed=1)
    return src


def test_one_size_keeps_the_name_and_mirrors_folders(tmp_path, photos):
    job = plan([str(photos)], settings(tmp_path))
    assert outputs(job) == {"a", os.path.join("sub", "b")}


def test_several_sizes_encode_the_size_in_the_name(tmp_path, photos):
    job = plan([str(photos)], settings(tmp_path, sizes=(Size(256, 256), Size(320, None))))
    assert outputs(job) == {"a_256", "a_320x", os.path.join("sub", "b_256"),
                            os.path.join("sub", "b_320x")}
    assert job.total == 4


def test_a_name_template_can_make_folders_per_size(tmp_path, photos):
    job = plan([str(photos)], settings(tmp_path, sizes=(Size(64, 64), Size(32, 32)),
                                       name="{size}/{stem}-thumb"))
    assert os.path.join("64", "a-thumb") in outputs(job)
    assert os.path.join("sub", "32", "b-thumb") in outputs(job)


@pytest.mark.parametrize("template", [
    "{stem}_{size}", "{size}/{stem}-thumb", "{stem}", "{stem}{stem}_{width}x{height}",
    "{stem:.3}_{size}", "{stem!r}_{size}", "x_{size}",
])
def test_namers_name_as_the_template_formats(template):
    """Differential: the fast namers against str.format itself."""
    size = Size(320, None)
    (namer,) = namers(template, [size])
    for stem in ["IMG_0001", "été", "a{b}c", os.fsdecode(b"\xff"), ""]:
        assert namer(stem) == template.format(stem=stem, size=size.label, width=320, height="")


@pytest.mark.parametrize("name", ["a.jpg", "a.b.JPG", ".hidden.jpg", "..jpg", "noext", ".",
                                  "a.", "a..jpg", "..."])
def test_split_name_is_splitext(name):
    assert split_name(name) == os.path.splitext(name)


def test_free_keys_compare_names_within_their_folder_case_insensitively():
    named = namers("{stem}_{size}", [Size(64, 64)])
    taken = Taken(bounded=True)
    assert free_keys(named, "Sub", "a", ".jpg", taken.of("Sub")) == (("Sub/a_64",), False)
    assert free_keys(named, "sub", "A", ".png", taken.of("sub")) == (("sub/A-png_64",), True)
    assert free_keys(named, "sub", "A", ".PNG", taken.of("sub")) == (("sub/A-png-2_64",), True)
    assert free_keys(named, "other", "a", ".jpg", taken.of("other")) == (("other/a_64",), False)


@pytest.mark.parametrize("template, reason", [
    ("../{stem}", "relative path"), ("/etc/{stem}", "relative path"), ("{stem}/", "relative"),
    ("a/../../{stem}", "relative"), ("{stem}_{bogus}", "unknown field"), ("{stem", "Settings.name"),
    ("{stem}", "same name"),
])
def test_bad_templates_are_refused(template, reason):
    with pytest.raises(ValueError, match=reason):
        check_template(template, [Size(1, 1), Size(2, 2)])


def test_a_collision_is_resolved_deterministically_and_reported(tmp_path):
    src = tmp_path / "photos"
    photo(src / "a.jpg", (50, 50))
    photo(src / "a.png", (50, 50), seed=2)
    photo(src / "A.webp", (50, 50), seed=3)
    job = plan([str(src)], settings(tmp_path))
    names = {task.source: os.path.basename(task.targets[0].stem) for task in job.tasks}
    # Walk order is by name: A.webp < a.jpg < a.png; the first keeps the plain name.
    assert names == {str(src / "A.webp"): "A", str(src / "a.jpg"): "a-jpg",
                     str(src / "a.png"): "a-png"}
    assert len(job.collisions) == 2
    assert all("taken by another source" in c for c in job.collisions)
    again = plan([str(src)], settings(tmp_path))
    assert [t.targets for t in again.tasks] == [t.targets for t in job.tasks]


def test_two_source_folders_with_the_same_file_name_do_not_overwrite(tmp_path):
    photo(tmp_path / "one" / "x.jpg", (40, 40))
    photo(tmp_path / "two" / "x.jpg", (40, 40), seed=1)
    job = plan([str(tmp_path / "one"), str(tmp_path / "two")], settings(tmp_path))
    assert outputs(job) == {"x", "x-jpg"}
    run(job)
    assert sorted(os.listdir(tmp_path / "out")) == [STATE_NAME, "x-jpg.jpg", "x.jpg"]


@pytest.mark.parametrize("output", ["photos", "."])
def test_an_output_folder_holding_a_source_is_refused(tmp_path, photos, output, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="could overwrite originals"):
        plan([str(photos)], Settings(output=output))


def test_the_output_may_live_inside_the_source_and_is_not_walked(tmp_path, photos):
    s = Settings(output=str(photos / "thumbs"))
    run(plan([str(photos)], s))
    again = plan([str(photos)], s)
    assert again.tasks == [] and len(again.skipped) == 2


def test_an_unchanged_rerun_skips_everything(tmp_path, photos):
    s = settings(tmp_path)
    run(plan([str(photos)], s))
    again = plan([str(photos)], s)
    assert again.tasks == []
    assert [e.status for e in again.skipped] == [Status.SKIPPED] * 2
    skipped = {os.path.basename(e.output): e for e in again.skipped}
    assert skipped["a.jpg"].width == 256 and skipped["a.jpg"].bytes > 0


def test_a_changed_source_is_regenerated_alone(tmp_path, photos):
    s = settings(tmp_path)
    run(plan([str(photos)], s))
    time.sleep(0.01)
    photo(photos / "a.jpg", (300, 200), seed=9)
    again = plan([str(photos)], s)
    assert [t.source for t in again.tasks] == [str(photos / "a.jpg")]


def test_a_source_replaced_by_an_older_file_is_noticed(tmp_path, photos):
    s = settings(tmp_path)
    run(plan([str(photos)], s))
    st = os.stat(photos / "a.jpg")
    photo(photos / "a.jpg", (310, 200), seed=9)
    os.utime(photos / "a.jpg", ns=(st.st_atime_ns, st.st_mtime_ns - 10**9))
    assert [t.source for t in plan([str(photos)], s).tasks] == [str(photos / "a.jpg")]


def test_a_changed_setting_regenerates_and_force_regenerates_all(tmp_path, photos):
    s = settings(tmp_path)
    run(plan([str(photos)], s))
    assert len(plan([str(photos)], dataclasses.replace(s, quality=50)).tasks) == 2
    assert len(plan([str(photos)], dataclasses.replace(s, force=True)).tasks) == 2


def test_adding_a_format_leaves_the_existing_ones_alone(tmp_path, photos):
    s = settings(tmp_path, sizes=(Size(64, 64), Size(32, 32)))
    run(plan([str(photos)], s))
    more = dataclasses.replace(s, formats=(Format.AUTO, Format.WEBP))
    job = plan([str(photos)], more)
    assert len(job.skipped) == 4
    assert {(t.size, t.format) for task in job.tasks for t in task.targets} == {
        (Size(64, 64), Format.WEBP), (Size(32, 32), Format.WEBP)}


def test_changing_the_sizes_remakes_every_size(tmp_path, photos):
    # Smaller sizes derive from larger ones, so the set of sizes shapes every byte.
    s = settings(tmp_path, sizes=(Size(64, 64), Size(32, 32)))
    run(plan([str(photos)], s))
    more = dataclasses.replace(s, sizes=(Size(64, 64), Size(32, 32), Size(16, 16)))
    job = plan([str(photos)], more)
    assert job.skipped == []
    assert len([t for task in job.tasks for t in task.targets]) == 6


def test_a_deleted_thumbnail_is_made_again(tmp_path, photos):
    s = settings(tmp_path)
    run(plan([str(photos)], s))
    os.unlink(tmp_path / "out" / "a.jpg")
    assert [t.source for t in plan([str(photos)], s).tasks] == [str(photos / "a.jpg")]


def test_a_failure_is_never_recorded_as_up_to_date(tmp_path):
    src = tmp_path / "photos"
    src.mkdir()
    (src / "bad.jpg").write_bytes(b"not a jpeg")
    s = settings(tmp_path)
    [outcome] = run(plan([str(src)], s))
    assert outcome.failed
    assert len(plan([str(src)], s).tasks) == 1


def test_when_auto_format_changes_extension_the_old_twin_goes(tmp_path):
    from PIL import Image

    src = tmp_path / "photos"
    src.mkdir()
    Image.new("RGBA", (40, 40), (255, 0, 0, 255)).save(src / "logo.png")
    s = settings(tmp_path, formats=(Format.AUTO,))
    run(plan([str(src)], s))
    assert os.path.exists(tmp_path / "out" / "logo.jpg")  # opaque: JPEG
    time.sleep(0.01)
    Image.new("RGBA", (40, 40), (255, 0, 0, 100)).save(src / "logo.png")
    run(plan([str(src)], s))
    assert sorted(os.listdir(tmp_path / "out")) == [STATE_NAME, "logo.png"]


def test_the_state_is_only_written_when_something_changed(tmp_path, photos):
    s = settings(tmp_path)
    run(plan([str(photos)], s))
    state = tmp_path / "out" / STATE_NAME
    before = os.stat(state).st_mtime_ns, sorted(os.listdir(tmp_path / "out"))
    run(plan([str(photos)], s))
    assert (os.stat(state).st_mtime_ns, sorted(os.listdir(tmp_path / "out"))) == before


def test_a_1x_state_is_migrated_and_its_thumbnails_stay_up_to_date(tmp_path, photos):
    s = settings(tmp_path)
    run(plan([str(photos)], s))
    out = tmp_path / "out"
    # Turn the database into the JSON file 1.x kept, as an upgrade finds it.
    state = State.load(str(out))
    records = {key: list(record) for key, record in state.items()}
    state.close()
    (out / LEGACY_NAME).write_text(json.dumps({"version": 2, "records": records}))
    (out / STATE_NAME).unlink()
    again = plan([str(photos)], s)
    assert again.tasks == [] and len(again.skipped) == 2  # nothing remade
    again.close()
    assert LEGACY_NAME not in os.listdir(out) and STATE_NAME in os.listdir(out)
    third = plan([str(photos)], s)  # the folders were filled in: their memos are kept
    assert third.tasks == [] and not third.state.legacy
    third.close()
    before = os.stat(out / STATE_NAME).st_mtime_ns, sorted(os.listdir(out))
    fourth = plan([str(photos)], s)  # now it writes nothing
    assert fourth.tasks == [] and len(fourth.skipped) == 2
    fourth.close()
    assert (os.stat(out / STATE_NAME).st_mtime_ns, sorted(os.listdir(out))) == before


# --- --shard ---------------------------------------------------------------------------------

@pytest.fixture
def forty(tmp_path):
    src = tmp_path / "forty"
    for n in range(40):
        photo(src / f"d{n % 3}" / f"p{n:02}.png", (8, 8), seed=n, fmt="PNG")
    return src


def test_shards_split_the_job_without_overlap_or_gaps(tmp_path, forty):
    full = {t.source for t in plan([str(forty)], settings(tmp_path)).tasks}
    parts = [{t.source for t in plan([str(forty)], settings(tmp_path, shard=(k, 3))).tasks}
             for k in (1, 2, 3)]
    assert set().union(*parts) == full and sum(map(len, parts)) == len(full) == 40
    assert all(len(p) >= 5 for p in parts)  # a hash spreads them


def test_adding_files_moves_no_other_file_to_another_shard(tmp_path, forty):
    before = [{t.source for t in plan([str(forty)], settings(tmp_path, shard=(k, 4))).tasks}
              for k in (1, 2, 3, 4)]
    for n in range(10):
        photo(forty / "new" / f"n{n}.png", (8, 8), seed=100 + n, fmt="PNG")
    after = [{t.source for t in plan([str(forty)], settings(tmp_path, shard=(k, 4))).tasks}
             for k in (1, 2, 3, 4)]
    for old, new in zip(before, after, strict=True):
        assert old <= new


def test_a_shard_names_outputs_as_the_full_job_does(tmp_path):
    # a.jpg and a.png collide; the renamed one must be the same in every shard.
    src = tmp_path / "c"
    photo(src / "a.jpg", (8, 8))
    photo(src / "a.png", (8, 8), fmt="PNG")
    full = {t.source: t.targets for t in plan([str(src)], settings(tmp_path)).tasks}
    for k in (1, 2):
        for task in plan([str(src)], settings(tmp_path, shard=(k, 2))).tasks:
            assert task.targets == full[task.source]


# --- hard links: every path gets its thumbnail, from one decode ------------------


def test_every_path_of_a_hard_linked_photo_gets_its_thumbnail_from_one_decode(
        tmp_path, monkeypatch):
    """The walk used to drop every path whose inode it had seen: a photo linked
    into two album folders got one thumbnail, and nothing said so."""
    src = tmp_path / "photos"
    photo(src / "2024" / "beach.jpg", (300, 200))
    (src / "albums" / "summer").mkdir(parents=True)
    os.link(src / "2024" / "beach.jpg", src / "albums" / "summer" / "beach.jpg")
    os.link(src / "2024" / "beach.jpg", src / "albums" / "best.jpg")
    s = settings(tmp_path, sizes=(Size(128, 128), Size(64, 64)),
                 formats=(Format.AUTO, Format.WEBP))
    job = plan([str(src)], s)
    [task] = job.tasks  # one decode serves all three paths
    assert len(task.links) == 2 * 4 and job.total == 3 * 4
    opened = []
    real_open = Image.open
    monkeypatch.setattr(Image, "open", lambda *a, **k: opened.append(a) or real_open(*a, **k))
    [outcome] = run(job)
    assert len(opened) == 1
    assert {e.status for e in outcome.entries} == {Status.CREATED}
    out = tmp_path / "out"
    names = ("2024/beach", "albums/summer/beach", "albums/best")
    for suffix in ("_128.jpg", "_64.jpg", "_128.webp", "_64.webp"):
        first, *others = (out / (n + suffix) for n in names)
        for other in others:
            assert other.read_bytes() == first.read_bytes()
            assert other.stat().st_ino == first.stat().st_ino  # linked, not copied
    # Each path is recorded under its own name: the rerun has nothing to do.
    again = plan([str(src)], s)
    assert again.tasks == [] and len(again.skipped) == 12
    assert {e.source for e in again.skipped} == {str(src / (n + ".jpg")) for n in names}


def test_a_new_link_of_an_up_to_date_photo_is_linked_not_decoded(tmp_path, monkeypatch):
    src = tmp_path / "photos"
    photo(src / "a.jpg", (300, 200))
    s = settings(tmp_path)
    run(plan([str(src)], s))
    os.link(src / "a.jpg", src / "z.jpg")
    job = plan([str(src)], s)
    [task] = job.tasks
    assert task.targets == () and len(task.links) == 1
    monkeypatch.setattr(Image, "open", lambda *a, **k: pytest.fail("decoded again"))
    [outcome] = run(job)
    [entry] = outcome.entries
    assert entry.status is Status.CREATED and entry.source == str(src / "z.jpg")
    out = tmp_path / "out"
    assert (out / "z.jpg").stat().st_ino == (out / "a.jpg").stat().st_ino
    assert plan([str(src)], s).tasks == []


def test_a_broken_hard_linked_file_fails_on_every_path(tmp_path):
    src = tmp_path / "photos"
    src.mkdir()
    (src / "a.jpg").write_text("not a photo")
    os.link(src / "a.jpg", src / "b.jpg")
    job = plan([str(src)], settings(tmp_path))
    [outcome] = run(job)
    assert [(e.source, e.status) for e in outcome.entries] == [
        (str(src / "a.jpg"), Status.FAILED), (str(src / "b.jpg"), Status.FAILED)]
    assert plan([str(src)], settings(tmp_path)).tasks != []  # never up to date


def test_a_link_falls_back_to_a_copy_where_links_fail(tmp_path, monkeypatch):
    src = tmp_path / "photos"
    photo(src / "a.jpg", (300, 200))
    os.link(src / "a.jpg", src / "b.jpg")

    def no_links(*args, **kwargs):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    [outcome] = run(plan([str(src)], settings(tmp_path)))
    out = tmp_path / "out"
    assert {e.status for e in outcome.entries} == {Status.CREATED}
    assert (out / "b.jpg").read_bytes() == (out / "a.jpg").read_bytes()
    assert (out / "b.jpg").stat().st_ino != (out / "a.jpg").stat().st_ino


# --- streaming: the plan is a stream, and memory holds a folder at a time ----------------

def test_tasks_flow_before_the_walk_has_finished(tmp_path, monkeypatch):
    src = tmp_path / "photos"
    for n in range(30):
        photo(src / f"d{n}" / "a.jpg", (16, 16), seed=n)
    walked = []
    real_walk = plan_module.walk

    def counting_walk(*args, **kwargs):
        for source in real_walk(*args, **kwargs):
            walked.append(source.path)
            yield source

    monkeypatch.setattr(plan_module, "walk", counting_walk)
    job = plan([str(src)], settings(tmp_path))
    stream = job.stream()
    first = next(stream)
    # A folder is planned once its files are walked: the walk is one file ahead
    # (the next folder's first tells that d0 has no more).
    assert first.source == str(src / "d0" / "a.jpg") and len(walked) == 2
    assert len([first, *stream]) == 30 and job.finished and job.planned == 30
    with pytest.raises(RuntimeError, match="streams once"):
        next(job.stream())
    job.close()


def test_names_are_let_go_once_the_walk_leaves_a_folder():
    taken = Taken(bounded=True)
    taken.of("a").add("a/x")
    taken.of("a/b").add("a/b/x")
    assert set(taken.groups) == {"a", "a/b"}  # a is still on the path
    taken.of("c").add("c/x")
    assert set(taken.groups) == {"c"}
    taken.of("").add("x")
    taken.of("d")
    assert set(taken.groups) == {"", "d"}  # the root's names stay: named files join it
    every = Taken(bounded=False)
    for folder in ("a", "b", "c"):
        every.of(folder).add(folder + "/x")
    assert set(every.groups) == {"a", "b", "c"}


def test_two_source_folders_with_the_same_subfolder_do_not_overwrite(tmp_path):
    photo(tmp_path / "one" / "sub" / "x.jpg", (40, 40))
    photo(tmp_path / "one" / "zzz" / "y.jpg", (40, 40), seed=2)  # walked between the two
    photo(tmp_path / "two" / "sub" / "x.jpg", (40, 40), seed=1)
    job = plan([str(tmp_path / "one"), str(tmp_path / "two")], settings(tmp_path))
    names = sorted(t.targets[0].stem for t in job.tasks)
    assert names == sorted(str(tmp_path / "out" / n) for n in ("sub/x", "sub/x-jpg", "zzz/y"))
    job.close()


def test_a_name_is_checked_for_each_file_when_the_stem_is_formatted(tmp_path):
    src = tmp_path / "photos"
    photo(src / "..ab.jpg", (40, 30))
    photo(src / "sub" / "..x.jpg", (40, 30), seed=1)
    photo(src / "cd.jpg", (40, 30), seed=2)
    job = plan([str(src)], settings(tmp_path, hidden=True, name="{stem:.2}/{stem}_{size}",
                                    sizes=(Size(32, 32), Size(64, 64))))
    assert outputs(job) == {os.path.join("cd", "cd_32"), os.path.join("cd", "cd_64")}
    failed = [(e.source, e.size, e.status, e.error) for e in job.skipped]
    outside = ("the Settings.name template gives {!r} for this file, which is outside the "
               "output folder")
    assert failed == [
        (str(src / "..ab.jpg"), "32", Status.FAILED, outside.format("../..ab_32")),
        (str(src / "..ab.jpg"), "64", Status.FAILED, outside.format("../..ab_32")),
        (str(src / "sub" / "..x.jpg"), "32", Status.FAILED, outside.format("../..x_32")),
        (str(src / "sub" / "..x.jpg"), "64", Status.FAILED, outside.format("../..x_32")),
    ]
    assert job.total == 6 and job.known == 0
    job.close()


@pytest.mark.parametrize("name, problem", [
    ("a/b", None), ("..a", None), ("a..", None), ("../a", "outside"), ("a/../b", "outside"),
    ("/a", "outside"), ("..", "outside"), ("", "usable"), ("a//b", "usable"), ("./a", "usable"),
    ("a\\b", "usable"), ("a/", "usable"),
])
def test_name_problem(name, problem):
    from thumbnailer.plan.names import name_problem

    found = name_problem(name)
    assert (found is None) if problem is None else (problem in found)


def test_folders_whose_names_differ_only_in_case_collide_across_the_walk(tmp_path):
    """Sub and sub are one folder on macOS and Windows disks: the first in walk
    order keeps the names, files of the other are renamed, visibly, although
    café comes between them (so Sub's names were let go: they are found again)."""
    src = tmp_path / "src"
    for n, folder in enumerate(["Sub", "caf\u00e9", "sub", "SUB", "A/x", "B", "a/x",
                                "cafe\u0301/n", "cafz", "caf\u00e9/n"]):
        photo(src / folder / "x.jpg", (40, 30), seed=n)
    photo(src / "sub" / "y.jpg", (40, 30), seed=20)
    photo(src / "Sub" / "x.png", (40, 30), seed=21)  # Sub: x, x-png; sub's x: x-jpg
    job = plan([str(src)], settings(tmp_path))
    names = [os.path.relpath(task.targets[0].stem, job.settings.output) for task in job.tasks]
    assert names == [
        "A/x/x", "B/x", "SUB/x",  # codepoint order: capitals first; SUB keeps x
        "Sub/x-jpg", "Sub/x-png", "a/x/x-jpg",
        "cafe\u0301/n/x", "cafz/x", "caf\u00e9/x", "caf\u00e9/n/x-jpg",  # NFD, then NFC
        "sub/x-jpg-2", "sub/y",
    ]
    assert [c.split(": ")[0] for c in job.collisions] == [
        str(src / f)
        for f in ("Sub/x.jpg", "Sub/x.png", "a/x/x.jpg", "caf\u00e9/n/x.jpg", "sub/x.jpg")]
    assert all("taken by another source" in c for c in job.collisions)
    job.close()


def test_a_rename_is_told_only_when_the_state_does_not_hold_it(tmp_path):
    src = tmp_path / "photos"
    photo(src / "a.jpg", (50, 50))
    photo(src / "a.png", (50, 50), seed=2)

    def told(**kw):
        job = plan([str(src)], settings(tmp_path, **kw))
        said: list[str] = []
        job.on_collision = said.append
        run(job)
        return [line.split(": ")[0] for line in said], len(job.collisions)

    assert told() == ([str(src / "a.png")], 1)
    assert told() == ([], 1)  # the same rename: no news, still listed
    # Another format: a-png.webp is new, but a-png (format auto) is this source's already.
    assert told(formats=(Format.AUTO, Format.WEBP)) == ([], 1)
    photo(src / "A.jpg", (50, 50), seed=3)  # first in walk order: a.jpg's name changes
    assert told() == ([str(src / "a.jpg")], 2)
    assert told() == ([], 2)


def test_taken_keeps_spellings_not_names_of_folders_left():
    recalled = []

    def recall(spelling, names):
        recalled.append(spelling)
        names.add("x")

    taken = Taken(bounded=True, recall=recall)
    taken.of("Sub").add("x")
    taken.of("b").add("y")
    assert set(taken.groups) == {"b"}
    assert "x" in taken.of("sub") and recalled == ["Sub"]
    taken.of("sub/deep")
    assert "x" in taken.of("SUB") and recalled == ["Sub"]  # sub was on the path: kept
    taken.of("c")
    assert "x" in taken.of("SUb") and recalled == ["Sub", "Sub", "sub", "SUB"]


@pytest.mark.parametrize("exclude", [(), ("trip/skip*",), ("deep",)])
def test_a_scoped_walk_meets_what_the_whole_walk_meets_there(tmp_path, exclude):
    """--watch's batches walk a folder (or a folder and its subfolders) of two SOURCE
    folders: the same files, with the same relative paths, in the same order."""
    from thumbnailer.plan.sources import Selection, walk, walk_scope

    one, two = tmp_path / "one", tmp_path / "two"
    for root in (one, two):
        for rel in ("a.jpg", "trip/b.jpg", "trip/skip.jpg", "trip/deep/c.jpg", ".hid/d.jpg",
                    "trip/.e.jpg", "trip/notes.txt"):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(b"x")
    (tmp_path / "file.jpg").write_bytes(b"x")
    args = [str(one), str(tmp_path / "file.jpg"), str(two)]
    chosen = Selection(exclude=exclude)
    whole = [(s.path, s.rel) for s in walk(args, chosen)]
    for folder in ("", "trip", "trip/deep", ".hid", "gone"):
        for below in (False, True):
            def inside(rel, folder=folder, below=below):
                where = rel.rpartition("/")[0]
                return where == folder or (below and (
                    folder == "" or where.startswith(folder + "/")))
            expected = [(p, r) for p, r in whole if inside(r)]
            met = [(s.path, s.rel) for s in walk_scope(args, ((folder, below),), chosen)]
            assert met == expected, (folder, below)
    # A folder inside a recursive one in the same scope is met once.
    met = [s.path for s in walk_scope(args, (("trip", True), ("trip/deep", False)), chosen)]
    assert met == [s.path for s in walk_scope(args, (("trip", True),), chosen)]
