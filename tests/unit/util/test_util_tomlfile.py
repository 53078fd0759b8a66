"""The one TOML loader: every malformed data file is a ConfigError in one wording, naming file, key and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.util import tomlfile


def _load(tmp_path: Path, content: bytes) -> tomlfile.Table:
    path = tmp_path / "data.toml"
    path.write_bytes(content)
    return tomlfile.load(path, hint="fix it like this")


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b'a = "\xff"\n', "not UTF-8 text (bad byte at offset 5)"),
        (b"a = \n", "TOML syntax error"),
        (b'a = "x\x00"\n', "NUL"),
        (b"#" * (tomlfile.MAX_BYTES + 1), "larger than 4 MiB"),
    ],
)
def test_unreadable_files_name_the_file_and_the_fix(tmp_path: Path, content: bytes, said: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, content)
    assert said in caught.value.message and str(tmp_path / "data.toml") in caught.value.message
    assert caught.value.one_line().endswith("(fix it like this)")


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read .*nope\.toml"):
        tomlfile.load(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("content", "read", "said"),
    [
        (b"n = true\n", lambda t: t.integer("n"), "n: must be an integer, got true or false True"),
        (b"n = 5\n", lambda t: t.integer("n", high=4), "n: 5 is out of range"),
        (b'n = "5"\n', lambda t: t.number("n"), "n: must be a number, got a string '5'"),
        (b"[t]\ns = 1\n", lambda t: t.table("t").string("s"), "t.s: must be a string, got an integer 1"),
        (b"l = [1]\n", lambda t: t.strings("l"), "l: must be an array of strings, item 0 is an integer 1"),
        (b"l = []\n", lambda t: t.strings("l", non_empty=True), "l: must not be empty"),
        (
            b"[[x]]\na = 1\n[[x]]\na = 'b'\n",
            lambda t: [i.integer("a") for i in t.tables("x")],
            "x[1].a: must be an integer",
        ),
        (b'c = "z"\n', lambda t: t.choice("c", ("a", "b")), "c: is 'z', expected one of a, b"),
        (b"", lambda t: t.string("s"), "s: missing"),
    ],
)
def test_wrong_types_name_the_key_and_the_expected_type(tmp_path: Path, content: bytes, read, said: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as caught:
        read(_load(tmp_path, content))
    assert said in caught.value.message, caught.value.message


def test_defaults_and_good_values_pass(tmp_path: Path) -> None:
    table = _load(tmp_path, b'i = 3\nf = 2\ns = "x"\nl = ["a"]\n[t]\nb = false\n')
    assert (table.integer("i", low=1, high=3), table.number("f"), table.string("s")) == (3, 2.0, "x")
    assert table.strings("l") == ("a",) and table.table("t").boolean("b") is False
    assert table.string("absent", None) is None and table.integer("absent", 7) == 7
    assert table.table("absent", {}).string_map() == {}


def test_every_toml_file_of_the_package_is_read_through_this_loader() -> None:
    """One loader, one wording (the house review counted 17 with their own): nothing else imports tomllib."""
    from harness.settings import PROJECT_ROOT

    others = [
        str(path.relative_to(PROJECT_ROOT))
        for path in (PROJECT_ROOT / "harness").rglob("*.py")
        if "tomllib" in path.read_text(encoding="utf-8") and path.name != "tomlfile.py"
    ]
    assert others == []
