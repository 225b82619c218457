from collections import Counter

from thumbnailer.report import ExitCode, Tally, failure_line, manifest, summary_line
from thumbnailer.spec import Entry, Status


def entry(source, size, status, **kw):
    return Entry(source, size, status, **kw)


def test_summary_line():
    counts = Counter({Status.CREATED: 3, Status.SKIPPED: 2, Status.FAILED: 1})
    assert summary_line(counts, 1.234) == "3 created, 2 skipped, 1 failed in 1.2 s"
    assert summary_line(counts, 0.0, dry_run=True).startswith("3 to create,")


def test_failure_line_names_the_file_then_the_reason():
    assert failure_line("a/b.jpg", "empty file (0 bytes)") == "a/b.jpg: empty file (0 bytes)"


def test_exit_code_is_failed_only_when_something_failed():
    tally = Tally()
    tally.add([entry("a", "256", Status.SKIPPED), entry("b", "256", Status.CREATED)])
    assert tally.exit_code is ExitCode.OK
    tally.add([entry("c", "256", Status.FAILED, error="bad")])
    assert tally.exit_code is ExitCode.FAILED == 1


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
    assert data["summary"] == {"created": 1, "skipped": 1, "failed": 2, "seconds": 2.5}
    assert set(data["entries"][0]) == {"source", "size", "status", "output", "format", "width",
                                       "height", "bytes", "error"}
    assert data["entries"][0]["output"] is None and data["entries"][0]["status"] == "failed"
