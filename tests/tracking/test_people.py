"""The person tracker on recorded sequences: real detections, misses and model noise."""
from __future__ import annotations

from collections import defaultdict

from toolkit.sequences import FPS, Recording
from toolkit.tracking_eval import (
    Chosen,
    Greedy,
    flicker_changes,
    follow_delay,
    integration_cost,
    matches,
    run,
    shared_ids,
)

FOLLOW_WITHIN = 5  # frames (1/3 s at 15 fps) to show a real change of expression


def ids_by_actor(recording: Recording, tracker=None) -> tuple[dict[int, list], list]:
    """Each actor's id in each frame it was matched (in order), and the per-frame matches."""
    outputs, _ = run(recording, tracker or Chosen())
    _, per_frame = matches(recording, outputs)
    ids = defaultdict(list)
    for m in per_frame:
        for actor, face in m.items():
            ids[actor].append(face["id"])
    return ids, per_frame


def longest_absence(recording: Recording, actor: int) -> int:
    """The most consecutive frames the actor is out of the ground truth between two appearances."""
    present = [any(a == actor for a, _ in f.truth) for f in recording.frames]
    first, last = present.index(True), len(present) - 1 - present[::-1].index(True)
    longest = run_ = 0
    for p in present[first:last + 1]:
        run_ = 0 if p else run_ + 1
        longest = max(longest, run_)
    return longest


def test_crossings_swap_no_ids(recordings):
    for name in ("crossing-partial", "crossing-full"):
        ids, per_frame = ids_by_actor(recordings[name])
        assert shared_ids(per_frame) == 0, f"{name}: an id was shown for both people"
        for actor, seen in ids.items():
            # Each person leaves the crossing with the id they came in with.
            assert seen[0] == seen[-1], f"{name}: actor {actor} went in as {seen[0]}, came out as {seen[-1]}"


def test_a_face_hidden_up_to_a_second_keeps_its_id(recordings):
    rec = recordings["pass-in-front"]
    hidden = 0  # the still face, which the walker covers
    assert 0 < longest_absence(rec, hidden) <= FPS  # the scenario hides it, for at most 1 s
    ids, per_frame = ids_by_actor(rec)
    assert set(ids[hidden]) == {ids[hidden][0]}
    assert shared_ids(per_frame) == 0


def test_a_face_back_in_view_within_two_seconds_keeps_its_id(recordings):
    rec = recordings["leave-reenter"]
    assert FPS < longest_absence(rec, 1) <= 2 * FPS
    ids, _ = ids_by_actor(rec)
    assert ids[1][0] == ids[1][-1]


def test_the_old_tracker_loses_those_ids(recordings):
    # The same sequences with the greedy IoU tracker: the failures the person tracker fixes.
    for name, actor in (("pass-in-front", 0), ("leave-reenter", 1)):
        ids, _ = ids_by_actor(recordings[name], Greedy())
        assert ids[actor][0] != ids[actor][-1]


def test_a_new_face_where_another_left_gets_a_new_id(recordings):
    rec = recordings["new-face"]
    ids, per_frame = ids_by_actor(rec)
    leaver, newcomer = 1, 2
    assert ids[newcomer] and not set(ids[newcomer]) & set(ids[leaver])
    assert shared_ids(per_frame) == 0


def test_labels_flicker_no_more_than_with_the_old_tracker(recordings):
    rec = recordings["constant"]
    rates = {}
    for name, make in (("old", Greedy), ("new", Chosen)):
        outputs, _ = run(rec, make())
        _, per_frame = matches(rec, outputs)
        changes, frames = flicker_changes(rec, outputs, per_frame)
        assert frames > 0.9 * sum(len(f.truth) for f in rec.frames)  # the faces were seen
        rates[name] = changes / frames
    assert rates["new"] <= rates["old"]


def test_a_real_change_of_expression_is_followed(recordings):
    rec = recordings["expression-change"]
    actor, at, label = rec.change_target()
    before = rec.cast[rec.scenario.actors[actor].slot].model_label
    assert label != before  # the scenario really changes what the model sees
    _, per_frame = ids_by_actor(rec)
    delay = follow_delay(rec, per_frame)
    assert delay is not None and delay <= FOLLOW_WITHIN
    shown_before = [per_frame[i][actor]["emotion"]["label"] for i in range(at - 15, at) if actor in per_frame[i]]
    assert shown_before and all(s == before for s in shown_before)  # and the old label was shown until then


def test_the_appearance_adds_128_bytes_and_a_few_to_a_face_of_a_result_message(recordings):
    cost = integration_cost([recordings["crossing-partial"]])
    added = cost["bytes_per_face"]["bytes"] - cost["bytes_per_face"]["none"]
    assert 128 <= added <= 128 + 16  # the float16 bytes, their key and msgpack's header
    assert cost["bytes_per_face"]["list"] - cost["bytes_per_face"]["none"] > 4 * added  # floats: 9 bytes each
    assert cost["faces"] > cost["frames"] > 0 and cost["track_us_per_face"] > 0
