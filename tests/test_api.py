"""The public API (docs/api.md): exactly the documented names, one base class for
its errors, no name hiding a sub-module, the stop reasons' old strings, and
library messages that name settings where the command line names flags."""

import dataclasses
import importlib
import inspect
import json
import pkgutil
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import photo

import thumbnailer
from thumbnailer import (
    EngineError,
    JobError,
    JobResult,
    Locked,
    Options,
    Settings,
    StateError,
    StopReason,
    ThumbnailerError,
    run_job,
)
from thumbnailer.cli import flags
from thumbnailer.cli import main as command
from thumbnailer.outputs.report import Tally
from thumbnailer.storage import NotOurs, Unsafe
from thumbnailer.storage.lock import output_lock

API = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text()

#: What JobResult.stop said before it was an Enum.
OLD_STOPS = {"interrupted", "terminated", "halted", "locked", "deadline"}

def between(start, end):
    return API.split(start, 1)[1].split(end, 1)[0]


def documented_names():
    """The names the page's list gives, each as its bullet begins: "- `Size(...)`"."""
    return re.findall(r"^- `(\w+)[`(]", between("## The public API", "`Settings` fields:"), re.M)


def documented_fields(start, end):
    """The fields a list names, each as "`name`:" (or "`include`, `exclude`:")."""
    return re.findall(r"`(\w+)`(?=(?:, `\w+`)*:)", between(start, end))


def test_the_exports_are_exactly_the_documented_names():
    names = documented_names()
    assert len(names) == len(set(names))
    assert sorted(thumbnailer.__all__) == sorted(names)
    for name in names:
        assert hasattr(thumbnailer, name), name


def test_the_documented_fields_are_those_of_settings_and_options():
    fields = documented_fields("`Settings` fields:", "`Options` fields:")
    assert sorted(fields) == sorted(f.name for f in dataclasses.fields(Settings))
    fields = documented_fields("`Options` fields:", "## Everything else is internal")
    assert sorted(fields) == sorted(f.name for f in dataclasses.fields(Options))


def test_every_exported_error_is_a_thumbnailer_error():
    errors = [getattr(thumbnailer, n) for n in thumbnailer.__all__
              if inspect.isclass(getattr(thumbnailer, n))
              and issubclass(getattr(thumbnailer, n), BaseException)]
    assert {e.__name__ for e in errors} >= {"ThumbnailerError", "JobError", "Locked",
                                           "EngineError", "StateError"}
    assert all(issubclass(e, ThumbnailerError) for e in errors)


def test_the_errors_keep_the_builtin_bases_their_catchers_rely_on():
    assert issubclass(JobError, ValueError)
    assert issubclass(StateError, OSError)
    assert issubclass(Locked, RuntimeError)
    assert issubclass(NotOurs, OSError) and issubclass(NotOurs, ThumbnailerError)
    assert issubclass(Unsafe, OSError) and issubclass(Unsafe, ThumbnailerError)
    assert issubclass(EngineError, ThumbnailerError)


def test_every_error_the_package_defines_is_a_thumbnailer_error():
    found = {}
    for info in pkgutil.walk_packages(thumbnailer.__path__, "thumbnailer."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__ == module.__name__):
                found[f"{module.__name__}.{name}"] = value
    assert "thumbnailer.job.Options" not in found and "thumbnailer.errors.JobError" in found
    outside = {path for path, error in found.items()
               if not issubclass(error, ThumbnailerError)}
    assert outside == set()


def test_no_exported_name_hides_a_sub_module():
    modules = {info.name for info in pkgutil.iter_modules(thumbnailer.__path__)}
    assert {"plan", "render", "job"} <= modules
    assert modules.isdisjoint(thumbnailer.__all__)
    importlib.import_module("thumbnailer.render")
    assert inspect.ismodule(thumbnailer.plan) and thumbnailer.plan.__name__ == "thumbnailer.plan"
    assert inspect.ismodule(thumbnailer.render)


def test_the_stop_reasons_are_the_old_strings():
    assert {reason.value for reason in StopReason} == OLD_STOPS
    for reason in StopReason:
        assert reason == reason.value and str(reason) == f"{reason}" == reason.value
        assert json.dumps({"stop": reason}) == json.dumps({"stop": reason.value})
        assert {reason.value: 1}[reason] == 1
    result = JobResult(Tally(), 1.0, "locked")
    assert result.stop is StopReason.LOCKED and result.exit_code == 75


@pytest.fixture
def photos(tmp_path):
    photo(tmp_path / "photos" / "a.jpg", (64, 48))
    return tmp_path / "photos"


FLAG = re.compile(r"--[a-z]")


def refused(call):
    with pytest.raises(ThumbnailerError) as caught:
        call()
    return caught.value


def test_a_library_error_names_the_setting_not_a_flag(photos, tmp_path):
    out = str(tmp_path / "out")
    errors = {
        "name": refused(lambda: run_job([str(photos)], Settings(output=out, name="{bogus}"))),
        "output": refused(lambda: run_job([str(photos)], Settings(output=str(photos.parent)))),
        "manifest": refused(lambda: run_job([str(photos)], Settings(output=out),
                                            Options(manifest=str(photos / "a.jpg")))),
        "executor": refused(lambda: Options(executor="cluster")),
        "quality": refused(lambda: Settings(quality=0)),
    }
    with output_lock(out):
        errors["wait"] = refused(lambda: output_lock(out).__enter__())
    for setting, error in errors.items():
        assert error.setting == setting
        assert not FLAG.search(str(error)), str(error)
    assert isinstance(errors["name"], JobError) and "Settings.name '{bogus}'" in str(
        errors["name"])
    assert "Options.wait" in str(errors["wait"])


def test_the_command_line_still_names_the_flag(photos, tmp_path):
    out = tmp_path / "out"
    said = CliRunner().invoke(command, [str(photos), "-o", str(out), "--name", "{bogus}"])
    assert said.exit_code == 2
    assert "Error: --name '{bogus}': unknown field {bogus}" in said.stderr
    with output_lock(str(out)):
        said = CliRunner().invoke(command, [str(photos), "-o", str(out), "-w", "1"])
    assert said.exit_code == 75
    assert said.stderr.endswith("try again later, or use --wait\n")


def test_the_flag_table_covers_every_setting_the_command_line_sets():
    fields = {f.name for f in dataclasses.fields(Settings)} | {
        f.name for f in dataclasses.fields(Options)}
    assert set(flags.FLAGS) == fields - {"report_append", "keep_entries", "watch_quiet"}
    given = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    assert set(flags.FLAGS.values()) <= given
    assert flags.flagged("Options.max_memory=1G and Settings.name") == "--max-memory 1G and --name"


def test_every_public_name_of_a_job_result_is_documented():
    said = between("- `JobResult`:", "\n- `ExitCode`")
    names = {name for name, _ in inspect.getmembers(JobResult) if not name.startswith("_")}
    names |= {f.name for f in dataclasses.fields(JobResult)}
    assert {"sources", "failures", "tally", "exit_code"} <= names
    assert sorted(n for n in names if f"`{n}`" not in said) == []
