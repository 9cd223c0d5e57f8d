"""The browser's language and time zone: option, then the connector, then COZY_LOCALE, then the machine —
never a hard-coded country (the browser used to come up in fr-FR / Europe/Paris whatever the run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from browserkonnector import Konnector
from browserkonnector.runtime._locale import (
    check_locale,
    check_timezone,
    machine_locale,
    machine_timezone,
    resolve_browser_locale,
)
from browserkonnector.runtime._options import parse_run_args


def resolve(**given: object) -> tuple[str | None, str, str | None, str]:
    args: dict[str, object] = {
        "option_locale": None,
        "option_timezone": None,
        "declared_locale": None,
        "declared_timezone": None,
        "cozy_locale": None,
        "environ": {},
    }
    args.update(given)
    chosen = resolve_browser_locale(**args)  # type: ignore[arg-type]
    return chosen.locale, chosen.locale_from, chosen.timezone, chosen.timezone_from


def test_the_option_beats_the_connector_which_beats_the_cozy_which_beats_the_machine() -> None:
    machine = {"LANG": "pt_BR.UTF-8", "TZ": "America/Sao_Paulo"}
    assert resolve(environ=machine)[:2] == ("pt-BR", "the machine")
    assert resolve(environ=machine, cozy_locale="fr")[:2] == ("fr", "COZY_LOCALE")
    assert resolve(environ=machine, cozy_locale="fr", declared_locale="de-DE")[:2] == ("de-DE", "the connector")
    assert resolve(environ=machine, cozy_locale="fr", declared_locale="de-DE", option_locale="en-GB")[:2] == (
        "en-GB",
        "--locale",
    )
    assert resolve(environ=machine)[2:] == ("America/Sao_Paulo", "the machine")
    assert resolve(environ=machine, declared_timezone="Europe/Berlin")[2:] == ("Europe/Berlin", "the connector")
    assert resolve(environ=machine, declared_timezone="Europe/Berlin", option_timezone="UTC")[2:] == (
        "UTC",
        "--timezone",
    )


def test_a_c_locale_forces_no_language_and_a_bad_cozy_locale_is_skipped() -> None:
    assert resolve(environ={"LANG": "C.UTF-8"})[:2] == (None, "nowhere")
    assert resolve(environ={"LC_ALL": "POSIX", "LANG": "de_DE.UTF-8"})[:2] == (None, "nowhere")
    assert resolve(environ={"LANG": "it_IT.UTF-8"}, cozy_locale="not a tag!")[:2] == ("it-IT", "the machine")


def test_posix_precedence_and_the_machine_time_zone_files(tmp_path: Path) -> None:
    assert machine_locale({"LANG": "en_US.UTF-8", "LC_MESSAGES": "sv_SE.UTF-8"}) == "sv-SE"
    assert machine_locale({"LANG": "en_US.UTF-8", "LC_ALL": "ja_JP.UTF-8@x"}) == "ja-JP"
    etc = tmp_path / "etc"
    etc.mkdir()
    assert machine_timezone({}, etc) is None
    (etc / "localtime").symlink_to("/usr/share/zoneinfo/Asia/Tokyo")
    assert machine_timezone({}, etc) == "Asia/Tokyo"
    (etc / "timezone").write_text("Europe/Oslo\n")
    assert machine_timezone({}, etc) == "Europe/Oslo"
    assert machine_timezone({"TZ": ":America/Denver"}, etc) == "America/Denver"
    assert machine_timezone({"TZ": "Nowhere/Atlantis"}, etc) == "Europe/Oslo"


def test_bad_values_are_refused_naming_where_they_came_from(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_locale("de_DE.UTF-8", "x") == "de-DE"
    with pytest.raises(ValueError, match=r"Konnector\(locale=...\): 'français'"):
        Konnector(locale="français")
    with pytest.raises(ValueError, match=r"Konnector\(timezone=...\): 'Paris'"):
        Konnector(timezone="Paris")
    with pytest.raises(ValueError, match="--timezone: 'Mars/Olympus' is not an IANA time zone"):
        check_timezone("Mars/Olympus", "--timezone")
    with pytest.raises(SystemExit) as exited:
        parse_run_args(["--timezone", "Mars/Olympus"], prog="run")
    assert exited.value.code == 2
    assert "argument --timezone: 'Mars/Olympus' is not an IANA time zone" in capsys.readouterr().err
    options = parse_run_args(["--locale", "en_GB", "--timezone", "Asia/Tokyo"], prog="run")
    assert (options.locale, options.timezone) == ("en-GB", "Asia/Tokyo")
