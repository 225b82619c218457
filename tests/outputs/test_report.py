from thumbnailer.outputs.report import Tally, failure_line, manifest, summary_line
from thumbnailer.outputs.spool import Spool
from thumbnailer.spec import Entry, Status


def entry(source, size, status, **kw):
    return Entry(source, size, status, **kw)


def tally_of(*outcomes, walked=()):
    """A Tally fed as a run feeds it: the walk's entries one by one, then each
    outcome's entries together."""
    tally = Tally()
    for e in walked:
        tally.add_one(e)
    for entries in outcomes:
        tally.add(entries)
    return tally


def made(source, size, fmt="jpeg"):
    return entry(source, size, Status.CREATED, output=f"o/{source}_{size}.{fmt}", format=fmt)


def broken(source, size, **kw):
    return entry(source, size, Status.FAILED, error="truncated", **kw)


def test_summary_line_counts_images_and_thumbnails():
    # Two broken files and a good one, 2 sizes x 2 formats: 2 failed, not 8.
    good = [made("c.jpg", s, f) for s in ("128", "512") for f in ("jpeg", "webp")]
    tally = tally_of(good, [broken("a.jpg", s) for s in ("128", "512") * 2],
                     [broken("b.jpg", s) for s in ("128", "512") * 2])
    assert tally.counts[Status.FAILED] == 8
    assert summary_line(tally, 1.234) == "3 images: 1 made (4 thumbnails), 2 failed in 1.2 s"
    assert summary_line(tally, 0.0, dry_run=True).startswith(
        "3 images: 1 to make (4 thumbnails), 2 failed in")


def test_summary_line_says_only_what_is_not_zero_and_one_image_is_one():
    assert summary_line(Tally(), 0.04) == "0 images in 0.0 s"
    one = tally_of([made("a.jpg", "256")])
    assert summary_line(one, 1.0) == "1 image: 1 made (1 thumbnail) in 1.0 s"
    rerun = tally_of(walked=[entry(s, z, Status.SKIPPED) for s in "ab" for z in ("1", "2")])
    assert summary_line(rerun, 0.3) == "2 images: 2 up to date in 0.3 s"


def test_summary_line_of_known_failures_counts_images_passed_over():
    known = [broken("a.jpg", s, since="2026-11-26T20:00:00Z") for s in ("1", "2")]
    tally = tally_of(walked=[entry("b.jpg", "1", Status.SKIPPED), entry("b.jpg", "2",
                                                                        Status.SKIPPED), *known])
    assert summary_line(tally, 0.1) == (
        "2 images: 1 up to date, 1 failed (1 known, not retried) in 0.1 s")


def test_a_partly_failed_image_counts_as_failed_with_its_thumbnails_made():
    tally = tally_of([made("a.jpg", "1"), made("a.jpg", "2"), broken("a.jpg", "3")])
    assert tally.sources == {Status.FAILED: 1}
    assert summary_line(tally, 1.0) == "1 image: 1 failed (2 thumbnails made) in 1.0 s"
    assert list(tally.failures()) == [("a.jpg", "truncated")]


def test_an_image_partly_up_to_date_counts_once_by_its_outcome():
    # The walk tells a.jpg's up-to-date size, then (later) it has a size to make.
    tally = Tally()
    tally.add_one(entry("a.jpg", "1", Status.SKIPPED))
    tally.later("a.jpg")
    tally.add_one(entry("b.jpg", "1", Status.SKIPPED))
    tally.add([made("a.jpg", "2")])
    assert tally.sources == {Status.CREATED: 1, Status.SKIPPED: 1}
    assert summary_line(tally, 1.0) == "2 images: 1 made (1 thumbnail), 1 up to date in 1.0 s"


def test_failed_images_are_listed_once_with_or_without_a_spool():
    for spool in (Spool(), None):
        tally = Tally(spool)
        tally.add_one(broken("z.jpg", "1", since="2026-11-26T20:00:00Z"))
        tally.add_one(broken("z.jpg", "2", since="2026-11-26T20:00:00Z"))
        tally.add([broken("a.jpg", "1"), broken("a.jpg", "2"), made("b.jpg", "1")])
        assert list(tally.failures()) == [("z.jpg", "truncated"), ("a.jpg", "truncated")]
        assert tally.sources == {Status.FAILED: 2, Status.CREATED: 1}
        assert tally.known_sources == 1


def test_failure_line_names_the_file_then_the_reason():
    assert failure_line("a/b.jpg", "empty file (0 bytes)") == "a/b.jpg: empty file (0 bytes)"


def test_a_tally_counts_each_status_and_keeps_every_entry():
    # (The exit code it leads to is JobResult's: test_job.py.)
    tally = Tally(Spool())
    tally.add([entry("a", "256", Status.SKIPPED), entry("b", "256", Status.CREATED)])
    tally.add([entry("c", "256", Status.FAILED, error="bad")])
    assert tally.counts == {Status.SKIPPED: 1, Status.CREATED: 1, Status.FAILED: 1}
    assert [e.source for e in tally.entries] == ["a", "b", "c"]


def test_manifest_is_sorted_counted_and_complete():
    entries = [
        entry("b.jpg", "64", Status.CREATED, output="o/b_64.jpg", format="jpeg", width=64,
              height=48, bytes=900),
        entry("b.jpg", "1024", Status.SKIPPED, output="o/b_1024.jpg", format="jpeg",
              width=1024, height=768, bytes=90000),
        entry("a.jpg", "64", Status.FAILED, error="truncated"),
        entry("a.jpg", "1024", Status.FAILED, error="truncated"),
    ]
    data = manifest(entries, 2.5, ["1024", "64"])
    assert [(e["source"], e["size"]) for e in data["entries"]] == [
        ("a.jpg", "1024"), ("a.jpg", "64"), ("b.jpg", "1024"), ("b.jpg", "64")]
    assert data["summary"] == {"created": 1, "skipped": 1, "failed": 2, "pruned": 0,
                               "seconds": 2.5,
                               "images": {"created": 1, "skipped": 0, "failed": 1}}
    assert set(data["entries"][0]) == {"source", "size", "status", "output", "format", "width",
                                       "height", "bytes", "error"}
    assert data["entries"][0]["output"] is None and data["entries"][0]["status"] == "failed"


def test_a_failure_says_since_when_and_other_entries_have_no_since():
    entries = [entry("a.jpg", "64", Status.FAILED, error="bad", since="2026-11-26T20:00:00Z"),
               entry("b.jpg", "64", Status.CREATED, output="o/b.jpg", format="jpeg")]
    data = manifest(entries, 1.0, ["64"])  # through the spool and back
    assert data["entries"][0]["since"] == "2026-11-26T20:00:00Z"
    assert "since" not in data["entries"][1]


def test_summary_line_counts_pruned_thumbnails_only_when_pruning():
    tally = tally_of([made("a.jpg", "1")])
    assert "pruned" not in summary_line(tally, 1.0)
    assert summary_line(tally, 1.0, pruned=4) == (
        "1 image: 1 made (1 thumbnail); 4 thumbnails pruned in 1.0 s")
    assert "; 2 thumbnails to prune in" in summary_line(tally, 1.0, dry_run=True, pruned=2)
    assert summary_line(Tally(), 1.0, pruned=1) == "0 images; 1 thumbnail pruned in 1.0 s"


def test_manifest_sources_list_outputs_narrowest_first_with_a_srcset_per_format():
    made = [
        entry("p/a.jpg", "1024", Status.CREATED, output="out/x/a_1024.webp", format="webp",
              width=1024, height=768, bytes=50000),
        entry("p/a.jpg", "320", Status.SKIPPED, output="out/x/a_320.webp", format="webp",
              width=320, height=240, bytes=9000),
        entry("p/a.jpg", "320", Status.CREATED, output="out/x/a_320.jpg", format="jpeg",
              width=320, height=240, bytes=12000),
        entry("p/b c.jpg", "320", Status.FAILED, error="truncated"),
    ]
    data = manifest(made, 1.0, ["1024", "320"], root="out", pruned=["out/old.jpg"])
    [a] = data["sources"]  # b failed: no outputs, no srcset
    assert a["source"] == "p/a.jpg"
    assert [(o["url"], o["width"]) for o in a["outputs"]] == [
        ("x/a_320.jpg", 320), ("x/a_320.webp", 320), ("x/a_1024.webp", 1024)]
    assert a["outputs"][0] == {"url": "x/a_320.jpg", "size": "320", "format": "jpeg",
                               "width": 320, "height": 240, "bytes": 12000}
    assert a["srcset"] == {"jpeg": "x/a_320.jpg 320w",
                           "webp": "x/a_320.webp 320w, x/a_1024.webp 1024w"}
    assert data["pruned"] == ["out/old.jpg"] and data["summary"]["pruned"] == 1


def test_srcset_urls_are_quoted_and_never_repeat_a_width():
    made = [
        entry("a", "256", Status.CREATED, output="o/my pics/a #1.jpg", format="jpeg",
              width=256, height=100, bytes=1),
        entry("a", "256x", Status.CREATED, output="o/my pics/a #1_w.jpg", format="jpeg",
              width=256, height=100, bytes=1),
    ]
    [a] = manifest(made, 1.0, ["256", "256x"], root="o")["sources"]
    assert a["srcset"] == {"jpeg": "my%20pics/a%20%231.jpg 256w"}


def test_the_written_manifest_is_the_manifest_as_data_one_item_a_line(tmp_path):
    # write_manifest formats each line from the spool's row (no dict): it must say what
    # json.dumps of manifest()'s data says, for every kind of value.
    import json
    import os

    from thumbnailer.outputs.report import write_manifest

    root = str(tmp_path / "out")
    odd = os.fsdecode(b"caf\xe9 \"q\".jpg")  # not UTF-8: written \u-escaped
    entries = [
        entry("p/a.jpg", "1024", Status.SKIPPED, output=f"{root}/a_1024.webp", format="webp",
              width=1024, height=683, bytes=19120, placeholder="TH BH #aabbcc"),
        entry("p/a.jpg", "256", Status.CREATED, output=f"{root}/a.jpg", format="jpeg",
              width=256, height=171, bytes=9120, preview=True),
        entry("p/a.jpg", "1024", Status.SKIPPED, output=f"{root}/a_1024.jpg", format="jpeg",
              width=1024, height=683, bytes=29120),
        entry("p/b é\t.jpg", "256", Status.FAILED, error="bad\nthing", since="2026-01-01T00:00Z"),
        entry(f"p/{odd}", "256", Status.SKIPPED, output=f"{root}/sub dir/{odd}", format="png",
              width=10, height=10, bytes=100),
    ]
    tally = Tally(Spool(["256", "1024"]))
    tally.add(entries)
    path = tmp_path / "m.json"
    write_manifest(str(path), tally.spool, tally.counts, 1.5, root=root, pruned=["x"],
                   collisions=["y"], images=tally.sources)
    text = path.read_bytes().decode("utf-8")
    expected = manifest(entries, 1.5, ["256", "1024"], root=root, pruned=["x"],
                        collisions=["y"])
    expected["summary"]["images"] = {s.value: tally.sources[s] for s in Status}
    assert json.loads(text) == json.loads(json.dumps(expected))
    items = [line.rstrip(",") for line in text.splitlines() if line.startswith("    {")]
    assert len(items) == 5 + 2  # each entry and each source with a thumbnail, a line each
    for line in items:
        json.loads(line)
    assert "\\udce9" in text and "sub%20dir/caf%E9%20%22q%22.jpg 10w" in text
    assert '"preview": true' in text and '"since": "2026-01-01T00:00Z"' in text


def test_an_unchanged_rerun_leaves_the_manifest_as_it_is(tmp_path):
    import json

    from click.testing import CliRunner
    from helpers import photo

    from thumbnailer import cli

    src, out, path = tmp_path / "photos", tmp_path / "out", tmp_path / "m.json"
    photo(src / "a.jpg", (120, 90))
    photo(src / "trip" / "b.jpg", (120, 90), seed=1)
    (src / "bad.jpg").write_bytes(b"")

    def run():
        CliRunner().invoke(cli.main, [str(src), "-o", str(out), "-w", "1", "-s", "64",
                                      "-s", "32", "--manifest", str(path), "--gallery"],
                           catch_exceptions=False)
        st = path.stat()
        return path.read_bytes(), (st.st_ino, st.st_mtime_ns)

    first, second, third = run(), run(), run()
    data = [json.loads(text) for text, _ in (first, second)]
    assert data[0]["summary"]["created"] == 4 and data[1]["summary"]["skipped"] == 4
    assert [e["status"] for e in data[1]["entries"]] == ["skipped", "skipped", "failed",
                                                         "failed", "skipped", "skipped"]
    assert second[1] != first[1]  # its statuses and counts changed: written
    assert third == second  # nothing would change but "seconds": left as it is
    edited = second[0].replace(b'"version": 1', b'"version": 1 ')
    path.write_bytes(edited)  # edited by hand: its size changed
    again = run()[0]
    assert again != edited and b'"version": 1,' in again  # written again
    path.unlink()
    assert json.loads(run()[0])["entries"] == data[1]["entries"]  # deleted: written again
    (src / "c.jpg").write_bytes((src / "a.jpg").read_bytes())
    assert len(json.loads(run()[0])["entries"]) == 8  # a new photo: written
