"""Terminal injection: every control character (C0, DEL, C1) and escape sequences like OSC 52
(set the clipboard) and CSI 2J (clear the screen), fed through every path that shows user text,
never reach the output raw. (--print and --graph are covered in test_report.py.)"""

from __future__ import annotations

import io
import json

import pytest

from engine.parse import ProgramError, parse
from stepgrad.cli import main
from stepgrad.serve import page_title
from stepgrad.widgets.safe_text_area import shown

CONTROLS = [chr(c) for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)) if chr(c) != "\n"]
CONTROLS += ["\u2028", "\u2029"]  # the line and paragraph separators: a line break to some
SEQUENCES = ["\x1b]52;c;aGVsbG8=\x07", "\x1b]52;c;aGVsbG8=\x1b\\", "\x1b[2J", "\x9b31m"]
RAW = set(CONTROLS) - {"\t"}


def comment_program() -> str:
    """A valid program whose comment holds every control character and the sequences."""
    hostile = "".join(c for c in CONTROLS if c not in "\r\x00") + "".join(SEQUENCES)
    return f"x*x  # {hostile} end"


def assert_clean(text: str) -> None:
    raw = sorted({f"U+{ord(c):04X}" for c in text if c in RAW})
    assert not raw, raw


def test_errors_show_control_characters_visibly() -> None:
    for char in CONTROLS:
        if char in "\t\r\x0c":  # whitespace Python itself accepts between tokens
            continue
        with pytest.raises(ProgramError) as info:
            parse(f"x {char}+ 1", {"x": 1})
        assert_clean(info.value.format())
    with pytest.raises(ProgramError) as info:  # an error on a line with a hostile comment
        parse(comment_program().replace("x*x", "x +* 2"), {"x": 1})
    assert_clean(info.value.format())


def test_json_escapes_them() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main([comment_program(), "x=3", "--json"], out=out, err=err) == 0
    assert_clean(out.getvalue())
    assert json.loads(out.getvalue())["program"] == comment_program()  # kept, escaped


def test_the_html_page_holds_none(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "page.html"
    out, err = io.StringIO(), io.StringIO()
    assert main([comment_program(), "x=3", "--html", str(path)], out=out, err=err) == 0
    assert_clean(path.read_text(encoding="utf-8"))


def test_the_serve_title_shows_them() -> None:
    title = page_title(["--", comment_program(), "x=3"])
    assert_clean(title)
    assert "␛]52" in title


def test_the_editor_text_shows_them() -> None:
    text = shown(comment_program() + "\n\ty = 1")
    assert_clean(text.replace("\t", ""))
    assert "\n\ty = 1" in text  # line breaks and tabs are the text area's own


async def test_the_app_never_draws_them() -> None:
    from stepgrad.app import create_app

    app = create_app(comment_program(), {"x": 3}, steady=True)
    async with app.run_test(size=(120, 36)) as pilot:
        for keys in ([], ["right", "end"], ["tab"], ["e"], ["ctrl+z"]):
            await pilot.press(*keys)
            await pilot.pause()
            screen = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
            assert_clean(screen)
            if keys == ["e"]:
                from textual.widgets import TextArea

                for _ in range(10):  # the editor is mounted on first use: give it a frame
                    if app.main.editor is not None:
                        break
                    await pilot.pause()
                assert app.main.editor is not None
                text = app.main.editor.query_one(TextArea).text
                assert "␛]52" in text  # the editor holds what the comment holds, visibly
                assert_clean(text.replace("\t", "").replace("\n", ""))
                assert_clean(screen)


@pytest.mark.parametrize("mode", ["--print", "--graph"])
def test_print_and_graph_echo_none(mode: str) -> None:
    """--print echoes the program with its comments; --graph names what it draws."""
    out, err = io.StringIO(), io.StringIO()
    assert main([comment_program(), "x=3", mode], out=out, err=err) == 0
    assert_clean(out.getvalue())
    assert_clean(err.getvalue())
