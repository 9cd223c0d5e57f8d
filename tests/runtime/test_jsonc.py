"""konnector-dev-config.json may hold comments (the JS library documents them, then crashes on them)."""

from __future__ import annotations

import pytest

from browserkonnector.runtime._jsonc import JsoncError, loads


def test_comments_and_trailing_commas_are_accepted() -> None:
    text = """{
      // the account to use
      "fields": {"login": "a//b", "password": "x/*y*/z",},  /* block
      comment */
      "list": [1, 2,],
    }"""
    assert loads(text) == {"fields": {"login": "a//b", "password": "x/*y*/z"}, "list": [1, 2]}


def test_escaped_quotes_do_not_end_strings() -> None:
    assert loads(r'{"a": "say \"// not a comment\"", "b": 1}') == {"a": 'say "// not a comment"', "b": 1}


def test_errors_name_the_source_line_and_column() -> None:
    with pytest.raises(JsoncError, match=r"config\.json: invalid JSON at line 3, column 3"):
        loads('{\n  "a": 1\n  "b": 2\n}', source="config.json")


def test_unclosed_block_comment_is_an_error() -> None:
    with pytest.raises(JsoncError, match="never closed"):
        loads('{"a": 1} /* oops', source="x")
