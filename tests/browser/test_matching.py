"""Normalisation and matching of record & replay (pure logic), and the redactor's placeholder mode."""

from __future__ import annotations

import json

import pytest

from browserkonnector._redact import MASK, Redactor
from browserkonnector.browser.instrument._matching import (
    DEFAULT_VOLATILE_PARAMS,
    Matcher,
    MatchRules,
    RequestData,
    endpoint_of,
    learn_volatile,
    looks_like_ms_timestamp,
    looks_opaque,
    normalise,
)
from browserkonnector.browser.instrument._recording import Exchange, Recording
from browserkonnector.browser.instrument._recording_diff import diff_recordings, json_shape

JSON = (("Content-Type", "application/json"),)
FORM = (("Content-Type", "application/x-www-form-urlencoded"),)


def get(url: str) -> RequestData:
    return RequestData("GET", url)


def post(url: str, body: str, headers: tuple[tuple[str, str], ...] = JSON) -> RequestData:
    return RequestData("POST", url, headers, body.encode())


# -- normalisation ------------------------------------------------------------------------------------------
def test_origin_is_ignored_and_query_sorted() -> None:
    a = normalise(get("http://127.0.0.1:41234/api/bills?per_page=10&page=2"), MatchRules())
    b = normalise(get("http://127.0.0.1:50000/api/bills?page=2&per_page=10"), MatchRules())
    assert a == b
    assert a.path == "/api/bills"
    assert a.query == (("page", "2"), ("per_page", "10"))


@pytest.mark.parametrize(
    "param",
    [
        "_",
        "ts",
        "timestamp",
        "t",
        "cb",
        "cachebuster",
        "nocache",
        "rand",
        "nonce",
        "csrf",
        "csrf_token",
        "_csrf",
        "CSRF_Token",
    ],
)
def test_default_volatile_params_are_dropped(param: str) -> None:
    assert normalise(get(f"https://x.test/a?page=1&{param}=abc123"), MatchRules()).query == (("page", "1"),)


def test_a_millisecond_timestamp_value_is_dropped_whatever_its_name() -> None:
    key = normalise(get("https://x.test/a?page=1&v=1718030301123"), MatchRules())
    assert key.query == (("page", "1"),)
    assert looks_like_ms_timestamp("1718030301123")
    assert looks_like_ms_timestamp("1234567890123")  # 2009: still this century
    assert not looks_like_ms_timestamp("9999999999999")  # year 2286: not a timestamp
    assert not looks_like_ms_timestamp("171803030112")  # 12 digits


def test_connector_additions_extend_the_defaults() -> None:
    rules = MatchRules().extended(params=["Session_Hint"], keys=["clientTime"], headers=["X-Tenant"])
    assert normalise(get("https://x.test/a?session_hint=zz&q=1"), rules).query == (("q", "1"),)
    body = normalise(post("https://x.test/a", '{"clientTime": 5, "q": 1}'), rules).body
    assert body == '{"q":1}'
    with_header = RequestData("GET", "https://x.test/a", (("X-Tenant", "acme"), ("User-Agent", "x")))
    assert normalise(with_header, rules).headers == (("x-tenant", "acme"),)
    # and they survive the trip through recording.json, which stores only the additions
    stored = rules.to_json()
    assert stored == {"volatile_params": ["session_hint"], "volatile_keys": ["clienttime"], "headers": ["x-tenant"]}
    assert MatchRules.from_json(stored) == rules


def test_bad_rules_in_recording_json_name_the_key() -> None:
    with pytest.raises(ValueError, match=r"matching\.volatile_params: expected a list of strings"):
        MatchRules.from_json({"volatile_params": "ts"})
    with pytest.raises(ValueError, match="unknown key"):
        MatchRules.from_json({"volatile": []})


def test_headers_are_ignored_by_default() -> None:
    a = RequestData("GET", "https://x.test/a", (("X-CSRF-Token", "one"), ("Cookie", "session=1")))
    b = RequestData("GET", "https://x.test/a", (("X-CSRF-Token", "two"),))
    assert normalise(a, MatchRules()) == normalise(b, MatchRules())


def test_json_bodies_compare_parsed_sorted_and_without_volatile_keys() -> None:
    a = post("https://x.test/login", '{"password": "p", "email": "e", "csrf": "tok-1", "meta": {"nonce": "n1"}}')
    b = post("https://x.test/login", '{"email":"e","meta":{"nonce":"n2"},"password":"p","csrf":"tok-2"}')
    expected = '{"email":"e","meta":{},"password":"p"}'
    assert normalise(a, MatchRules()).body == normalise(b, MatchRules()).body == expected
    c = post("https://x.test/login", '{"email":"e","password":"other"}')
    assert normalise(a, MatchRules()) != normalise(c, MatchRules())


def test_json_is_recognised_without_a_content_type() -> None:
    a = RequestData("POST", "https://x.test/a", (), b'{"b": 1, "a": 2}')
    assert normalise(a, MatchRules()).body == '{"a":2,"b":1}'


def test_form_bodies_likewise() -> None:
    a = post("https://x.test/login", "user=bob&_csrf=aaa&password=x%20y", FORM)
    b = post("https://x.test/login", "password=x+y&user=bob&_csrf=bbb", FORM)
    assert normalise(a, MatchRules()) == normalise(b, MatchRules())


def test_multipart_boundaries_do_not_matter() -> None:
    def multipart(boundary: str) -> RequestData:
        body = f'--{boundary}\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--{boundary}--\r\n'
        return post("https://x.test/up", body, (("Content-Type", f"multipart/form-data; boundary={boundary}"),))

    assert normalise(multipart("xyz123"), MatchRules()) == normalise(multipart("987abc"), MatchRules())


def test_binary_bodies_compare_by_fingerprint() -> None:
    a = RequestData("PUT", "https://x.test/f", (), b"\xff\xfe\x00binary")
    b = RequestData("PUT", "https://x.test/f", (), b"\xff\xfe\x00other!")
    assert normalise(a, MatchRules()).body.startswith("sha1:")
    assert normalise(a, MatchRules()) != normalise(b, MatchRules())


def test_secrets_become_placeholders_so_any_password_matches() -> None:
    recording_run = Redactor()
    recording_run.add("Correct-Horse-42!", label="password")
    replay_run = Redactor()
    replay_run.add("a-different-password", label="password")
    recorded = post("https://x.test/login", json.dumps({"email": "e", "password": "Correct-Horse-42!"}))
    asked = post("https://x.test/login", json.dumps({"email": "e", "password": "a-different-password"}))
    stored = RequestData(
        recorded.method, recorded.url, recorded.headers, recording_run.placeholder_bytes(recorded.body or b"")
    )
    assert b"{{password}}" in (stored.body or b"")
    matcher = Matcher([stored])
    assert matcher.match(asked, replay_run.placeholder) is not None


# -- learning volatile parameters ---------------------------------------------------------------------------
def test_learns_an_opaque_parameter_that_varies_across_identical_calls() -> None:
    recorded = [get("https://x.test/api?page=1&sig=a8f3k2j1x9"), get("https://x.test/api?page=1&sig=zz81kq02mm")]
    assert learn_volatile(recorded, MatchRules()) == {"sig"}


def test_page_numbers_words_and_dates_are_never_learned() -> None:
    recorded = [get(f"https://x.test/api?page={n}&month=2024-0{n}&sort=date") for n in range(1, 4)]
    recorded += [get("https://x.test/api?kind=gas"), get("https://x.test/api?kind=electricity")]
    recorded += [get("https://x.test/c?day=2024-01-15"), get("https://x.test/c?day=2024-02-15")]
    assert learn_volatile(recorded, MatchRules()) == frozenset()
    assert not looks_opaque("electricity")
    assert not looks_opaque("2024-01-15")
    assert not looks_opaque("12")
    assert looks_opaque("a8f3k2j1x9")
    assert looks_opaque("1718030301")


def test_a_learned_parameter_is_ignored_at_replay() -> None:
    recorded = [get("https://x.test/api?page=1&sig=a8f3k2j1x9"), get("https://x.test/api?page=1&sig=zz81kq02mm")]
    matcher = Matcher(recorded)
    assert matcher.match(get("https://x.test/api?page=1&sig=brandnew77x")) is not None


# -- the matcher ----------------------------------------------------------------------------------------------
def test_repeated_calls_are_served_in_recorded_order_then_the_last_again() -> None:
    recorded = [
        get("https://x.test/api/status?_=1"),
        get("https://x.test/other"),
        get("https://x.test/api/status?_=2"),
        get("https://x.test/api/status?_=3"),
    ]
    matcher = Matcher(recorded)
    served = [matcher.match(get("https://x.test/api/status?_=99")) for _ in range(4)]
    assert [(m.index, m.repeat) for m in served if m] == [(0, False), (2, False), (3, False), (3, True)]
    assert matcher.unserved() == [1]


def test_interleaved_endpoints_keep_their_own_order() -> None:
    recorded = [get("https://x.test/a?page=2"), get("https://x.test/a?page=3"), get("https://x.test/a?page=2")]
    matcher = Matcher(recorded)
    first3 = matcher.match(get("https://x.test/a?page=3"))
    first2, second2 = matcher.match(get("https://x.test/a?page=2")), matcher.match(get("https://x.test/a?page=2"))
    assert first3
    assert first2
    assert second2
    assert (first3.index, first2.index, second2.index) == (1, 0, 2)


def test_no_match_names_the_closest_candidate_and_the_difference() -> None:
    recorded = [
        get("https://x.test/api/bills?page=1"),
        get("https://x.test/api/bills?page=2"),
        post("https://x.test/api/login", '{"a": 1}'),
        get("https://x.test/static/app.js"),
    ]
    matcher = Matcher(recorded)
    asked = get("https://x.test/api/bills?page=3")
    assert matcher.match(asked) is None
    candidate = matcher.closest(asked)
    assert candidate is not None
    assert candidate.key.path == "/api/bills"
    assert any("query page=3 (recorded" in d for d in candidate.differences)
    other = matcher.closest(post("https://x.test/api/login", '{"a": 2}'))
    assert other is not None
    assert other.index == 2
    assert other.differences == ('body {"a":2} (recorded {"a":1})',)


def test_a_short_password_shows_where_the_bodies_differ_and_why() -> None:
    """A replay typed with the password ``x`` (too short to be a secret) used to end on a "differs by"
    cut 120 characters into the body, before the difference; it now shows the difference and says why."""
    recording_run = Redactor()
    recording_run.add("Correct-Horse-42!", label="password")
    long_form = {
        "email": "someone.with.a.long.address@example.org",
        "remember": "yes",
        "locale": "en",
        "device": "a browser with a rather long description of itself, as forms often send",
        "z_password": "Correct-Horse-42!",
    }
    recorded = post("https://x.test/login", json.dumps(long_form))
    stored = RequestData(
        recorded.method, recorded.url, recorded.headers, recording_run.placeholder_bytes(recorded.body or b"")
    )
    asked = post("https://x.test/login", json.dumps({**long_form, "z_password": "x"}))
    replay_run = Redactor()
    assert not replay_run.add("x", label="password")  # refused: too short to redact
    candidate = Matcher([stored]).closest(asked, replay_run.placeholder)
    assert candidate is not None
    body, hint = candidate.differences
    assert '"z_password":"x"' in body
    assert '"z_password":"{{password}}"' in body
    assert body.startswith("body …")
    assert "the recording has {{password}} where this request has a value that is not a known secret" in hint


def test_a_different_method_is_no_match() -> None:
    matcher = Matcher([get("https://x.test/a")])
    assert matcher.match(RequestData("DELETE", "https://x.test/a")) is None


def test_endpoint_names_fold_ids() -> None:
    assert endpoint_of("get", "http://h:1/api/bills/B-100042/pdf?x=1") == "GET /api/bills/{id}/pdf"
    assert endpoint_of("GET", "http://h:1/api/bills") == "GET /api/bills"


def test_defaults_cover_the_brief_list() -> None:
    assert {
        "_",
        "ts",
        "timestamp",
        "t",
        "cb",
        "cachebuster",
        "nocache",
        "rand",
        "nonce",
        "csrf",
        "csrf_token",
        "_csrf",
    } <= DEFAULT_VOLATILE_PARAMS


# -- the redactor's placeholders -------------------------------------------------------------------------------
def test_placeholders_are_named_stable_and_numbered_when_unnamed() -> None:
    redactor = Redactor()
    redactor.add("s3ssion-id-value", label="cookie:session")
    redactor.add("first-unnamed-1")
    redactor.add("second-unnamed-2")
    text = "a=s3ssion-id-value b=first-unnamed-1 c=second-unnamed-2"
    assert redactor.placeholder(text) == "a={{cookie:session}} b={{secret:1}} c={{secret:2}}"
    assert redactor.redact(text) == f"a={MASK} b={MASK} c={MASK}"  # the old behaviour is unchanged


def test_the_first_label_wins_and_a_later_label_names_an_unnamed_secret() -> None:
    redactor = Redactor(["tok-abcdef"])
    assert redactor.label("tok-abcdef", "storage:apiToken")
    redactor.add("tok-abcdef", label="header:authorization")
    assert redactor.label_of("tok-abcdef") == "storage:apiToken"
    assert redactor.label("unknown-value", "x") is False


def test_placeholders_keep_the_encoding_valid() -> None:
    redactor = Redactor()
    redactor.add('p a/ss+w&rd"', label="password")
    assert redactor.placeholder("pw=p%20a%2Fss%2Bw%26rd%22") == "pw=%7B%7Bpassword%7D%7D"
    assert json.loads(redactor.placeholder(json.dumps({"pw": 'p a/ss+w&rd"'}))) == {"pw": "{{password}}"}
    b64 = __import__("base64").b64encode(b"xx" + b'p a/ss+w&rd"').decode()
    assert 'p a/ss+w&rd"' not in __import__("base64").b64decode(redactor.placeholder(b64)).decode("latin-1")


def test_a_value_that_already_is_a_placeholder_stands_for_itself() -> None:
    redactor = Redactor()
    redactor.add("{{cookie:session}}")  # what a replayed session cookie holds
    assert redactor.placeholder("session={{cookie:session}}") == "session={{cookie:session}}"
    assert redactor.placeholder_bytes(b"Bearer {{storage:apiToken}}") == b"Bearer {{storage:apiToken}}"


# -- the re-record diff ---------------------------------------------------------------------------------------------
def exchange(url: str, body: object, status: int = 200, method: str = "GET") -> Exchange:
    data = json.dumps(body).encode() if not isinstance(body, bytes) else body
    return Exchange("http", method, url, (), None, status, "OK", (("Content-Type", "application/json"),), data)


def test_json_shape_paths() -> None:
    assert json_shape({"items": [{"a": 1}, {"b": "x"}], "n": None}) == {
        "$": "object",
        "items": "array",
        "items[]": "object",
        "items[].a": "number",
        "items[].b": "string",
        "n": "null",
    }


def test_diff_counts_per_endpoint_and_describes_shape_changes() -> None:
    old = Recording(
        [
            exchange("http://h:1/api/bills?page=1&_=1", {"items": [{"amount": 1}], "total": 1}),
            exchange("http://h:1/api/bills/B-1/pdf", b"%PDF-1"),
            exchange("http://h:1/api/me", {"name": "a"}),
            exchange("http://h:1/api/gone", {}),
        ]
    )
    new = Recording(
        [
            exchange("http://h:2/api/bills?page=1&_=2", {"items": [{"amount": "1", "due": "x"}]}),
            exchange("http://h:2/api/bills/B-1/pdf", b"%PDF-1"),
            exchange("http://h:2/api/bills/B-2/pdf", b"%PDF-2"),
            exchange("http://h:2/api/me", {"name": "a"}, status=500),
        ]
    )
    diff = diff_recordings(old, new)
    text = diff.text()
    assert text.startswith("recording updated: 4 exchanges (was 4): 1 added, 1 removed, 2 changed, 1 unchanged")
    assert "+ GET /api/bills/{id}/pdf: 1 added (1 → 2)" in text
    assert "- GET /api/gone: 1 removed (1 → 0)" in text
    assert "+ items[].due" in text
    assert "- total" in text
    assert "items[].amount: number → string" in text
    assert "status 200 → 500" in text


def test_diff_of_identical_recordings_says_so() -> None:
    one = Recording([exchange("http://h:1/a?_=1", {"x": 1})])
    two = Recording([exchange("http://h:9/a?_=2", {"x": 1})])
    assert not diff_recordings(one, two).changed
    assert "no change" in diff_recordings(one, two).text()
