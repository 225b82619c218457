"""run_job: a whole run as one library call, and JobResult's exit code."""

import os
import signal

import pytest
from helpers import image_files, photo

from thumbnailer import Options, Settings, Size, run_job
from thumbnailer import plan as plan_module
from thumbnailer.outputs.report import Tally
from thumbnailer.result import ExitCode, JobResult, Reporter
from thumbnailer.spec import Entry, Status
from thumbnailer.storage.lock import output_lock


@pytest.fixture
def photos(tmp_path):
    src = tmp_path / "photos"
    photo(src / "a.jpg", (400, 300))
    photo(src / "sub" / "b.png", (300, 400), seed=1)
    (src / "bad.jpg").write_text("not a photo")
    return src


class Recorder(Reporter):
    """Keeps what a run tells, by kind."""

    def __init__(self):
        self.told = []

    def outcome(self, outcome):
        self.told.append(("outcome", outcome.source))

    def summary(self, line):
        self.told.append(("summary", line))

    def problem(self, message):
        self.told.append(("problem", message))

    def planned(self, line):
        self.told.append(("planned", line))


def test_a_whole_run_records_and_reruns_to_nothing(tmp_path, photos):
    settings = Settings(output=str(tmp_path / "out"), sizes=(Size(128, 128),))
    told = Recorder()
    result = run_job([str(photos)], settings, Options(workers=1), told)
    assert result.tally.counts[Status.CREATED] == 2 and result.tally.counts[Status.FAILED] == 1
    assert result.exit_code is ExitCode.FAILED and result.stop is None
    assert [p.name for p in image_files(tmp_path / "out")] == ["a.jpg", "b.jpg"]
    assert sorted(s for kind, s in told.told if kind == "outcome") == sorted(
        str(photos / n) for n in ("a.jpg", "bad.jpg", "sub/b.png"))
    assert told.told[-1][0] == "summary"
    again = run_job([str(photos)], settings, Options(workers=1))
    assert again.tally.counts[Status.SKIPPED] == 2 and again.tally.counts[Status.CREATED] == 0
    # bad.jpg is a known failure now: still counted, no longer news.
    assert again.tally.counts[Status.FAILED] == 1 and again.known_failures == 1
    assert again.new_failures == 0 and again.exit_code is ExitCode.OK


def test_a_dry_run_writes_nothing_and_tells_the_plan(tmp_path, photos):
    told = Recorder()
    result = run_job([str(photos)], Settings(output=str(tmp_path / "out")),
                     Options(dry_run=True), told)
    assert not (tmp_path / "out").exists()
    assert result.exit_code is ExitCode.OK
    assert len([1 for kind, _ in told.told if kind == "planned"]) == 3


def test_another_runs_lock_is_a_stop_with_its_own_code(tmp_path, photos):
    out = tmp_path / "out"
    out.mkdir()
    told = Recorder()
    with output_lock(str(out)):
        result = run_job([str(photos)], Settings(output=str(out)), Options(workers=1), told)
    assert result.stop == "locked" and result.exit_code is ExitCode.LOCKED
    assert told.told == [("problem", f"thumbnailer: another thumbnailer run is using {out}; "
                                     "try again later, or use Options.wait")]
    assert image_files(out) == []


def test_an_impossible_job_raises_before_anything_is_touched(tmp_path, photos):
    with pytest.raises(ValueError, match="contains the source"):
        run_job([str(photos)], Settings(output=str(photos.parent)))


@pytest.mark.parametrize("stop, failed, code", [
    (None, False, ExitCode.OK), (None, True, ExitCode.FAILED),
    ("interrupted", False, ExitCode.INTERRUPTED), ("terminated", True, ExitCode.TERMINATED),
    ("halted", False, ExitCode.HALTED), ("locked", False, ExitCode.LOCKED),
])
def test_the_exit_code_is_decided_in_one_place(stop, failed, code):
    tally = Tally()
    if failed:
        tally.add([Entry("a.jpg", "256", Status.FAILED, error="broken")])
    assert JobResult(tally, 1.0, stop).exit_code is code


def test_only_new_failures_fail_a_run_unless_strict():
    tally = Tally()
    tally.add([Entry(f"{n}.jpg", "256", Status.FAILED, error="broken") for n in range(3)])
    assert JobResult(tally, 1.0, known_failures=2, repeated_failures=1).exit_code is ExitCode.OK
    assert JobResult(tally, 1.0, known_failures=2).exit_code is ExitCode.FAILED
    assert JobResult(tally, 1.0, known_failures=3, strict=True).exit_code is ExitCode.FAILED


@pytest.mark.parametrize("signum, stop, said", [
    (signal.SIGINT, "interrupted", "interrupted"),
    (signal.SIGTERM, "terminated", "terminated (SIGTERM)"),
])
def test_a_signal_while_planning_stops_at_once_with_its_code(photos, tmp_path, monkeypatch,
                                                             signum, stop, said):
    # 1.0 left this to click: "Aborted!" and exit 1, whatever the signal.
    def walking(*args, **kwargs):
        os.kill(os.getpid(), signum)
        raise AssertionError("the walk went on after the signal")
        yield  # a generator, as the walk is

    monkeypatch.setattr(plan_module, "walk", walking)
    reporter = Recorder()
    result = run_job([str(photos)], Settings(output=str(tmp_path / "out")), Options(workers=1),
                     reporter)
    assert result.stop == stop and result.exit_code == ExitCode[stop.upper()]
    assert reporter.told == [("problem", f"{said} before any image was made")]
    assert image_files(tmp_path / "out") == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_memory_budget_estimates_only_when_the_worst_case_would_not_fit():
    from thumbnailer.job import _budget
    from thumbnailer.read.cost import decode_cost, worst
    from thumbnailer.run.budget import ADDRESS_SLACK

    settings = Settings()
    roomy = _budget(settings, Options(max_memory=worst(settings) * 4), slots=2)
    assert roomy.limit is None and roomy.cost is None  # no header is read twice
    assert roomy.address_space == worst(settings) * 4 + ADDRESS_SLACK
    tight = _budget(settings, Options(max_memory=1 << 30), slots=2)
    assert tight.limit == 1 << 30 and tight.cost is decode_cost
    threads = _budget(settings, Options(max_memory=1 << 30, executor="thread"), slots=2)
    assert threads.address_space is None  # a limit would be the whole process's


@pytest.mark.parametrize("keep", [True, False], ids=["entries kept", "no entries"])
def test_the_result_counts_each_source_once_and_lists_each_failure_once(photos, tmp_path,
                                                                        keep):
    settings = Settings(output=str(tmp_path / "out"), sizes=(Size(64, 64), Size(128, 128)))
    result = run_job([str(photos)], settings, Options(workers=1, keep_entries=keep))
    assert result.tally.counts == {Status.CREATED: 4, Status.FAILED: 2}  # per thumbnail
    assert result.sources == {Status.CREATED: 2, Status.FAILED: 1}  # per source
    assert list(result.failures) == [
        (str(photos / "bad.jpg"), "not an image, or in a format Pillow cannot read")]
    assert result.exit_code is ExitCode.FAILED
    again = run_job([str(photos)], settings, Options(workers=1, keep_entries=keep))
    assert again.sources == {Status.SKIPPED: 2, Status.FAILED: 1}
    assert again.tally.known_sources == 1 and again.known_failures == 2
    assert [source for source, _ in again.failures] == [str(photos / "bad.jpg")]
    assert again.exit_code is ExitCode.OK  # a known failure, as before
