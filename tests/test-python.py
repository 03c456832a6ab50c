#!/usr/bin/env python3
"""The way media apps use the plugin: PyGObject (Debian's python3-gi), a
pipeline, and the bridgetower-* element messages read from the bus."""
import os
import sys
import time

try:
    import gi
    gi.require_version("Gst", "1.0")
    from gi.repository import Gst
except (ImportError, ValueError) as e:
    print("1..0 # SKIP python3-gi with Gst 1.0 is missing: %s" % e)
    sys.exit(0)

MODEL = os.path.join(os.environ["BT_TEST_DATA"], "golden", "models",
                     "itm_add_t3v3c2")


def live_qos():
    """A live source and a sink that is always late (a slow element after
    btencoder): the QoS events make btencoder skip the vision tower."""
    pipeline = Gst.parse_launch(
        "videotestsrc is-live=true ! video/x-raw,width=48,height=40,"
        "framerate=30/1 ! btpreprocess ! btencoder name=e model=\"%s\" ! "
        "identity sleep-time=100000 ! fakesink sync=true qos=true" % MODEL)
    pipeline.set_state(Gst.State.PLAYING)
    time.sleep(2)
    pipeline.send_event(Gst.Event.new_eos())
    pipeline.get_bus().timed_pop_filtered(
        30 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    enc = pipeline.get_by_name("e")
    encoded = enc.get_property("encoded-frames")
    skipped = enc.get_property("skipped-frames")
    pipeline.set_state(Gst.State.NULL)
    return encoded, skipped


def main():
    Gst.init(None)
    pipeline = Gst.parse_launch(
        "videotestsrc num-buffers=8 ! video/x-raw,width=48,height=40 ! "
        "btpreprocess interval=2 ! btencoder model=\"%s\" ! "
        "btmatcher name=m queries=\"a cat;a dog\" threshold=0.0 ! fakesink"
        % MODEL)
    bus = pipeline.get_bus()
    pipeline.set_state(Gst.State.PLAYING)
    scores, matches = [], []
    while True:
        msg = bus.timed_pop_filtered(
            30 * Gst.SECOND,
            Gst.MessageType.ELEMENT | Gst.MessageType.EOS
            | Gst.MessageType.ERROR)
        assert msg is not None, "timeout"
        if msg.type == Gst.MessageType.ERROR:
            raise AssertionError(msg.parse_error())
        if msg.type == Gst.MessageType.EOS:
            break
        s = msg.get_structure()
        if s.get_name() == "bridgetower-scores":
            ok, frame = s.get_uint64("frame")
            assert ok
            ok, pts = s.get_uint64("pts")
            assert ok
            queries = list(s.get_value("queries"))
            values = list(s.get_value("scores"))
            scores.append((frame, pts, queries, values))
        elif s.get_name() == "bridgetower-match":
            matches.append((s.get_string("query"), s.get_string("event"),
                            s.get_value("peak")))
    pipeline.set_state(Gst.State.NULL)

    results = []
    results.append(([f for f, _, _, _ in scores] == [0, 2, 4, 6],
                    "scored frames 0, 2, 4, 6"))
    results.append((all(q == ["a cat", "a dog"] for _, _, q, _ in scores),
                    "queries in order"))
    results.append((all(len(v) == 2 and all(0.0 < x < 1.0 for x in v)
                        for _, _, _, v in scores), "scores are probabilities"))
    results.append((sorted((q, e) for q, e, _ in matches) ==
                    [("a cat", "start"), ("a cat", "stop"),
                     ("a dog", "start"), ("a dog", "stop")],
                    "one match per query, started and stopped at EOS"))
    peak_cat = max(v[0] for _, _, _, v in scores)
    results.append((any(q == "a cat" and e == "stop" and p == peak_cat
                        for q, e, p in matches), "stop carries the peak"))
    encoded, skipped = live_qos()
    results.append((skipped > 0 and encoded < skipped,
                    "live + late sink: btencoder skips (encoded %d, skipped %d)"
                    % (encoded, skipped)))
    print("1..%d" % len(results))
    for i, (ok, name) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    return 0 if all(ok for ok, _ in results) else 1


sys.exit(main())
