import json
import os

import pytest
from click.testing import CliRunner
from helpers import image_files, photo, pixel_bomb_png, temp_leftovers
from PIL import Image

from thumbnailer import __version__, cli
from thumbnailer.cli import params
from thumbnailer.spec import Format


@pytest.fixture
def photos(tmp_path):
    src = tmp_path / "photos"
    photo(src / "a.jpg", (640, 480))
    photo(src / "b.png", (300, 400), seed=1)
    photo(src / "trip" / "c.jpg", (500, 500), seed=2)
    return src


def invoke(*args, env=None):
    return CliRunner().invoke(cli.main, [str(a) for a in args], env=env, catch_exceptions=False)


def snapshot(root):
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in root.rglob("*")}


def test_main_job_makes_a_mirrored_tree_and_prints_only_the_summary(tmp_path, photos):
    out = tmp_path / "out"
    result = invoke(photos, "-o", out, "-w", "1")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("3 images: 3 made (3 thumbnails) in ")
    assert [p.relative_to(out).as_posix() for p in image_files(out)] == [
        "a.jpg", "b.jpg", "trip/c.jpg"]
    with Image.open(out / "a.jpg") as thumb:
        assert thumb.size == (256, 192)


def test_default_output_is_thumbnails_in_the_working_folder(tmp_path, photos, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert invoke(photos, "-w", "1").exit_code == 0
    assert (tmp_path / "thumbnails" / "trip" / "c.jpg").exists()


def test_bad_files_get_one_line_each_and_the_rest_is_done(tmp_path, photos):
    (photos / "empty.jpg").write_bytes(b"")
    (photos / "notes.jpg").write_text("hello")
    whole = photo(tmp_path / "whole.jpg", (800, 600)).read_bytes()
    (photos / "half.jpg").write_bytes(whole[: len(whole) // 2])
    pixel_bomb_png(photos / "bomb.png")
    before = {p: p.read_bytes() for p in photos.rglob("*") if p.is_file()}
    out = tmp_path / "out"
    result = invoke(photos, "-o", out, "-w", "2")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    failures = dict(line.split(": ", 1) for line in lines[:-1])
    assert set(failures) == {str(photos / n) for n in ("empty.jpg", "notes.jpg", "half.jpg",
                                                       "bomb.png")}
    assert failures[str(photos / "empty.jpg")] == "empty file (0 bytes)"
    assert failures[str(photos / "notes.jpg")].startswith("not an image")
    assert failures[str(photos / "half.jpg")].startswith("truncated image data")
    bomb = failures[str(photos / "bomb.png")]
    assert "40000x40000 is 1,600,000,000 pixels, over the limit" in bomb
    assert lines[-1].startswith("7 images: 3 made (3 thumbnails), 4 failed in ")
    assert "Traceback" not in result.output
    assert [p.name for p in image_files(out)] == ["a.jpg", "b.jpg", "c.jpg"]
    assert temp_leftovers(out) == []
    assert {p: p.read_bytes() for p in photos.rglob("*") if p.is_file()} == before


def test_an_unchanged_rerun_writes_nothing(tmp_path, photos):
    out = tmp_path / "out"
    invoke(photos, "-o", out, "-w", "1")
    before = snapshot(out)
    result = invoke(photos, "-o", out, "-w", "1")
    assert result.exit_code == 0
    assert result.stderr.startswith("3 images: 3 up to date in ")
    assert snapshot(out) == before


def test_a_changed_setting_regenerates(tmp_path, photos):
    out = tmp_path / "out"
    invoke(photos, "-o", out, "-w", "1")
    small = os.path.getsize(out / "a.jpg")
    result = invoke(photos, "-o", out, "-w", "1", "-q", "40")
    assert result.stderr.startswith("3 images: 3 made (3 thumbnails) in ")
    assert os.path.getsize(out / "a.jpg") < small


def test_quiet_prints_only_failures(tmp_path, photos):
    (photos / "bad.jpg").write_bytes(b"\xff\xd8\xff garbage")
    result = invoke(photos, "-o", tmp_path / "out", "-w", "1", "--quiet")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"{photos / 'bad.jpg'}: not an image, or in a format Pillow cannot read"]


def test_quiet_prints_nothing_when_nothing_is_wrong(tmp_path, photos):
    result = invoke(photos, "-o", tmp_path / "out", "-w", "1", "--quiet")
    assert (result.exit_code, result.output) == (0, "")


def test_verbose_names_each_thumbnail(tmp_path, photos):
    out = tmp_path / "out"
    result = invoke(photos, "-o", out, "-w", "1", "-v")
    assert f"created: {out / 'a.jpg'} (256x192, " in result.stderr
    result = invoke(photos, "-o", out, "-w", "1", "-v")
    assert f"up to date: {out / 'a.jpg'}" in result.stderr


@pytest.fixture
def noisy_b(monkeypatch):
    """b.png's decoder writes to descriptor 2 from C, as libtiff does."""
    import ctypes

    import thumbnailer.render

    original, libc = thumbnailer.render.read, ctypes.CDLL(None)

    def read(source, *args, **kwargs):
        if source.endswith("b.png"):
            libc.write(2, b"libpng warning: iCCP: known incorrect sRGB profile\n", 51)
        return original(source, *args, **kwargs)

    monkeypatch.setattr(thumbnailer.render, "read", read)


def test_what_a_decoder_says_is_shown_with_verbose_naming_the_file(tmp_path, photos, noisy_b,
                                                                    capfd):
    said = f"{photos / 'b.png'}: warning: libpng warning: iCCP: known incorrect sRGB profile"
    result = invoke(photos, "-o", tmp_path / "out", "-w", "1")
    assert result.exit_code == 0 and "iCCP" not in result.stderr
    result = invoke(photos, "-o", tmp_path / "v", "-w", "1", "-v")
    assert said in result.stderr.splitlines()
    assert "iCCP" not in capfd.readouterr().err  # nothing reached the real descriptor 2


def test_fail_on_warning_counts_what_a_decoder_wrote_to_stderr(tmp_path, photos, noisy_b):
    result = invoke(photos, "-o", tmp_path / "out", "-w", "1", "--fail-on", "warning")
    assert result.exit_code == 1
    assert (f"{photos / 'b.png'}: warning while reading: libpng warning: iCCP: known incorrect"
            " sRGB profile (--fail-on error lets warnings pass)") in result.stderr.splitlines()


def test_dry_run_writes_nothing_and_lists_the_plan_on_stdout(tmp_path, photos):
    out = tmp_path / "out"
    result = invoke(photos, "-o", out, "--dry-run", "-f", "webp")
    assert result.exit_code == 0
    assert not out.exists()
    assert f"{photos / 'a.jpg'} -> {out / 'a'}.webp" in result.stdout.splitlines()
    assert result.stderr.startswith("3 images: 3 to make (3 thumbnails) in ")


def test_jpg_is_jpeg_and_the_state_and_manifest_say_jpeg(tmp_path, photos):
    out, manifest = tmp_path / "out", tmp_path / "m.json"
    made = invoke(photos, "-o", out, "-w", "1", "-f", "jpg", "--manifest", manifest)
    assert made.exit_code == 0 and made.stderr.startswith("3 images: 3 made (3 thumbnails) in")
    assert {e["format"] for e in json.loads(manifest.read_text())["entries"]} == {"jpeg"}
    keys = {invoke(photos, "-o", out, "-f", f, "--cache-key").stdout for f in ("jpg", "JPG",
                                                                              "jpeg", "JPEG")}
    assert len(keys) == 1  # one fingerprint: nothing is made again for the alias
    again = invoke(photos, "-o", out, "-w", "1", "-f", "jpeg")
    assert again.stderr.startswith("3 images: 3 up to date in")
    from_env = invoke(photos, "-o", out, "-w", "1", env={"THUMBNAILER_FORMAT": "jpg webp"})
    assert from_env.exit_code == 0 and from_env.stderr.startswith(
        "3 images: 3 made (3 thumbnails) in")
    help_text = invoke("--help").stdout
    assert "[auto|jpeg|png|webp|avif|gif|jxl]" in help_text and "jpg means jpeg" in help_text


def test_several_sizes_and_formats(tmp_path, photos):
    out = tmp_path / "out"
    result = invoke(photos, "-o", out, "-w", "1", "-s", "128", "-s", "64x", "-f", "png")
    assert result.exit_code == 0
    assert {p.name for p in image_files(out / "trip")} == {"c_128.png", "c_64x.png"}


def test_manifest(tmp_path, photos):
    (photos / "bad.jpg").write_bytes(b"")
    manifest = tmp_path / "m.json"
    invoke(photos, "-o", tmp_path / "out", "-w", "1", "-s", "64", "-s", "32",
           "--manifest", manifest)
    data = json.loads(manifest.read_text())
    assert data["summary"]["created"] == 6 and data["summary"]["failed"] == 2
    assert data["summary"]["skipped"] == 0 and data["summary"]["seconds"] >= 0
    entry = next(e for e in data["entries"] if e["source"].endswith("a.jpg") and e["size"] == "64")
    assert entry["status"] == "created" and entry["format"] == "jpeg"
    assert (entry["width"], entry["height"]) == (64, 48)
    assert entry["bytes"] == os.path.getsize(entry["output"])
    bad = [e for e in data["entries"] if e["source"].endswith("bad.jpg")]
    assert [(e["status"], e["output"], e["error"]) for e in bad] == [
        ("failed", None, "empty file (0 bytes)")] * 2


def test_every_option_can_come_from_the_environment(tmp_path, photos):
    out = tmp_path / "out"
    env = {"THUMBNAILER_SIZE": "64 32", "THUMBNAILER_FORMAT": "png",
           "THUMBNAILER_OUTPUT": str(out), "THUMBNAILER_WORKERS": "1", "THUMBNAILER_QUIET": "1"}
    result = invoke(photos, env=env)
    assert (result.exit_code, result.output) == (0, "")
    assert {p.name for p in image_files(out / "trip")} == {"c_64.png", "c_32.png"}


def test_a_real_process_pool_through_the_cli(tmp_path, photos):
    result = invoke(photos, "-o", tmp_path / "out", "-w", "2")
    assert result.exit_code == 0 and result.stderr.startswith("3 images: 3 made")


def test_progress_bar_only_when_asked_or_on_a_terminal(tmp_path, photos):
    # CliRunner's stderr is not a terminal: no bar unless asked for.
    assert "img/s" not in invoke(photos, "-o", tmp_path / "a", "-w", "1").stderr
    shown = invoke(photos, "-o", tmp_path / "b", "-w", "1", "--progress")
    assert "/3 [" in shown.stderr and "img/s" in shown.stderr
    hidden = invoke(photos, "-o", tmp_path / "c", "-w", "1", "--no-progress", "--force")
    assert "img/s" not in hidden.stderr


def test_collisions_are_warned_about(tmp_path, photos):
    photo(photos / "a.png", (100, 100))
    result = invoke(photos, "-o", tmp_path / "out", "-w", "1")
    assert f"warning: {photos / 'a.png'}: its thumbnail name is taken" in result.stderr
    assert (tmp_path / "out" / "a-png.jpg").exists()


def warnings(result):
    return [line for line in result.stderr.splitlines() if line.startswith("warning:")]


def test_a_collision_is_warned_about_once_when_it_is_new(tmp_path, photos):
    photo(photos / "a.png", (100, 100), seed=3)
    out, manifest = tmp_path / "out", tmp_path / "m.json"
    first = invoke(photos, "-o", out, "-w", "1")
    assert warnings(first) == [f"warning: {photos / 'a.png'}: its thumbnail name is taken by "
                               "another source; named 'a-png' instead"]
    again = invoke(photos, "-o", out, "-w", "1", "--manifest", manifest)
    assert warnings(again) == [] and again.stderr.startswith("4 images: 4 up to date in")
    # The manifest still lists every rename, as the run names it.
    assert [c.split(": ")[0] for c in json.loads(manifest.read_text())["collisions"]] == [
        str(photos / "a.png")]
    check = invoke(photos, "-o", out, "--check")
    assert check.exit_code == 0 and warnings(check) == []
    assert warnings(invoke(photos, "-o", out, "--dry-run")) == []
    fresh = invoke(photos, "-o", tmp_path / "fresh", "--check")  # a CI question: no renames
    assert fresh.exit_code == 5 and warnings(fresh) == []
    photo(photos / "a.webp", (100, 100), seed=4)  # a new file wanting the same name
    assert warnings(invoke(photos, "-o", out, "--check")) == []
    new = invoke(photos, "-o", out, "-w", "1")
    assert warnings(new) == [f"warning: {photos / 'a.webp'}: its thumbnail name is taken by "
                             "another source; named 'a-webp' instead"]
    assert new.stderr.splitlines()[1].startswith(
        "5 images: 1 made (1 thumbnail), 4 up to date in")
    assert warnings(invoke(photos, "-o", out, "-w", "1")) == []


def test_a_broken_renamed_source_is_warned_about_once(tmp_path, photos):
    (photos / "a.png").write_bytes(b"not a png")  # renamed, and fails: nothing recorded
    out = tmp_path / "out"
    first = invoke(photos, "-o", out, "-w", "1")
    assert first.exit_code == 1 and len(warnings(first)) == 1
    again = invoke(photos, "-o", out, "-w", "1")  # a known failure, a known rename
    assert again.exit_code == 0 and warnings(again) == []


def test_no_images_found_is_said(tmp_path):
    (tmp_path / "empty").mkdir()
    result = invoke(tmp_path / "empty", "-o", tmp_path / "out")
    assert result.exit_code == 0 and "no images found" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["-s", "big"], "Invalid value for '-s' / '--size': 'big' is not a size"),
    (["--deadline", "soon"], "Invalid value for '--deadline': 'soon': give a duration"),
    (["-q", "0"], "0 is not in the range"),
    (["--fit", "squash"], "squash"),
    (["--name", "../{stem}"], "inside the output folder"),
    (["-s", "64", "-s", "32", "--name", "{stem}"], "same name"),
    (["--background", "not-a-colour"], "not a colour"),
    (["-w", "0"], "0 is not in the range"),
])
def test_usage_errors_exit_2_with_a_reason(tmp_path, photos, args, message):
    result = CliRunner().invoke(cli.main, [str(photos), "-o", str(tmp_path / "o"), *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (tmp_path / "o").exists()


def test_q_for_quiet_is_pointed_to_quiet(tmp_path, photos, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli.main, ["photos", "-q", "-o", "out"])
    assert result.exit_code == 2
    assert ("Invalid value for '-q' / '--quality': '-o' is not a number: -q is --quality "
            "(1-100); for quiet output use --quiet") in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "thumbnails").exists()
    assert "(-q is --quality.)" in invoke("--help").stdout


def test_a_missing_source_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli.main, [str(tmp_path / "nope")])
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_an_output_holding_the_sources_is_refused(tmp_path, photos):
    result = CliRunner().invoke(cli.main, [str(photos), "-o", str(tmp_path)])
    assert result.exit_code == 2 and "could overwrite originals" in result.stderr


def test_a_format_this_pillow_cannot_write_is_a_clear_error(tmp_path, photos, monkeypatch):
    monkeypatch.setattr(params, "writable_formats", lambda: (Format.JPEG, Format.PNG))
    result = CliRunner().invoke(cli.main, [str(photos), "-f", "avif"])
    assert result.exit_code == 2
    assert "this Pillow cannot write AVIF" in result.stderr and "auto, jpeg, png" in result.stderr


def test_version_and_help():
    assert invoke("--version").stdout.strip() == f"thumbnailer, version {__version__}"
    help_text = invoke("--help").stdout
    assert "Examples:" in help_text and "THUMBNAILER_" in help_text and "--max-pixels" in help_text


def test_several_formats_give_every_size_in_each(tmp_path, photos):
    out = tmp_path / "out"
    result = invoke(photos, "-o", out, "-w", "1", "-s", "64", "-s", "32", "-f", "webp",
                    "-f", "jpeg")
    assert result.exit_code == 0 and result.stderr.startswith("3 images: 3 made (12 thumbnails) in")
    assert {p.name for p in image_files(out / "trip")} == {
        "c_64.webp", "c_64.jpg", "c_32.webp", "c_32.jpg"}
    again = invoke(photos, "-o", out, "-w", "1", "-s", "64", "-s", "32", "-f", "webp",
                   "-f", "jpeg", "-f", "webp")  # a repeat is harmless
    assert again.stderr.startswith("3 images: 3 up to date in")


def test_auto_with_jpeg_is_a_usage_error(tmp_path, photos):
    result = invoke(photos, "-o", tmp_path / "out", "-f", "auto", "-f", "jpeg")
    assert result.exit_code == 2 and "combine it only with webp or avif" in result.stderr
    assert not (tmp_path / "out").exists()


def test_crop_needs_fit_cover(tmp_path, photos):
    result = invoke(photos, "-o", tmp_path / "out", "--crop", "attention")
    assert result.exit_code == 2 and "only applies to fit cover" in result.stderr
    ok = invoke(photos, "-o", tmp_path / "out", "-w", "1", "--crop", "attention", "--fit",
                "cover", "-s", "50x50")
    assert ok.exit_code == 0
    with Image.open(tmp_path / "out" / "a.jpg") as thumb:
        assert thumb.size == (50, 50)


@pytest.mark.parametrize("shard", ["0/3", "4/3", "1", "a/b", "1/0"])
def test_a_bad_shard_is_a_usage_error(tmp_path, photos, shard):
    result = invoke(photos, "-o", tmp_path / "out", "--shard", shard)
    assert result.exit_code == 2 and "is not a shard" in result.stderr


def test_prune_reports_in_the_summary_and_manifest(tmp_path, photos):
    out = tmp_path / "out"
    invoke(photos, "-o", out, "-w", "1")
    (photos / "b.png").unlink()
    dry = invoke(photos, "-o", out, "-w", "1", "--prune", "--prune-limit", "1", "--dry-run")
    assert dry.stdout == f"prune: {out / 'b.jpg'}\n"
    assert "2 images: 2 up to date; 1 thumbnail to prune in" in dry.stderr
    assert (out / "b.jpg").exists()
    manifest = tmp_path / "m.json"
    result = invoke(photos, "-o", out, "-w", "1", "--prune", "--prune-limit", "100%",
                    "--manifest", manifest)
    assert result.stderr.startswith("2 images: 2 up to date; 1 thumbnail pruned in ")
    assert not (out / "b.jpg").exists()
    data = json.loads(manifest.read_text())
    assert data["pruned"] == [str(out / "b.jpg")] and data["summary"]["pruned"] == 1
    quiet = invoke(photos, "-o", out, "-w", "1", "--prune", "--quiet")
    assert (quiet.exit_code, quiet.output) == (0, "")


def test_prune_deletes_nothing_when_a_source_gave_no_image(tmp_path):
    # A disk that did not mount leaves its mount point: an empty folder.
    photos, disk = tmp_path / "photos", tmp_path / "nas"
    photo(photos / "a.jpg", (60, 40))
    photo(disk / "b.jpg", (60, 40))
    out = tmp_path / "out"
    assert invoke(photos, disk, "-o", out, "-w", "1").exit_code == 0
    (disk / "b.jpg").unlink()
    for extra in ([], ["--dry-run"], ["--prune-limit", "100%"]):
        result = invoke(photos, disk, "-o", out, "-w", "1", "--prune", *extra)
        assert result.exit_code == 4, result.stderr
        assert (f"thumbnailer: --prune deleted nothing: no images were found in {disk} "
                "(a disk that did not mount leaves an empty folder)\n") in result.stderr
        assert (out / "b.jpg").exists() and result.stdout == ""


def test_prune_deletes_nothing_past_its_limit_and_says_what_it_would(tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "out"
    for n in range(10):
        photo(photos / f"p{n}.jpg", (60, 40), seed=n)
    assert invoke(photos, "-o", out, "-w", "1").exit_code == 0
    for n in range(3):  # 30% of the library: over the default 20%
        (photos / f"p{n}.jpg").unlink()
    result = invoke(photos, "-o", out, "-w", "1", "--prune")
    assert result.exit_code == 4
    assert ("--prune deleted nothing: it would delete 3 of the 10 thumbnails made so far "
            "(30%: p0.jpg, p1.jpg, p2.jpg), more than --prune-limit 20% allows; if that is "
            "what you want, run again with --prune-limit 100%") in result.stderr
    assert sorted(p.name for p in out.glob("*.jpg")) == [f"p{n}.jpg" for n in range(10)]
    assert invoke(photos, "-o", out, "-w", "1", "--prune", "--prune-limit", "2").exit_code == 4
    allowed = invoke(photos, "-o", out, "-w", "1", "--prune", "--prune-limit", "30%")
    assert allowed.exit_code == 0
    assert "7 images: 7 up to date; 3 thumbnails pruned in" in allowed.stderr
    assert sorted(p.name for p in out.glob("*.jpg")) == [f"p{n}.jpg" for n in range(3, 10)]


def test_check_writes_nothing_and_exits_5_while_anything_is_out_of_date(tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "out"
    photo(photos / "a.jpg", (60, 40))
    photo(photos / "b.jpg", (60, 40), seed=1)
    first = invoke(photos, "-o", out, "--check", "--quiet")
    assert first.exit_code == 5 and not out.exists()  # nothing made, not even the folder
    assert first.stdout.splitlines() == [f"{photos / 'a.jpg'} -> {out / 'a'}.{{jpg,png}}",
                                         f"{photos / 'b.jpg'} -> {out / 'b'}.{{jpg,png}}"]
    assert first.stderr == "thumbnailer: --check: 2 thumbnails are missing, out of date or stale\n"
    assert invoke(photos, "-o", out, "-w", "1").exit_code == 0
    made = sorted(os.listdir(out))
    again = invoke(photos, "-o", out, "--check")
    assert (again.exit_code, again.stdout) == (0, "")
    assert "2 images: 2 up to date in" in again.stderr
    (photos / "b.jpg").unlink()
    assert invoke(photos, "-o", out, "--check").exit_code == 0  # without --prune: still fine
    stale = invoke(photos, "-o", out, "--check", "--prune", "--prune-limit", "100%")
    assert stale.exit_code == 5 and stale.stdout == f"prune: {out / 'b.jpg'}\n"
    assert "1 thumbnail is missing, out of date or stale" in stale.stderr
    assert sorted(os.listdir(out)) == made  # a check writes nothing


def test_cache_key_follows_what_shapes_thumbnails_and_nothing_else(tmp_path, photos,
                                                                    monkeypatch):
    def key(*args):
        result = invoke(photos, "-o", tmp_path / "out", *args, "--cache-key")
        assert result.exit_code == 0 and result.stderr == ""
        return result.stdout.strip()

    base = key()
    assert base.startswith("thumbnailer-") and len(base) == len("thumbnailer-") + 32
    assert key("-w", "1", "--exclude", "*.png", "--manifest", tmp_path / "m.json") == base
    assert len({base, key("-s", "128"), key("-q", "70"), key("-f", "webp")}) == 4
    assert not (tmp_path / "out").exists()  # it only prints
    monkeypatch.setattr("PIL.__version__", "0.0.1")
    assert key() != base


def test_report_writes_markdown_to_a_file_or_adds_it_to_the_step_summary(tmp_path, photos,
                                                                         monkeypatch):
    (photos / "bad.jpg").write_bytes(b"not a jpeg")
    report = tmp_path / "report.md"
    result = invoke(photos, "-o", tmp_path / "out", "-w", "1", "--report", report)
    assert result.exit_code == 1  # bad.jpg
    text = report.read_text()
    assert text.startswith(f"## Thumbnails of {photos}\n")
    assert "**4 images: 3 made (3 thumbnails), 1 failed.**" in text
    assert "### Failures (1 image)" in text and f"`{photos / 'bad.jpg'}`" in text
    assert "### Largest thumbnails made" in text and "### Slowest sources" in text
    summary = tmp_path / "step-summary.md"
    summary.write_text("# Build\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    again = invoke(photos, "-o", tmp_path / "out", "-w", "1", "--report")
    assert again.exit_code == 0  # bad.jpg is a known failure now
    added = summary.read_text()
    assert added.startswith("# Build\n## Thumbnails of ") and "| 0 | 3 | 1 |" in added
    assert "**4 images: 3 up to date, 1 failed (1 known, not retried).**" in added
    assert "1 of the failed thumbnails are known failures, not tried again" in added
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    alone = invoke(photos, "-o", tmp_path / "out", "--report")
    assert alone.exit_code == 2 and "$GITHUB_STEP_SUMMARY" in alone.stderr


@pytest.mark.parametrize("text", ["x", "120%", "-5", "5.5"])
def test_prune_limit_is_a_share_or_a_count(tmp_path, photos, text):
    result = invoke(photos, "-o", tmp_path / "out", "--prune", "--prune-limit", text)
    assert result.exit_code == 2 and "--prune-limit" in result.stderr


def test_manifest_lists_each_sources_outputs_for_srcset(tmp_path, photos):
    manifest = tmp_path / "m.json"
    invoke(photos, "-o", tmp_path / "out", "-w", "1", "-s", "320", "-s", "64", "-f", "webp",
           "-f", "auto", "--manifest", manifest)
    data = json.loads(manifest.read_text())
    a = next(s for s in data["sources"] if s["source"].endswith("a.jpg"))
    assert [(o["url"], o["width"], o["format"]) for o in a["outputs"]] == [
        ("a_64.jpg", 64, "jpeg"), ("a_64.webp", 64, "webp"),
        ("a_320.jpg", 320, "jpeg"), ("a_320.webp", 320, "webp")]
    assert a["srcset"]["webp"] == "a_64.webp 64w, a_320.webp 320w"
    for o in a["outputs"]:
        assert o["bytes"] == os.path.getsize(tmp_path / "out" / o["url"])


def test_gallery_lists_this_runs_thumbnails_and_failures(tmp_path, photos):
    (photos / "bad.jpg").write_bytes(b"")
    out = tmp_path / "out"
    result = invoke(photos, "-o", out, "-w", "1", "--gallery")
    assert result.exit_code == 1
    index = (out / "index.html").read_text()
    assert "bad.jpg</code>: empty file (0 bytes)" in index
    assert 'href="gallery.html"' in index and 'href="trip/gallery.html"' in index
    assert (out / "gallery.html").read_text().count("<figure>") == 2
    trip = (out / "trip" / "gallery.html").read_text()
    assert trip.count("<figure>") == 1 and '<img src="c.jpg"' in trip
    # An unchanged rerun still shows everything (skipped thumbnails included), and
    # does not rewrite the unchanged pages.
    (photos / "bad.jpg").unlink()
    invoke(photos, "-o", out, "-w", "1", "--gallery")
    pages = [out / "index.html", out / "gallery.html", out / "trip" / "gallery.html"]
    assert '<section class="failures">' not in pages[0].read_text()
    assert sum(p.read_text().count("<figure>") for p in pages) == 3
    before = [(p.stat().st_mtime_ns, p.stat().st_ino) for p in pages]
    invoke(photos, "-o", out, "-w", "1", "--gallery")
    assert [(p.stat().st_mtime_ns, p.stat().st_ino) for p in pages] == before
    assert not (tmp_path / "dry" / "index.html").exists()
    invoke(photos, "-o", tmp_path / "dry", "--gallery", "--dry-run")
    assert not (tmp_path / "dry").exists()


def test_animated_keeps_animation_and_dry_run_says_gif_may_come(tmp_path, photos):
    frames = [Image.new("RGB", (120, 90), (60 * k, 0, 0)) for k in range(3)]
    frames[0].save(photos / "anim.gif", save_all=True, append_images=frames[1:], duration=50)
    dry = invoke(photos / "anim.gif", "-o", tmp_path / "out", "--animated", "--dry-run")
    assert dry.stdout.endswith("anim.{jpg,png,gif}\n")
    result = invoke(photos / "anim.gif", "-o", tmp_path / "out", "-w", "1", "--animated",
                    "--max-frames", "2", "-f", "auto", "-f", "webp")
    assert result.exit_code == 0
    with Image.open(tmp_path / "out" / "anim.gif") as gif, \
            Image.open(tmp_path / "out" / "anim.webp") as webp:
        assert gif.n_frames == webp.n_frames == 2
    refused = invoke(photos, "-o", tmp_path / "x", "--animated", "-f", "auto", "-f", "gif")
    assert refused.exit_code == 2 and "already writes animations as GIF" in refused.stderr


def test_skipped_symlinks_are_counted_in_the_summary_once(tmp_path, photos):
    """They used to be skipped silently unless nothing at all was found."""
    (tmp_path / "elsewhere").mkdir()
    photo(tmp_path / "elsewhere" / "x.jpg", (100, 80))
    os.symlink(tmp_path / "elsewhere" / "x.jpg", photos / "x.jpg")
    os.symlink(tmp_path / "elsewhere", photos / "more")
    os.symlink(tmp_path / "elsewhere" / "x.jpg", photos / "notes.txt")  # not an image name
    result = invoke(photos, "-o", tmp_path / "out", "-w", "1")
    assert result.exit_code == 0
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("3 images: 3 made (3 thumbnails) in ")
    assert line.endswith("; 2 symlinked entries skipped (--follow-symlinks follows them)")
    assert invoke(photos, "-o", tmp_path / "out", "--quiet").stderr == ""
    followed = invoke(photos, "-o", tmp_path / "out2", "--follow-symlinks")
    assert "symlinked" not in followed.stderr


def test_allow_format_takes_an_extension_for_its_format(tmp_path):
    src = tmp_path / "photos"
    src.mkdir()
    Image.new("L", (40, 30), 128).save(src / "scan.pgm")  # Pillow's PPM format
    refused = invoke(src, "-o", tmp_path / "a", "-w", "1")
    assert refused.stderr.startswith("warning: no images found")
    made = invoke(src, "-o", tmp_path / "b", "-w", "1", "--allow-format", ".PGM",
                  "--allow-format", "tif", "--allow-format", "jpg", "--allow-format", "ppm")
    assert made.exit_code == 0, made.stderr
    assert made.stderr.startswith("1 image: 1 made (1 thumbnail)"), made.stderr
    bad = invoke(src, "--allow-format", "pdf")  # Pillow writes PDF, it does not read it
    assert bad.exit_code == 2 and "'pdf' is not a format this Pillow reads" in bad.stderr


def test_fail_on_and_allow_format_reach_the_images(tmp_path):
    src = tmp_path / "photos"
    whole = photo(tmp_path / "whole.jpg", (600, 400)).read_bytes()
    src.mkdir()
    (src / "cut.jpg").write_bytes(whole[: len(whole) * 2 // 3])
    Image.new("RGB", (40, 30), "red").save(src / "icon.gif", format="PCX")  # named .gif
    Image.new("RGB", (40, 30), "blue").save(src / "old.tga")  # not walked by default
    result = invoke(src, "-o", tmp_path / "a", "-w", "1")
    assert result.exit_code == 1
    lines = sorted(result.stderr.strip().splitlines()[:-1])
    assert len(lines) == 2
    assert lines[0].startswith(f"{src / 'cut.jpg'}: truncated image data (image file is ")
    assert lines[0].endswith("; --fail-on none keeps what was decoded")
    assert lines[1] == (f"{src / 'icon.gif'}: a PCX file, not a format opened by default: "
                        "--allow-format PCX opens it")
    result = invoke(src, "-o", tmp_path / "b", "-w", "1", "--fail-on", "none",
                    "--allow-format", "pcx", "--allow-format", "TGA")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith("3 images: 3 made (3 thumbnails) in")
    bad = invoke(src, "--allow-format", "NOPE")
    assert bad.exit_code == 2 and "'NOPE' is not a format this Pillow reads" in bad.stderr
    threads = invoke(src, "--fail-on", "warning", "--executor", "thread")
    assert threads.exit_code == 2 and "--fail-on warning needs --executor process" \
        in threads.stderr


def test_hard_links_in_the_manifest_and_the_dry_run(tmp_path):
    src = tmp_path / "photos"
    photo(src / "a.jpg", (300, 200))
    (src / "album").mkdir()
    os.link(src / "a.jpg", src / "album" / "a.jpg")
    dry = invoke(src, "-o", tmp_path / "out", "-n")
    assert dry.stdout.splitlines() == [
        f"{src / 'a.jpg'} -> {tmp_path / 'out' / 'a'}.{{jpg,png}}",
        f"{src / 'album' / 'a.jpg'} -> {tmp_path / 'out' / 'album' / 'a'}.* "
        f"(a link: same file as {src / 'a.jpg'})"]
    manifest = tmp_path / "m.json"
    assert invoke(src, "-o", tmp_path / "out", "--manifest", manifest).exit_code == 0
    entries = json.loads(manifest.read_text())["entries"]
    assert [(e["source"], e["output"], e["status"]) for e in entries] == [
        (str(src / "a.jpg"), str(tmp_path / "out" / "a.jpg"), "created"),
        (str(src / "album" / "a.jpg"), str(tmp_path / "out" / "album" / "a.jpg"), "created")]


def test_a_name_template_that_gives_a_file_a_path_outside_fails_that_file(tmp_path,
                                                                          monkeypatch):
    """{stem:.2} of "..ab" is "..": that source fails (one line, exit 1, nothing
    written outside), the others are made, and the failure is not remembered."""
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "photos"
    photo(src / "..ab.jpg", (40, 30))
    photo(src / "cd.jpg", (40, 30), seed=1)
    result = invoke(src, "-o", "out", "--hidden", "--name", "{stem:.2}/{stem}", "-w", "1",
                    "--manifest", "m.json")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0] == (f"{src / '..ab.jpg'}: the --name template gives '../..ab' for this "
                        "file, which is outside the output folder")
    assert lines[1].startswith("2 images: 1 made (1 thumbnail), 1 failed in")
    assert sorted(p.name for p in tmp_path.glob("*.jpg")) == []
    assert [p.relative_to(tmp_path / "out").as_posix()
            for p in image_files(tmp_path / "out")] == ["cd/cd.jpg"]
    entries = json.loads((tmp_path / "m.json").read_text())["entries"]
    assert [(e["source"], e["status"]) for e in entries] == [
        (str(src / "..ab.jpg"), "failed"), (str(src / "cd.jpg"), "created")]
    again = invoke(src, "-o", "out", "--hidden", "--name", "{stem:.2}/{stem}", "-w", "1")
    assert again.exit_code == 1 and "known failure" not in again.stderr  # no ledger


def test_a_name_template_never_overwrites_a_file_named_as_source(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    original = photo(tmp_path / "..abc.jpg", (40, 30)).read_bytes()
    for size in ([], ["-s", "32", "-s", "64"]):
        result = invoke("./..abc.jpg", "-o", "out", "--name", "{stem:.2}/{stem}_{size}",
                        *size, "-w", "1")
        assert result.exit_code == 1
        assert result.stderr.count("outside the output folder") == 1  # one line per source
        assert (tmp_path / "..abc.jpg").read_bytes() == original
        assert image_files(tmp_path / "out") == []


def test_control_characters_in_names_are_escaped_on_the_terminal(tmp_path):
    src = tmp_path / "photos"
    src.mkdir()
    (src / "bad\nname.jpg").write_bytes(b"junk")
    (src / "esc\x1b[31mred.jpg").write_bytes(b"junk")
    (src / "line\u2028sep.jpg").write_bytes(b"junk")
    (src / os.fsdecode(b"raw\xffbyte.jpg")).write_bytes(b"junk")
    result = invoke(src, "-o", tmp_path / "out", "-w", "1")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 5  # four failures and the summary
    assert [line.split(": ", 1)[0].rsplit("/", 1)[1] for line in lines[:4]] == [
        "bad\\nname.jpg", "esc\\x1b[31mred.jpg", "line\\u2028sep.jpg", "raw\\xffbyte.jpg"]
    dry = invoke(src, "-o", tmp_path / "other", "--dry-run")
    assert "bad\\nname.jpg -> " in dry.stdout and "\x1b" not in dry.stdout
    assert len(dry.stdout.splitlines()) == 4


def test_folders_differing_only_in_case_do_not_overwrite_each_other(tmp_path):
    src = tmp_path / "src"
    for n, folder in enumerate(["Sub", "café", "sub"]):
        photo(src / folder / "x.jpg", (40, 30), seed=n)
    out = tmp_path / "out"
    result = invoke(src, "-o", out, "-w", "1")
    assert result.exit_code == 0
    assert result.stderr.splitlines()[0] == (
        f"warning: {src / 'sub' / 'x.jpg'}: its thumbnail name is taken by another source; "
        "named 'sub/x-jpg' instead")
    assert [p.relative_to(out).as_posix() for p in image_files(out)] == [
        "Sub/x.jpg", "café/x.jpg", "sub/x-jpg.jpg"]
    again = invoke(src, "-o", out, "-w", "1")  # the rename is not news now
    assert again.stderr.splitlines()[0].startswith("3 images: 3 up to date in")


def test_a_thumbnail_where_a_folder_must_be_is_named_with_what_to_do(tmp_path, monkeypatch):
    """src/a.jpg made out/a.jpg; then a.jpg became a folder holding b.jpg. Its
    thumbnail out/a.jpg/b.jpg cannot be written while the old one is there: the
    line says why and what removes it; nothing is deleted without --prune."""
    monkeypatch.chdir(tmp_path)
    photo(tmp_path / "src" / "a.jpg", (40, 30))
    photo(tmp_path / "src" / "c.jpg", (40, 30), seed=3)
    assert invoke("src", "-o", "out", "-w", "1").exit_code == 0
    (tmp_path / "src" / "a.jpg").unlink()
    photo(tmp_path / "src" / "a.jpg" / "b.jpg", (40, 30), seed=1)
    result = invoke("src", "-o", "out", "-w", "1")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "src/a.jpg/b.jpg: cannot write out/a.jpg/b.jpg: out/a.jpg is a file where a folder "
        "must be; if it is an old thumbnail (its source is now a folder), run with --prune "
        "to remove it")
    assert (tmp_path / "out" / "a.jpg").is_file()
    pruned = invoke("src", "-o", "out", "-w", "1", "--prune", "--prune-limit", "100%")
    assert "2 images: 1 up to date, 1 failed; 1 thumbnail pruned in" in pruned.stderr
    assert invoke("src", "-o", "out", "-w", "1").exit_code == 0
    assert (tmp_path / "out" / "a.jpg" / "b.jpg").is_file()


def test_the_command_freezes_what_it_loaded_and_a_library_caller_is_left_alone(tmp_path):
    """`thumbnailer` (console script and python -m) hides its loaded modules from
    the cyclic collector: faster full collections, exit and forked workers.
    CliRunner calls main, which must not do it to the host process."""
    import subprocess
    import sys
    from importlib.metadata import entry_points

    assert [e.value for e in entry_points(group="console_scripts", name="thumbnailer")] == [
        "thumbnailer.cli:command"]
    probe = ("import atexit, gc, sys; atexit.register(lambda: print(gc.get_freeze_count(), "
             "file=sys.stderr)); sys.argv[1:] = ['--version']; import runpy; "
             "runpy.run_module('thumbnailer', run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0 and __version__ in done.stdout
    assert int(done.stderr.split()[-1]) > 10_000  # modules, classes, functions
    import gc

    before = gc.get_freeze_count()
    photo(tmp_path / "p" / "a.jpg", (40, 30))
    assert CliRunner().invoke(cli.main, [str(tmp_path / "p"), "-o", str(tmp_path / "o"),
                                         "-w", "1"]).exit_code == 0
    assert gc.get_freeze_count() == before
