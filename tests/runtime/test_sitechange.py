"""Site-change detection: a changed API shape or a step that found nothing is reported, plainly."""

from __future__ import annotations

from browserkonnector.runtime._sitechange import ShapeRecorder, diff_shapes, shape_of

CLASSIC = {"items": [{"id": "B-1", "amount": 1.5, "date": "2024-01-01", "links": {"pdf": None}}], "page": 1}
REDESIGN = {"data": [{"invoiceId": "B-1", "total": {"value": 1.5}}], "meta": {"page": 1}}


def test_same_shape_is_no_change_and_new_fields_are_harmless() -> None:
    previous = ShapeRecorder()
    previous.observe("bills", CLASSIC)
    recorder = ShapeRecorder(previous.fingerprint())
    richer = {**CLASSIC, "items": [{**CLASSIC["items"][0], "extra": True, "links": {"pdf": "/x.pdf"}}]}
    recorder.observe("bills", richer)
    assert recorder.compare() is None
    _, additions = diff_shapes(shape_of(CLASSIC), shape_of(richer))
    assert "$.items[].extra: new" in additions


def test_redesign_is_reported_with_the_step_and_a_readable_diff() -> None:
    previous = ShapeRecorder()
    previous.observe("bills api", CLASSIC)
    recorder = ShapeRecorder(previous.fingerprint())
    recorder.observe("bills api", REDESIGN)
    change = recorder.compare()
    assert change is not None
    assert change.steps == ["bills api"]
    report = change.report()
    assert "step 'bills api'" in report
    assert "$.items: missing (was array)" in report
    assert "$.page: missing (was number)" in report


def test_type_change_inside_items() -> None:
    before = {"items": [{"amount": 1.5}]}
    after = {"items": [{"amount": "1,50 €"}]}
    breaking, _ = diff_shapes(shape_of(before), shape_of(after))
    assert breaking == ["$.items[].amount: was number, now string"]


def test_null_coming_or_going_is_not_a_change() -> None:
    breaking, _ = diff_shapes(shape_of({"pdf": "/a.pdf"}), shape_of({"pdf": None}))
    assert breaking == []


def test_a_step_finding_nothing_where_it_found_items() -> None:
    previous = ShapeRecorder()
    previous.count("bills", 24)
    recorder = ShapeRecorder(previous.fingerprint())
    recorder.count("bills", 0)
    change = recorder.compare()
    assert change is not None
    assert change.changes["bills"] == ["found nothing (found 24 on the last good run)"]
    unseen = ShapeRecorder(previous.fingerprint())  # a run that never reached the step says nothing
    assert unseen.compare() is None


def test_fingerprint_keeps_steps_not_seen_this_time() -> None:
    previous = ShapeRecorder()
    previous.observe("a", {"x": 1})
    recorder = ShapeRecorder(previous.fingerprint())
    recorder.observe("b", {"y": 1})
    assert set(recorder.fingerprint()["shapes"]) == {"a", "b"}
