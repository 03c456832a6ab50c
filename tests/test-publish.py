#!/usr/bin/env python3
"""btpublish: JSON lines to a file, and MQTT against a real mosquitto broker
that the test starts on 127.0.0.1 (a free port, a temporary config) and
stops. TAP output. The broker tests skip only when mosquitto or paho-mqtt
is missing, or when the plugin was built without MQTT (then method=mqtt
must fail with a clear error)."""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback

try:
    import gi
    gi.require_version("Gst", "1.0")
    from gi.repository import Gst
except (ImportError, ValueError) as e:
    print("1..0 # SKIP python3-gi with Gst 1.0 is missing: %s" % e)
    sys.exit(0)
try:
    import paho.mqtt.client as mqtt
except ImportError:
    mqtt = None

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mosquitto_broker import MOSQUITTO, Broker, wait_for  # noqa: E402

MODEL = os.path.join(os.environ["BT_TEST_DATA"], "golden", "models",
                     "itm_add_t3v3c2")
HAVE_MQTT = os.environ.get("BT_HAVE_MQTT") == "1"
results = []


def check(name, fn, skip=None):
    if skip:
        results.append((None, name, skip))
        return
    try:
        results.append((True, name, fn() or ""))
    except Exception as e:  # report and keep going
        tb = traceback.extract_tb(e.__traceback__)[-1]
        results.append((False, name, "%r at line %d" % (e, tb.lineno)))


class Subscriber:
    """paho client collecting the JSON messages of bt/# in arrival order."""

    def __init__(self, port, client_id=None, setup=None):
        persistent = client_id is not None
        self.client = mqtt.Client(client_id=client_id or "",
                                  clean_session=not persistent)
        if setup:
            setup(self.client)
        self.lock = threading.Lock()
        self.messages = []
        self.subscribed = threading.Event()
        self.client.on_connect = lambda c, u, f, rc: c.subscribe("bt/#", 1)
        self.client.on_subscribe = lambda c, u, m, q: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 1)
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        if not self.subscribed.wait(10):
            raise AssertionError("subscriber did not subscribe")

    def _on_message(self, client, userdata, msg):
        if msg.topic.startswith("bt/queries"):
            return
        with self.lock:
            self.messages.append((msg.topic, json.loads(msg.payload)))

    def of(self, source, kind=None):
        with self.lock:
            return [m for _, m in self.messages if m.get("source") == source
                    and (kind is None or m["type"] == kind)]

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def publish_retained(port, payload):
    c = mqtt.Client()
    c.connect("127.0.0.1", port)
    c.loop_start()
    c.publish("bt/queries", payload, qos=1, retain=True).wait_for_publish()
    c.loop_stop()
    c.disconnect()


# ---- pipelines ------------------------------------------------------------

class Node:
    """One camera: a pipeline ending in btpublish, its bus messages and the
    wall-clock arrival of every buffer at the sink."""

    def __init__(self, publish, num_buffers=-1, live=False, fps=25,
                 queries="a cat", matcher=""):
        self.pipeline = Gst.parse_launch(
            "videotestsrc is-live=%s num-buffers=%d ! "
            "video/x-raw,width=48,height=40,framerate=%d/1 ! btpreprocess ! "
            "btencoder model=\"%s\" ! btmatcher queries=\"%s\" %s ! "
            "btpublish name=p %s ! fakesink name=sink sync=%s"
            % ("true" if live else "false", num_buffers, fps, MODEL, queries,
               matcher, publish, "true" if live else "false"))
        self.publisher = self.pipeline.get_by_name("p")
        # (when a buffer entered btpublish, how long it stayed)
        self.inside = []
        self.publisher.get_static_pad("sink").add_probe(
            Gst.PadProbeType.BUFFER, self._enter)
        self.publisher.get_static_pad("src").add_probe(
            Gst.PadProbeType.BUFFER, self._leave)
        self.messages = []
        self.eos = False

    def _enter(self, pad, info):
        self.entered = time.monotonic()
        return Gst.PadProbeReturn.OK

    def _leave(self, pad, info):
        self.inside.append((self.entered, time.monotonic() - self.entered))
        return Gst.PadProbeReturn.OK

    def start(self):
        assert self.pipeline.set_state(Gst.State.PLAYING) != \
            Gst.StateChangeReturn.FAILURE
        return self

    def poll(self):
        bus = self.pipeline.get_bus()
        while True:
            msg = bus.pop()
            if msg is None:
                return
            if msg.type == Gst.MessageType.EOS:
                self.eos = True
            elif msg.type == Gst.MessageType.ERROR:
                err, dbg = msg.parse_error()
                self.messages.append(("error", err.message, dbg))
            elif msg.type == Gst.MessageType.WARNING:
                err, dbg = msg.parse_warning()
                self.messages.append(("warning", err.message, dbg))
            elif msg.type == Gst.MessageType.ELEMENT:
                s = msg.get_structure()
                if s.get_name().startswith("bridgetower-publish") or \
                        s.get_name() == "bridgetower-remote-queries":
                    self.messages.append((s.get_name(), s.copy(), None))

    def named(self, name):
        self.poll()
        return [m for n, m, _ in self.messages if n == name]

    def errors(self):
        self.poll()
        return [(n, m, d) for n, m, d in self.messages if n == "error"]

    def finish(self, timeout=30):
        """EOS (sent when the source is live), wait for it, stop."""
        if not self.eos:
            self.pipeline.send_event(Gst.Event.new_eos())
        wait_for(lambda: self.poll() or self.eos or self.errors(), timeout,
                 "EOS")
        self.pipeline.set_state(Gst.State.NULL)
        assert not self.errors(), self.errors()

    def run(self, timeout=60):
        self.pipeline.set_state(Gst.State.PLAYING)
        wait_for(lambda: self.poll() or self.eos or self.errors(), timeout,
                 "EOS")
        self.pipeline.set_state(Gst.State.NULL)
        return self


def queries_of(frame):
    return [s["query"] for s in frame["scores"]]


def strip(message):
    return {k: v for k, v in message.items() if k not in ("source", "time")}


# ---- tests ----------------------------------------------------------------

def test_file_same_schema(tmp):
    """method=file writes btmatcher's own JSON lines plus source and time."""
    mine = os.path.join(tmp, "matcher.jsonl")
    out = os.path.join(tmp, "publish.jsonl")
    node = Node("method=file location=\"%s\" source=cam-a" % out,
                num_buffers=20, queries="a cat;a dog",
                matcher="threshold=0.45 location=\"%s\"" % mine).run()
    assert not node.errors(), node.errors()
    with open(mine) as f:
        expected = [json.loads(line) for line in f]
    with open(out) as f:
        got = [json.loads(line) for line in f]
    assert all(m["source"] == "cam-a" and m["time"].endswith("Z")
               for m in got)
    # the "match" starts are btpublish's own; the rest is the same stream
    assert [strip(m) for m in got if m["type"] != "match"] == expected
    starts = [m["query"] for m in got if m["type"] == "match"]
    ends = [m["query"] for m in got if m["type"] == "segment"]
    assert sorted(starts) == sorted(ends) and starts, (starts, ends)
    assert len([m for m in expected if m["type"] == "frame"]) == 20


def test_file_errors(tmp):
    node = Node("method=file location=%s/no/such/dir/x.jsonl" % tmp,
                num_buffers=2)
    assert node.pipeline.set_state(Gst.State.PLAYING) == \
        Gst.StateChangeReturn.FAILURE or node.run().errors()
    errs = node.errors()
    node.pipeline.set_state(Gst.State.NULL)
    assert errs and "no/such/dir" in errs[0][1], errs
    node = Node("method=file queries-topic=bt/queries", num_buffers=2).run()
    assert any("queries-topic needs method=mqtt" in m for _, m, _ in
               node.errors()), node.errors()


def test_no_mqtt_build():
    node = Node("method=mqtt location=mqtt://127.0.0.1:1/bt/x",
                num_buffers=2).run()
    errs = node.errors()
    assert errs and "built without libmosquitto" in errs[0][1], errs


def test_bad_locations():
    for location, reason in [("http://127.0.0.1/bt/x", "mqtt:// or mqtts://"),
                             ("mqtt://127.0.0.1:1883/bt/#", "wildcards"),
                             ("mqtt://127.0.0.1:1883/", "topic")]:
        node = Node("method=mqtt location=\"%s\"" % location,
                    num_buffers=2).run()
        errs = node.errors()
        assert errs and reason in (errs[0][2] or ""), (location, errs)


def test_in_order_qos1(tmp):
    """QoS 1, a pipeline as fast as it goes: every message, in order, and
    the same content as btmatcher's own JSON lines; the client id is the
    one asked for."""
    broker = Broker(tmp)
    sub = Subscriber(broker.port)
    try:
        mine = os.path.join(tmp, "matcher.jsonl")
        n = 300
        node = Node("method=mqtt location=mqtt://127.0.0.1:%d/bt/cam0 "
                    "source=cam0 qos=1 client-id=bt-cam0" % broker.port,
                    num_buffers=n,
                    queries="a cat;a dog",
                    matcher="threshold=0.45 location=\"%s\"" % mine).run()
        assert not node.errors(), node.errors()
        published = node.publisher.get_property("published")
        # EOS waited for the broker's acknowledgements; the subscriber
        # may still be reading
        wait_for(lambda: len(sub.of("cam0")) >= published, 10,
                 "%d messages" % published)
        got = sub.of("cam0")
        with open(mine) as f:
            expected = [json.loads(line) for line in f]
        assert node.publisher.get_property("dropped") == 0
        assert [m["frame"] for m in got if m["type"] == "frame"] == \
            list(range(n))
        assert [strip(m) for m in got if m["type"] != "match"] == expected
        assert len(got) == published
        with open(os.path.join(tmp, "broker.log"), errors="replace") as f:
            assert " as bt-cam0 " in f.read(), "client id"
    finally:
        sub.close()
        broker.stop()


def outage(tmp, max_queue):
    """A live camera at 25 fps; the broker stops for ~2.5 s and comes back.
    Returns the node, what the (persistent-session) subscriber got, and the
    number of frames."""
    broker = Broker(tmp, persistence=True)
    sub = Subscriber(broker.port, client_id="bt-test-sub")
    n = 150
    node = Node("method=mqtt location=mqtt://127.0.0.1:%d/bt/cam1 source=cam1 "
                "qos=1 max-queue=%d reconnect-delay-max=1"
                % (broker.port, max_queue), num_buffers=n, live=True)
    try:
        node.start()
        wait_for(lambda: len(sub.of("cam1", "frame")) >= 25, 20,
                 "frames before the outage")
        broker.stop()
        down = time.monotonic()
        time.sleep(2.5)
        broker.start()
        wait_for(lambda: node.poll() or node.eos, 30, "EOS")
        node.finish()
        published = node.publisher.get_property("published")
        wait_for(lambda: len(sub.of("cam1")) >= published, 15,
                 "%d messages" % published)
        # the video never waited: buffers kept arriving while it was down
        # the video never waited: buffers kept passing btpublish while the
        # broker was down, each at once
        during = [d for t, d in node.inside if down < t < down + 2.5]
        return node, sub.of("cam1"), n, len(during), max(during or [0])
    finally:
        sub.close()
        broker.stop()


def test_restart_gap(tmp):
    """max-queue=5: what does not fit while the broker is down is dropped
    and reported as a gap; everything else arrives, in order."""
    node, got, n, during, step = outage(tmp, 5)
    frames = [m["frame"] for m in got if m["type"] == "frame"]
    gaps = [m for m in got if m["type"] == "gap"]
    assert during >= 10 and step < 0.1, (during, step)
    assert gaps, "no gap message"
    gap_frames = set()
    for g in gaps:
        gap_frames |= set(range(g["first_frame"], g["last_frame"] + 1))
    dropped = node.publisher.get_property("dropped")
    assert sum(g["dropped"] for g in gaps) == dropped > 0, (gaps, dropped)
    # nothing lost that was not reported, nothing reported that arrived
    unique = sorted(set(frames))
    assert set(unique) | gap_frames == set(range(n)), \
        sorted(set(range(n)) - set(unique) - gap_frames)
    assert not set(unique) & gap_frames
    firsts = [f for i, f in enumerate(frames) if f not in frames[:i]]
    assert firsts == unique, "out of order"
    bus_gaps = node.named("bridgetower-publish-gap")
    assert sum(s.get_uint64("dropped")[1] for s in bus_gaps) == dropped
    conn = [s.get_value("connected")
            for s in node.named("bridgetower-publish-connection")]
    # connected, lost (and maybe refused while down), connected again
    assert conn[0] and not conn[1] and conn[-1], conn
    return ("%d buffers while the broker was down, longest in btpublish "
            "%.1f ms; %d messages dropped and reported"
            % (during, step * 1e3, dropped))


def test_restart_nothing_lost(tmp):
    """QoS 1 with room for the outage in the queue: nothing lost."""
    node, got, n, during, step = outage(tmp, 1000)
    frames = sorted(set(m["frame"] for m in got if m["type"] == "frame"))
    assert during >= 10 and step < 0.1, (during, step)
    assert node.publisher.get_property("dropped") == 0, node.messages
    assert frames == list(range(n)), (sorted(set(range(n)) - set(frames)),
                                      node.messages)
    assert not [m for m in got if m["type"] == "gap"]
    return ("%d buffers while the broker was down, longest in btpublish "
            "%.1f ms; all %d frames arrived" % (during, step * 1e3, n))


def test_fleet_queries(tmp):
    """Four cameras, one broker: a retained query list reaches all of them,
    an invalid one is refused by all, a camera that starts later gets the
    retained list, an empty message gives every camera its own queries
    back; each camera's frames arrive complete and in order."""
    broker = Broker(tmp)
    sub = Subscriber(broker.port)
    cams = ["cam%d" % i for i in range(4)]
    nodes = {}

    def node(cam):
        return Node("method=mqtt location=mqtt://127.0.0.1:%d/bt/%s "
                    "source=%s queries-topic=bt/queries"
                    % (broker.port, cam, cam), live=True).start()

    def last_queries(cam):
        frames = sub.of(cam, "frame")
        return queries_of(frames[-1]) if frames else None

    def all_on(cams_, queries):
        wait_for(lambda: all(last_queries(c) == queries for c in cams_), 15,
                 "queries %s on %s" % (queries, cams_))

    try:
        for cam in cams:
            nodes[cam] = node(cam)
        all_on(cams, ["a cat"])
        publish_retained(broker.port, json.dumps(
            ["a red car", {"text": "a dog", "threshold": 0.9}]))
        all_on(cams, ["a red car", "a dog"])
        # the per-query threshold travels with the list (scores are ~0.5)
        publish_retained(broker.port, json.dumps(
            [{"text": "a dog", "threshold": 0}]))
        all_on(cams, ["a dog"])
        for c in cams:
            frames = sub.of(c, "frame")
            high = [e["match"] for f in frames
                    if queries_of(f) == ["a red car", "a dog"]
                    for e in f["scores"] if e["query"] == "a dog"]
            low = [e["match"] for f in frames if queries_of(f) == ["a dog"]
                   for e in f["scores"]]
            assert high and not any(high) and low and low[-1], c
        publish_retained(broker.port, json.dumps(
            ["a red car", {"text": "a dog", "threshold": 0.9}]))
        all_on(cams, ["a red car", "a dog"])

        publish_retained(broker.port, "[\"a red car\", 17]")
        def warned(c):
            nodes[c].poll()
            return any("rejected" in m for n_, m, _ in nodes[c].messages
                       if n_ == "warning")
        wait_for(lambda: all(warned(c) for c in cams), 10,
                 "a warning from every camera")
        mark = {c: len(sub.of(c, "frame")) for c in cams}
        wait_for(lambda: all(len(sub.of(c, "frame")) > mark[c] + 10
                             for c in cams), 10, "more frames")
        for c in cams:
            assert all(queries_of(f) == ["a red car", "a dog"]
                       for f in sub.of(c, "frame")[mark[c]:]), c

        publish_retained(broker.port, json.dumps(["a blue bus"]))
        all_on(cams, ["a blue bus"])
        # nothing is published after cam4 starts: it can only switch
        # through the retained message
        nodes["cam4"] = node("cam4")
        all_on(["cam4"], ["a blue bus"])
        assert queries_of(sub.of("cam4", "frame")[0]) in (["a cat"],
                                                           ["a blue bus"])

        publish_retained(broker.port, "")
        all_on(cams + ["cam4"], ["a cat"])
        for c in nodes:
            nodes[c].finish()
        for c in nodes:
            published = nodes[c].publisher.get_property("published")
            wait_for(lambda: len(sub.of(c)) >= published, 10, c)
            frames = [f["frame"] for f in sub.of(c, "frame")]
            assert frames == list(range(len(frames))), c
            assert nodes[c].publisher.get_property("dropped") == 0, c
            accepted = nodes[c].named("bridgetower-remote-queries")
            assert accepted and accepted[-1].get_value("cleared"), c
    finally:
        for n_ in nodes.values():
            n_.pipeline.set_state(Gst.State.NULL)
        sub.close()
        broker.stop()


def test_password(tmp):
    """allow_anonymous false: the credentials file gets in, a wrong password
    is reported and the pipeline still runs to the end."""
    passwords = os.path.join(tmp, "passwords")
    subprocess.run(["mosquitto_passwd", "-b", "-c", passwords, "cam",
                    "s3cret"], check=True, capture_output=True)
    broker = Broker(tmp, extra="allow_anonymous false\npassword_file %s\n"
                    % passwords)
    sub = Subscriber(broker.port, setup=lambda c: c.username_pw_set(
        "cam", "s3cret"))
    try:
        creds = os.path.join(tmp, "creds.ini")
        with open(creds, "w") as f:
            f.write("[mqtt]\nusername=cam\npassword=s3cret\n")
        url = "mqtt://127.0.0.1:%d/bt/cam-ok" % broker.port
        node = Node("method=mqtt location=%s source=cam-ok "
                    "credentials-file=\"%s\"" % (url, creds),
                    num_buffers=20).run()
        assert not node.errors(), node.errors()
        wait_for(lambda: len(sub.of("cam-ok", "frame")) == 20, 10,
                 "20 frames")
        node = Node("method=mqtt location=%s source=cam-bad username=cam "
                    "password=wrong qos=0 reconnect-delay-max=1" % url,
                    num_buffers=40, live=True).run()
        assert not node.errors(), node.errors()
        reasons = [s.get_string("reason")
                   for s in node.named("bridgetower-publish-connection")]
        assert any("not authorised" in r for r in reasons), reasons
        assert node.publisher.get_property("dropped") == 40
        assert not sub.of("cam-bad")
    finally:
        sub.close()
        broker.stop()


def make_certificates(tmp):
    """A CA and a server certificate for 127.0.0.1, made with openssl."""
    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True,
                       capture_output=True, cwd=tmp)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
          "-nodes"]
    for name in ("ca", "other-ca"):
        run("req", "-x509", *ec, "-keyout", name + ".key", "-out",
            name + ".pem", "-subj", "/CN=bt test " + name, "-days", "2")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj",
        "/CN=127.0.0.1")
    with open(os.path.join(tmp, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey",
        "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2",
        "-extfile", "san.ext")
    return {n: os.path.join(tmp, n) for n in
            ("ca.pem", "other-ca.pem", "server.pem", "server.key")}


def test_tls(tmp):
    """mqtts:// with tls-ca-file: delivered; a CA that did not sign the
    broker's certificate: refused, retried, reported, video unaffected."""
    certs = make_certificates(tmp)
    broker = Broker(tmp, extra="allow_anonymous true\ncafile %s\n"
                    "certfile %s\nkeyfile %s\n" % (
                        certs["ca.pem"], certs["server.pem"],
                        certs["server.key"]))
    sub = Subscriber(broker.port, setup=lambda c: c.tls_set(certs["ca.pem"]))
    try:
        url = "mqtts://127.0.0.1:%d/bt/cam-tls" % broker.port
        node = Node("method=mqtt location=%s source=cam-tls tls-ca-file=%s"
                    % (url, certs["ca.pem"]), num_buffers=20).run()
        assert not node.errors(), node.errors()
        wait_for(lambda: len(sub.of("cam-tls", "frame")) == 20, 10,
                 "20 frames")
        log = os.path.join(tmp, "broker.log")
        before = open(log, errors="replace").read().count("New connection")
        node = Node("method=mqtt location=%s source=cam-bad qos=0 "
                    "tls-ca-file=%s reconnect-delay-max=1"
                    % (url, certs["other-ca.pem"]), num_buffers=125,
                    live=True).run()
        assert not node.errors(), node.errors()
        reasons = [s.get_string("reason")
                   for s in node.named("bridgetower-publish-connection")]
        assert any("TLS" in r for r in reasons), reasons
        # a failed handshake is retried (libmosquitto's own loop thread
        # would have ended after the first)
        attempts = open(log, errors="replace").read().count(
            "New connection") - before
        assert attempts >= 2, attempts
        assert node.publisher.get_property("dropped") == 125
        assert not sub.of("cam-bad")
    finally:
        sub.close()
        broker.stop()


def main():
    Gst.init(None)
    with tempfile.TemporaryDirectory() as tmp:
        check("method=file: btmatcher's JSON lines + source and time",
              lambda: test_file_same_schema(tmp))
        check("method=file: unwritable file, queries-topic without MQTT",
              lambda: test_file_errors(tmp))
        if not HAVE_MQTT:
            check("built without MQTT: method=mqtt is a clear error",
                  test_no_mqtt_build)
            skip = "plugin built without MQTT"
        elif MOSQUITTO is None:
            skip = "mosquitto is not installed"
        elif mqtt is None:
            skip = "python3-paho-mqtt is not installed"
        else:
            skip = None
        broker_tests = [
            ("mqtt: bad locations are errors", lambda t: test_bad_locations()),
            ("mqtt QoS 1: every message in order, same content as the "
             "JSON lines", test_in_order_qos1),
            ("mqtt: broker restart, queue 5: pipeline keeps running, "
             "reconnects, reports the gap exactly", test_restart_gap),
            ("mqtt: broker restart, queue 1000: nothing lost",
             test_restart_nothing_lost),
            ("mqtt: four cameras, retained query list reaches all",
             test_fleet_queries),
            ("mqtt: username/password from a credentials file; a wrong one "
             "is reported", test_password),
            ("mqtt: TLS with a CA file; a wrong CA is refused and retried",
             test_tls),
        ]
        for i, (name, fn) in enumerate(broker_tests):
            if len(sys.argv) > 1 and str(i) not in sys.argv[1:]:
                continue
            folder = os.path.join(tmp, "broker%d" % i)
            os.mkdir(folder)
            check(name, lambda: fn(folder), skip)
    print("1..%d" % len(results))
    for i, (ok, name, detail) in enumerate(results, 1):
        if ok is None:
            print("ok %d - %s # SKIP %s" % (i, name, detail))
        else:
            print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
            if detail:  # the reason of a failure, or what was measured
                print("# " + detail)
    return 0 if all(ok is not False for ok, _, _ in results) else 1


sys.exit(main())
