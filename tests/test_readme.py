"""The README's Python example runs as written."""

import re
from pathlib import Path

from helpers import photo

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_python_api_example_runs(tmp_path, monkeypatch):
    api = README.read_text().split("\n## Python API\n", 1)[1]
    example = re.search(r"```python\n(.*?)```", api, re.S).group(1)
    photo(tmp_path / "photos" / "a.jpg", (1600, 1200))
    photo(tmp_path / "photos" / "sub" / "b.png", (300, 200), seed=1)
    monkeypatch.chdir(tmp_path)
    exec(compile(example, "README.md", "exec"), {})
    made = sorted(p.relative_to(tmp_path / "thumbs").as_posix()
                  for p in (tmp_path / "thumbs").rglob("*.webp"))
    assert made == ["a_1024x.webp", "a_256.webp", "sub/b_1024x.webp", "sub/b_256.webp"]


def test_the_two_commands_head_the_readme():
    text = README.read_text()
    block = re.search(r"```sh\n(.*?)```", text, re.S).group(1).strip().splitlines()
    assert block == ["pip install . && thumbnailer sample_images",
                     "pip install '.[test]' && pytest"]
