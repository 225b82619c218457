"""--report's Markdown: bounded tables, cells that cannot break a row."""

from collections import Counter

from thumbnailer.outputs.markdown import FAILURES_SHOWN, TOP, MarkdownReport
from thumbnailer.spec import Entry, Outcome, Status


def made(n, size, seconds):
    return Outcome(f"/p/{n}.jpg", (Entry(f"/p/{n}.jpg", "256", Status.CREATED, f"/t/{n}.jpg",
                                         "jpeg", 256, 171, size),), seconds=seconds)


def failed(n, reason):
    return Outcome(f"/p/bad{n}.jpg", (Entry(f"/p/bad{n}.jpg", "256", Status.FAILED,
                                            error=reason),), reason)


def test_it_keeps_the_largest_the_slowest_and_the_first_failures():
    report = MarkdownReport()
    for n in range(50):
        report.add(made(n, 1000 + n, n / 100))
    for n in range(FAILURES_SHOWN + 5):
        report.add(failed(n, "truncated | bad\nfile `x`"))
    text = report.markdown(Counter({Status.CREATED: 50, Status.FAILED: 105}), 1.5, [], None,
                           "Thumbnails of /p")
    assert report.bytes_written == sum(1000 + n for n in range(50))
    largest = text.split("### Largest thumbnails made")[1].split("###")[0]
    assert [f"/t/{n}.jpg" in largest for n in range(50)] == [n >= 50 - TOP for n in range(50)]
    slowest = text.split("### Slowest sources")[1]
    assert slowest.index("/p/49.jpg") < slowest.index("/p/48.jpg")  # slowest first
    assert "/p/39.jpg" not in slowest
    assert "### Failures (105 images)" in text and "| ... and 5 more | |" in text
    assert "| `/p/bad0.jpg` | truncated \\| bad file 'x' |" in text  # one row, not three
    assert "| 50 | 0 | 105 | 0 | 50.0 KB | 1.5 s |" in text


def test_a_refused_prune_is_said_and_an_unasked_one_is_not_counted():
    text = MarkdownReport().markdown(Counter(), 0.2, None, "no images were found in /mnt",
                                     "T")
    assert "| not asked |" in text
    assert "**Options.prune deleted nothing:** no images were found in /mnt." in text
    assert "###" not in text  # no empty tables


def test_known_failures_are_counted_apart():
    counts = Counter({Status.FAILED: 3})
    text = MarkdownReport().markdown(counts, 0.2, None, None, "T", known=2)
    assert "| 0 | 0 | 3 | not asked |" in text
    assert "2 of the failed thumbnails are known failures, not tried again" in text
    assert "known failures" not in MarkdownReport().markdown(counts, 0.2, None, None, "T")


def test_images_are_counted_above_the_table_of_thumbnails():
    counts = Counter({Status.CREATED: 4, Status.FAILED: 8})
    text = MarkdownReport().markdown(counts, 0.2, None, None, "T",
                                     images="3 images: 1 made (4 thumbnails), 2 failed")
    above, table = text.split("| thumbnails created |")
    assert "**3 images: 1 made (4 thumbnails), 2 failed.**" in above
    assert "| 4 | 0 | 8 | not asked |" in table
    assert "**" not in MarkdownReport().markdown(counts, 0.2, None, None, "T")
