#!/usr/bin/env python3
"""btpublish throughput: N camera processes (gst-launch-1.0, the bundled
tiny model, so the model costs little and publishing dominates) publish to
one mosquitto on 127.0.0.1 with one QoS 1 subscriber. Prints frames/s per
node with and without btpublish, messages/s as the broker counts them
($SYS/broker/publish/messages/received), and CPU time: of the nodes per
frame, and of the broker per message (which a loaded machine changes
less than the rates); then the time a frame spends in btpublish (pad
probes around it, against identity in its place). Not run in CI.

    GST_PLUGIN_PATH=build/plugin tests/bench/bench-publish.py [--frames N]
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import gi
gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from mosquitto_broker import Broker  # noqa: E402

MODEL = os.path.join(os.path.dirname(HERE), "data", "golden", "models",
                     "itm_add_t3v3c2")


def broker_count(port):
    """The broker's count of received PUBLISHes, once it stops changing
    (it is refreshed every second, sys_interval)."""
    last = None
    while True:
        out = subprocess.run(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-C", "1",
             "-W", "5", "-t", "$SYS/broker/publish/messages/received"],
            capture_output=True, text=True).stdout.strip()
        count = int(out or 0)
        if count == last:
            return count
        last = count
        time.sleep(1.1)


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cpu_of(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_nodes(nodes, frames, publish):
    """Starts the nodes together; returns each one's frames/s, the wall
    time from the first start to the last end and the nodes' CPU time."""
    procs = []
    cpu = cpu_children()
    start = time.monotonic()
    for i in range(nodes):
        cmd = ["gst-launch-1.0", "-q", "videotestsrc", "num-buffers=%d" % frames,
               "!", "video/x-raw,width=48,height=40", "!", "btpreprocess", "!",
               "btencoder", "model=" + MODEL, "!", "btmatcher",
               "queries=a cat;a dog"]
        if publish:
            cmd += ["!", "btpublish", "source=cam%d" % i] + publish
        cmd += ["!", "fakesink"]
        procs.append((subprocess.Popen(cmd), time.monotonic()))
    rates = []
    for p, t0 in procs:
        if p.wait() != 0:
            raise SystemExit("a node failed: %s" % p.args)
        rates.append(frames / (time.monotonic() - t0))
    return rates, time.monotonic() - start, cpu_children() - cpu


def time_in_element(element, frames):
    """Min and median wall time (us) between a buffer entering `element`
    and leaving it, the first 100 buffers left out."""
    p = Gst.parse_launch(
        "videotestsrc num-buffers=%d ! video/x-raw,width=48,height=40 ! "
        "btpreprocess ! btencoder model=\"%s\" ! btmatcher "
        "queries=\"a cat;a dog\" ! %s name=x ! fakesink"
        % (frames, MODEL, element))
    x = p.get_by_name("x")
    entered, spent = [0], []

    def into(pad, info):
        entered[0] = time.perf_counter_ns()
        return Gst.PadProbeReturn.OK

    def out(pad, info):
        spent.append((time.perf_counter_ns() - entered[0]) / 1e3)
        return Gst.PadProbeReturn.OK
    x.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, into)
    x.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, out)
    p.set_state(Gst.State.PLAYING)
    p.get_bus().timed_pop_filtered(300 * Gst.SECOND,
                                   Gst.MessageType.EOS | Gst.MessageType.ERROR)
    p.set_state(Gst.State.NULL)
    return min(spent[100:]), statistics.median(spent[100:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--nodes", default="1,4")
    args = ap.parse_args()
    print("| nodes | publish | frames/s per node | node CPU per frame | "
          "messages/s at the broker | broker CPU per message |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker(tmp, extra="allow_anonymous true\nsys_interval 1\n")
        sub = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port),
             "-q", "1", "-t", "bt/#"], stdout=subprocess.DEVNULL)
        try:
            for nodes in [int(n) for n in args.nodes.split(",")]:
                rates, _, cpu = run_nodes(nodes, args.frames, None)
                print("| %d | none | %.0f | %.0f us | - | - |"
                      % (nodes, sum(rates) / nodes,
                         cpu * 1e6 / (nodes * args.frames)))
                for qos in (0, 1):
                    before = broker_count(broker.port)
                    broker_cpu = cpu_of(broker.proc.pid)
                    url = "mqtt://127.0.0.1:%d/bt/cams" % broker.port
                    rates, wall, cpu = run_nodes(
                        nodes, args.frames,
                        ["method=mqtt", "location=" + url, "qos=%d" % qos])
                    count = broker_count(broker.port) - before
                    broker_cpu = cpu_of(broker.proc.pid) - broker_cpu
                    print("| %d | MQTT QoS %d | %.0f | %.0f us | %.0f (%d in "
                          "%.2f s) | %.0f us |"
                          % (nodes, qos, sum(rates) / nodes,
                             cpu * 1e6 / (nodes * args.frames), count / wall,
                             count, wall, broker_cpu * 1e6 / max(count, 1)))
            print()
            print("| in place of btpublish | time per frame, min | median |")
            print("|---|---|---|")
            Gst.init(None)
            url = "mqtt://127.0.0.1:%d/bt/cost" % broker.port
            for name, element in [
                    ("identity", "identity"),
                    ("btpublish method=file (/dev/null)",
                     "btpublish location=/dev/null"),
                    ("btpublish MQTT QoS 0",
                     "btpublish method=mqtt qos=0 location=" + url),
                    ("btpublish MQTT QoS 1",
                     "btpublish method=mqtt qos=1 location=" + url)]:
                runs = [time_in_element(element, args.frames)
                        for _ in range(2)]
                print("| %s | %.1f us | %.1f us |"
                      % (name, min(r[0] for r in runs),
                         min(r[1] for r in runs)))
        finally:
            sub.terminate()
            sub.wait()
            broker.stop()


main()
