"""The Python examples of the README and of the API page run as written."""

import re
from pathlib import Path

import pytest
from helpers import photo

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


@pytest.mark.parametrize("page", ["README.md", "docs/api.md"])
def test_the_python_examples_run(tmp_path, monkeypatch, capsys, page):
    examples = re.findall(r"```python\n(.*?)```", (ROOT / page).read_text(), re.S)
    assert examples
    photo(tmp_path / "photos" / "a.jpg", (1600, 1200))
    photo(tmp_path / "photos" / "sub" / "b.png", (300, 200), seed=1)
    (tmp_path / "photos" / "broken.jpg").write_bytes(b"\xff\xd8\xff not a photo")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for example in examples:  # in order, as a reader would run them
        exec(compile(example, page, "exec"), namespace)
    # A broken file is printed once, whatever its sizes and formats (four here).
    printed = capsys.readouterr().out.splitlines()
    assert [line for line in printed if "broken.jpg" in line] == [
        "photos/broken.jpg not an image, or in a format Pillow cannot read"]
    made = sorted(p.relative_to(tmp_path / "thumbs").as_posix()
                  for p in (tmp_path / "thumbs").rglob("*.webp"))
    assert made == ["a_1024x.webp", "a_256.webp", "sub/b_1024x.webp", "sub/b_256.webp"]


def test_the_two_commands_head_the_readme():
    text = README.read_text()
    block = re.search(r"```sh\n(.*?)```", text, re.S).group(1).strip().splitlines()
    assert block == ["pip install . && thumbnailer sample_images",
                     "pip install '.[test]' && pytest"]
