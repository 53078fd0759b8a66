"""Every action of `harness image` and `harness patch` explains itself in --help, and every option has a help line."""

from __future__ import annotations

import argparse

import pytest

from harness.cli.main import build_parser


def _actions(verb: str) -> dict[str, argparse.ArgumentParser]:
    top = build_parser()
    verbs = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    parser = verbs.choices[verb]
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


@pytest.mark.parametrize(
    ("verb", "action"), [("image", "list"), ("image", "fetch"), ("image", "path"), ("patch", "list")]
)
def test_action_help_has_a_description_and_every_option_a_help_line(verb: str, action: str) -> None:
    parser = _actions(verb)[action]
    assert parser.description and len(parser.description.split()) >= 8
    undocumented = [a.option_strings or a.dest for a in parser._actions if not a.help]
    assert undocumented == []
