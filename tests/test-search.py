#!/usr/bin/env python3
# test-search.py - `bridgetower search` on a generated video with a known
# scene timeline: solid red (0-1.5 s), blue (1.5-3 s), red (3-4 s), 10 fps,
# H.264 + AAC in MP4. The tiny random golden model scores a red and a blue
# frame very differently; the test scores one decoded frame of each scene
# with `bridgetower itm` and puts the query's threshold halfway, so the
# segments must be the red scenes, right to one sampled frame. Then the
# outputs (subtitles, chapters, clips, plot), the result files, resuming,
# the feature store and the errors; and the btsegments element, which
# gives the same segments from inside a pipeline.
# Environment: BRIDGETOWER (the command), BT_TEST_DATA (tests/data),
# BT_PLUGIN_DIR (the build's plugin, for btsegments; the command needs none).
# Output: TAP.
#
# SPDX-License-Identifier: MIT

import json
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zlib

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstPbutils", "1.0")
from gi.repository import Gst, GstPbutils  # noqa: E402

BRIDGETOWER = os.environ["BRIDGETOWER"]
MODELS = os.path.join(os.environ["BT_TEST_DATA"], "golden", "models")
ITM_MODEL = os.path.join(MODELS, "itm_add_t3v3c2")
ITC_MODEL = os.path.join(MODELS, "itc_interpolate_t3v4rm_c2")
SECOND = 1000000000

FPS = 10
RED, BLUE = (255, 0, 0), (0, 0, 255)
# (frames, colour): the scene timeline
SCENES = [(15, RED), (15, BLUE), (10, RED)]
N_FRAMES = sum(n for n, _ in SCENES)
DURATION = N_FRAMES * SECOND // FPS
QUERY = "a red circle"

Gst.init(None)
tmp = tempfile.mkdtemp(prefix="bt-search-")


def make_video(path, scenes=SCENES):
    width, height = 64, 48
    n_frames = sum(n for n, _ in scenes)
    p = Gst.parse_launch(
        "appsrc name=src format=time caps=video/x-raw,format=RGB,width=%d,"
        "height=%d,framerate=%d/1 ! videoconvert ! x264enc "
        "speed-preset=ultrafast ! h264parse ! mp4mux name=mux ! filesink "
        "location=%s audiotestsrc num-buffers=%d samplesperbuffer=%d ! "
        "audioconvert ! avenc_aac ! aacparse ! mux."
        % (width, height, FPS, path, n_frames, 44100 // FPS))
    src = p.get_by_name("src")
    p.set_state(Gst.State.PLAYING)
    n = 0
    for count, rgb in scenes:
        for _ in range(count):
            buf = Gst.Buffer.new_wrapped(bytes(rgb) * (width * height))
            buf.pts = n * SECOND // FPS
            buf.duration = SECOND // FPS
            src.emit("push-buffer", buf)
            n += 1
    src.emit("end-of-stream")
    msg = p.get_bus().timed_pop_filtered(
        Gst.CLOCK_TIME_NONE, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    p.set_state(Gst.State.NULL)
    assert msg.type == Gst.MessageType.EOS, "cannot generate the video"


def decoded_frame_png(video, index, path):
    """Frame `index` of the decoded video as PNG (what the search sees)."""
    p = Gst.parse_launch(
        "uridecodebin uri=%s ! videoconvert ! video/x-raw,format=RGB ! "
        "appsink name=sink sync=false" % Gst.filename_to_uri(video))
    sink = p.get_by_name("sink")
    p.set_state(Gst.State.PLAYING)
    for _ in range(index + 1):
        sample = sink.emit("pull-sample")
    p2 = Gst.parse_launch("appsrc name=src ! videoconvert ! pngenc ! "
                          "filesink location=%s" % path)
    src = p2.get_by_name("src")
    src.set_property("caps", sample.get_caps())
    p2.set_state(Gst.State.PLAYING)
    src.emit("push-buffer", sample.get_buffer())
    src.emit("end-of-stream")
    p2.get_bus().timed_pop_filtered(Gst.CLOCK_TIME_NONE, Gst.MessageType.EOS)
    p2.set_state(Gst.State.NULL)
    p.set_state(Gst.State.NULL)


def itm_probability(image, text):
    out = subprocess.run([BRIDGETOWER, "itm", ITM_MODEL, image, text,
                          "--json"], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)["results"][0]["probability"]


def run(*args, check=True):
    p = subprocess.run([BRIDGETOWER, "search"] + list(args),
                       capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError("search failed: %s" % p.stderr)
    return p


def search_json(*args):
    return json.loads(run(*args, "--json", "--quiet").stdout)


def queries_file(name, entries):
    path = os.path.join(tmp, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(entries, f)
    return path


def red_segments(step):
    """The red scenes as a search sampling every `step`-th frame sees them:
    from the first sampled red frame to the first sampled frame after it
    (or the end of the video)."""
    sampled = list(range(0, N_FRAMES, step))
    colour = []
    for count, rgb in SCENES:
        colour += [rgb] * count
    segs, start = [], None
    for f in sampled + [None]:
        red = f is not None and colour[f] == RED
        if red and start is None:
            start = f * SECOND // FPS
        elif not red and start is not None:
            segs.append((start, DURATION if f is None else f * SECOND // FPS))
            start = None
    return segs


def discover(path):
    d = GstPbutils.Discoverer.new(30 * SECOND)
    return d.discover_uri(Gst.filename_to_uri(path))


def toc_chapters(info):
    out = []

    def walk(entry):
        if entry.get_entry_type() == Gst.TocEntryType.CHAPTER:
            _, start, stop = entry.get_start_stop_times()
            tags = entry.get_tags()
            out.append((start, stop, tags.get_string("title")[1]))
        for sub in entry.get_sub_entries():
            walk(sub)
    for entry in info.get_toc().get_entries():
        walk(entry)
    return out


def read_png_rgb(path):
    """Width, height and rows of (r, g, b) of an 8-bit RGB/RGBA PNG."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", data[pos + 8:pos + 8 + 13])
        elif kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    width, height, depth, ctype = header[:4]
    assert depth == 8 and ctype in (2, 6), "unexpected PNG type"
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pr) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(width)])
        prev = line
    return width, height, rows


# ---- fixtures ----------------------------------------------------------------

VIDEO = os.path.join(tmp, "scenes.mp4")
make_video(VIDEO)
decoded_frame_png(VIDEO, 5, os.path.join(tmp, "red.png"))
decoded_frame_png(VIDEO, 20, os.path.join(tmp, "blue.png"))
P_RED = itm_probability(os.path.join(tmp, "red.png"), QUERY)
P_BLUE = itm_probability(os.path.join(tmp, "blue.png"), QUERY)
# halfway: the red scenes match, the blue one does not
MID = (P_RED + P_BLUE) / 2
QFILE = queries_file("mid.json", [{"text": QUERY, "threshold": MID}])
COMMON = [ITM_MODEL, VIDEO, "--queries-file", QFILE, "--mode", "itm",
          "--hysteresis", "0"]


def segments_of(report, query=QUERY):
    video = report["videos"][0]
    for q in video["queries"]:
        if q["text"] == query:
            return [(s["start"], s["stop"]) for s in q["segments"]]
    raise AssertionError("query %s missing" % query)


# ---- tests -------------------------------------------------------------------

def test_scores_separate():
    assert P_RED - P_BLUE > 0.1, \
        "the model does not tell red (%g) from blue (%g)" % (P_RED, P_BLUE)


def test_segments_every_frame():
    got = segments_of(search_json(*COMMON))
    assert got == red_segments(1), "segments %s, scenes say %s" % (
        got, red_segments(1))


def test_segments_interval():
    got = segments_of(search_json(*COMMON, "--interval", "4"))
    assert got == red_segments(4), "segments %s, scenes say %s" % (
        got, red_segments(4))


def test_segments_fps():
    got = segments_of(search_json(*COMMON, "--fps", "5"))
    assert got == red_segments(2), "segments %s, scenes say %s" % (
        got, red_segments(2))


def test_peak_inside_segment():
    report = search_json(*COMMON)
    for s in report["videos"][0]["queries"][0]["segments"]:
        assert s["start"] <= s["peak_time"] < s["stop"], s
        assert abs(s["peak"] - P_RED) < 0.02, (s["peak"], P_RED)


def test_thresholds_all_or_nothing():
    qf = queries_file("all.json", [{"text": "always", "threshold": 0.0},
                                   {"text": "never", "threshold": 1.0}])
    report = search_json(ITM_MODEL, VIDEO, "--queries-file", qf)
    assert segments_of(report, "always") == [(0, DURATION)]
    assert segments_of(report, "never") == []
    assert report["videos"][0]["scored_frames"] == N_FRAMES
    assert report["videos"][0]["duration"] == DURATION


def test_table():
    out = run(*COMMON, "--quiet").stdout
    assert QUERY in out and "00:00:01.500" in out and "00:00:03.000" in out, out


def parse_cues(text, sep):
    cues = []
    pattern = r"(\d\d):(\d\d):(\d\d)%s(\d\d\d) --> (\d\d):(\d\d):(\d\d)%s" \
        r"(\d\d\d)\n((?:.+\n)+)" % (sep, sep)
    for m in re.finditer(pattern, text):
        g = [int(x) for x in m.groups()[:8]]
        a = ((g[0] * 60 + g[1]) * 60 + g[2]) * 1000 + g[3]
        b = ((g[4] * 60 + g[5]) * 60 + g[6]) * 1000 + g[7]
        cues.append((a * 1000000, b * 1000000, m.group(9).strip().split("\n")))
    return cues


def test_srt_and_vtt():
    srt, vtt = os.path.join(tmp, "s.srt"), os.path.join(tmp, "s.vtt")
    qf = queries_file("two.json", [{"text": QUERY, "threshold": MID},
                                   {"text": "always", "threshold": 0.0}])
    run(ITM_MODEL, VIDEO, "--queries-file", qf, "--mode", "itm",
        "--hysteresis", "0", "--srt", srt, "--vtt", vtt, "--quiet")
    (r1, r2) = red_segments(1)
    want = [(r1[0], r1[1], [QUERY, "always"]), (r1[1], r2[0], ["always"]),
            (r2[0], r2[1], [QUERY, "always"])]
    srt_text = open(srt, encoding="utf-8").read()
    assert parse_cues(srt_text, ",") == want, srt_text
    assert srt_text.startswith("1\n"), srt_text
    vtt_text = open(vtt, encoding="utf-8").read()
    assert vtt_text.startswith("WEBVTT\n\n"), vtt_text
    assert parse_cues(vtt_text, r"\.") == want, vtt_text


def test_chapter_files():
    xml, txt = os.path.join(tmp, "c.xml"), os.path.join(tmp, "c.txt")
    run(*COMMON, "--chapters", xml, "--quiet")
    run(*COMMON, "--chapters", txt, "--quiet")
    atoms = ET.parse(xml).getroot().findall("./EditionEntry/ChapterAtom")

    def ns(t):
        h, m, s = t.split(":")
        return round((int(h) * 3600 + int(m) * 60 + float(s)) * 1000) * 1000000
    got = [(ns(a.find("ChapterTimeStart").text), ns(a.find("ChapterTimeEnd").text),
            a.find("ChapterDisplay/ChapterString").text) for a in atoms]
    assert got == [(a, b, QUERY) for a, b in red_segments(1)], got
    text = open(txt, encoding="utf-8").read()
    assert text.startswith(";FFMETADATA1\n"), text
    starts = [int(x) for x in re.findall(r"^START=(\d+)$", text, re.M)]
    ends = [int(x) for x in re.findall(r"^END=(\d+)$", text, re.M)]
    assert list(zip(starts, ends)) == red_segments(1), text


def test_chapters_matroska():
    mkv = os.path.join(tmp, "chapters.mkv")
    run(*COMMON, "--chapters", mkv, "--quiet")
    info = discover(mkv)
    assert abs(info.get_duration() - DURATION) <= SECOND // FPS, \
        info.get_duration()
    # Matroska readers end a chapter where the next begins: starts only
    got = [(a, title) for a, _, title in toc_chapters(info)]
    assert got == [(a, QUERY) for a, _ in red_segments(1)], got


def test_clip():
    clip = os.path.join(tmp, "clip.mp4")
    run(*COMMON, "--clip", clip, "--quiet")
    info = discover(clip)
    want = sum(b - a for a, b in red_segments(1))
    assert abs(info.get_duration() - want) <= SECOND // FPS, \
        (info.get_duration(), want)
    kinds = sorted(s.get_stream_type_nick() for s in info.get_stream_list())
    assert "audio" in kinds and "video" in kinds, kinds


def test_clip_matroska_chapters():
    clip = os.path.join(tmp, "clip.mkv")
    run(*COMMON, "--clip", clip, "--quiet")
    (r1, r2) = red_segments(1)
    first = r1[1] - r1[0]
    want = [(0, QUERY), (first, QUERY)]
    got = [(a, title) for a, _, title in toc_chapters(discover(clip))]
    assert got == want, got


def dashed_rows(rows, width):
    """Rows holding a dashed line of the first query's colour (blue-ish,
    in runs of a few pixels) across most of the plot."""
    found = []
    for y, row in enumerate(rows):
        runs, length = [], 0
        for r, g, b in row + [(255, 255, 255)]:
            if b - r > 60:
                length += 1
            elif length:
                runs.append(length)
                length = 0
        dashes = [n for n in runs if 3 <= n <= 9]
        if len(dashes) >= 40 and sum(dashes) > width * 0.4:
            found.append(y)
    return found


def frame_rows(rows):
    """The top and bottom rows of the plot's grey frame."""
    grey = [y for y, row in enumerate(rows)
            if sum(1 for r, g, b in row if r == g == b < 200) > len(row) * 0.8]
    return grey[0], grey[-1]


def test_plot_png():
    png = os.path.join(tmp, "plot.png")
    run(*COMMON, "--plot", png, "--quiet")
    width, height, rows = read_png_rgb(png)
    top, bottom = frame_rows(rows)
    # ITM scores span [0, 1]: the threshold sits at (1 - MID) of the height
    expect = top + (1 - MID) * (bottom - top)
    lines = dashed_rows(rows, width)
    assert lines and all(abs(y - expect) <= 2 for y in lines), \
        "dashed rows %s, threshold at %.1f" % (lines, expect)


def test_plot_svg():
    svg = os.path.join(tmp, "plot.svg")
    run(*COMMON, "--plot", svg, "--quiet")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg"), root.tag


def test_resume():
    out = os.path.join(tmp, "results")
    videos = os.path.join(tmp, "videos")
    os.makedirs(videos)
    for name in ("one.mp4", "two.mp4"):
        shutil.copy(VIDEO, os.path.join(videos, name))
    first = search_json(*COMMON[:1], videos, *COMMON[2:], "-o", out)
    assert [v["status"] for v in first["videos"]] == ["searched"] * 2
    assert all(v["encoded_frames"] == N_FRAMES for v in first["videos"])
    stamps = {f: os.stat(os.path.join(out, f)).st_mtime_ns
              for f in ("one.jsonl", "two.jsonl")}
    second = search_json(*COMMON[:1], videos, *COMMON[2:], "-o", out)
    assert [v["status"] for v in second["videos"]] == ["resumed"] * 2
    assert all(v["encoded_frames"] == 0 for v in second["videos"])
    assert [segments_of({"videos": [v]}) for v in second["videos"]] \
        == [red_segments(1)] * 2
    for f, t in stamps.items():
        assert os.stat(os.path.join(out, f)).st_mtime_ns == t, f
    index = json.load(open(os.path.join(out, "index.json"), encoding="utf-8"))
    assert [os.path.basename(v["result"]) for v in index["videos"]] \
        == ["one.jsonl", "two.jsonl"]
    # other settings: searched again
    third = search_json(*COMMON[:1], videos, *COMMON[2:], "-o", out,
                        "--interval", "2")
    assert [v["status"] for v in third["videos"]] == ["searched"] * 2
    # the same videos named in a list: resumed again
    listing = os.path.join(tmp, "videos.txt")
    with open(listing, "w", encoding="utf-8") as f:
        f.write("".join(os.path.join(videos, n) + "\n"
                        for n in ("one.mp4", "two.mp4")))
    fourth = search_json(COMMON[0], *COMMON[2:], "--from", listing, "-o", out,
                         "--interval", "2")
    assert [v["status"] for v in fourth["videos"]] == ["resumed"] * 2


def result_scores(path, query):
    lines = [json.loads(line) for line in open(path, encoding="utf-8")]
    index = [q["text"] for q in lines[0]["queries"]].index(query)
    return [(line["time"], line["scores"][index]) for line in lines
            if line["type"] == "frame"]


def check_store(model, mode, first, second, fill_mode=None):
    """Fills a store searching for `first` and `second` (in `fill_mode`),
    then searches `second` alone in `mode`: from the store, with the scores
    of a search without it."""
    fill_mode = fill_mode or mode
    tag = "%s-%s" % (fill_mode, mode)
    db = os.path.join(tmp, "features-%s.db" % tag)
    out1, out2, fresh = (os.path.join(tmp, "store-%s-%d" % (tag, i))
                         for i in range(3))
    base = [model, VIDEO, "--keep-features", db]
    r1 = search_json(*base, "--mode", fill_mode, "-q", first, "-q", second,
                     "-o", out1)
    assert r1["videos"][0]["status"] == "searched"
    base += ["--mode", mode]
    r2 = search_json(*base, "-q", second, "-o", out2)
    assert r2["videos"][0]["status"] == "stored"
    assert r2["videos"][0]["encoded_frames"] == 0
    search_json(model, VIDEO, "--mode", mode, "-q", second, "-o", fresh)
    got = result_scores(os.path.join(out2, "scenes.jsonl"), second)
    want = result_scores(os.path.join(fresh, "scenes.jsonl"), second)
    assert len(got) == N_FRAMES and [t for t, _ in got] == [t for t, _ in want]
    assert max(abs(a - b) for (_, a), (_, b) in zip(got, want)) < 1e-6


def run_in_terminal(args):
    """Runs the command with stderr on a pseudo-terminal; its output."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(BRIDGETOWER, [BRIDGETOWER, "search"] + args)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0, out
    return out.decode("utf-8", "replace")


def test_progress():
    long_video = os.path.join(tmp, "long.mp4")
    make_video(long_video, [(400, RED)])
    args = [ITM_MODEL, long_video, "-q", QUERY]
    shown = run_in_terminal(args)
    # position / duration, percent, frames per second, time left
    assert re.search(r"\r\x1b\[Klong\.mp4  [\d.]+ / 40\.0 s +\d+%  [\d.]+ "
                     r"frames/s  ETA \d+:\d\d", shown), shown[:400]
    piped = run(ITM_MODEL, VIDEO, "-q", QUERY).stderr
    assert "\r" not in piped and "frames/s" not in piped, piped
    quiet = run_in_terminal(args + ["--quiet"])
    assert "frames/s" not in quiet and "\r" not in quiet.replace("\r\n", ""), \
        quiet[:400]


def test_store_itm():
    check_store(ITM_MODEL, "itm", QUERY, "two blue squares")


def test_store_itc():
    check_store(ITC_MODEL, "itc", QUERY, "a green triangle")


def test_store_whole_features_serve_itc():
    check_store(ITC_MODEL, "itc", QUERY, "a green triangle", fill_mode="auto")


def test_store_other_model():
    db = os.path.join(tmp, "features-itm-itm.db")
    p = run(ITC_MODEL, VIDEO, "-q", "x", "--keep-features", db, check=False)
    assert p.returncode == 1 and "use another store file" in p.stderr, p.stderr


def test_segments_element():
    """btsegments after btmatcher: the files, the message and the TOC carry
    the same segments as the command."""
    assert Gst.Registry.get().scan_path(os.environ["BT_PLUGIN_DIR"]) or \
        Gst.ElementFactory.find("btsegments"), "no btsegments"
    files = {k: os.path.join(tmp, "element." + k) for k in ("srt", "vtt", "xml")}
    p = Gst.parse_launch(
        "uridecodebin uri=%s ! videoconvert ! btpreprocess ! btencoder "
        "model=%s ! btmatcher queries-file=%s mode=itm hysteresis=0 ! "
        "btsegments srt-location=%s vtt-location=%s chapters-location=%s ! "
        "fakesink" % (Gst.filename_to_uri(VIDEO), ITM_MODEL, QFILE,
                      files["srt"], files["vtt"], files["xml"]))
    bus = p.get_bus()
    p.set_state(Gst.State.PLAYING)
    segments, toc = None, None
    while True:
        msg = bus.timed_pop_filtered(60 * SECOND, Gst.MessageType.EOS
                                     | Gst.MessageType.ERROR
                                     | Gst.MessageType.ELEMENT
                                     | Gst.MessageType.TOC)
        assert msg and msg.type != Gst.MessageType.ERROR, \
            msg and msg.parse_error()
        if msg.type == Gst.MessageType.EOS:
            break
        if msg.type == Gst.MessageType.TOC:
            toc = msg.parse_toc()[0]
        elif msg.get_structure().get_name() == "bridgetower-segments":
            s = msg.get_structure().serialize(Gst.SerializeFlags.NONE)
            segments = [(int(a), int(b)) for a, b in re.findall(
                r"start=\(guint64\)(\d+), stop=\(guint64\)(\d+)", s)]
    p.set_state(Gst.State.NULL)
    assert segments == red_segments(1), segments
    chapters = []
    for edition in toc.get_entries():
        for ch in edition.get_sub_entries():
            _, a, b = ch.get_start_stop_times()
            chapters.append((a, b, ch.get_tags().get_string("title")[1]))
    assert chapters == [(a, b, QUERY) for a, b in red_segments(1)], chapters
    # the same writers as the command's
    cmd = {k: os.path.join(tmp, "command." + k) for k in ("srt", "vtt", "xml")}
    run(*COMMON, "--srt", cmd["srt"], "--vtt", cmd["vtt"], "--chapters",
        cmd["xml"], "--quiet")
    for k in files:
        assert open(files[k]).read() == open(cmd[k]).read(), k


def test_errors():
    audio = os.path.join(tmp, "audio.mp4")
    p = Gst.parse_launch("audiotestsrc num-buffers=10 ! audioconvert ! "
                         "avenc_aac ! mp4mux ! filesink location=" + audio)
    p.set_state(Gst.State.PLAYING)
    p.get_bus().timed_pop_filtered(Gst.CLOCK_TIME_NONE, Gst.MessageType.EOS)
    p.set_state(Gst.State.NULL)
    not_video = os.path.join(tmp, "notes.txt")
    with open(not_video, "w") as f:
        f.write("not a video\n")
    cases = [
        ([ITM_MODEL, audio, "-q", "x"], "audio.mp4: no video stream"),
        ([ITM_MODEL, not_video, "-q", "x"], "notes.txt"),
        ([ITM_MODEL, VIDEO, "-q", "x", "--plot", "/nonexistent/p.png"],
         "/nonexistent/p.png"),
        ([ITM_MODEL, VIDEO, "-q", "x", "--threshold", "0", "--clip",
          "/nonexistent/c.mp4"], "/nonexistent/c.mp4"),
        ([ITM_MODEL, os.path.join(tmp, "missing.mp4"), "-q", "x"],
         "missing.mp4"),
        ([ITM_MODEL, VIDEO], "no query"),
        ([ITM_MODEL, VIDEO, "-q", "x", "--mode", "fast"], "--mode"),
        ([ITM_MODEL, VIDEO, VIDEO, "-q", "x", "--srt", "a.srt"], "{name}"),
        (["/nonexistent/model", VIDEO, "-q", "x"], "/nonexistent/model"),
        ([ITC_MODEL, VIDEO, "-q", "x", "--mode", "itm"], "ITM"),
        ([ITM_MODEL, VIDEO, "-q", "x", "--queries-file", "/nonexistent.json"],
         "/nonexistent.json"),
        ([ITM_MODEL, VIDEO, "-q", "x", "--threshold", "1",
          "--clip", os.path.join(tmp, "none.mp4")], "nothing to clip"),
    ]
    for args, needle in cases:
        p = run(*args, "--quiet", check=False)
        assert p.returncode != 0 and needle in p.stderr, (args, p.stderr)
        assert "Traceback" not in p.stderr and p.returncode in (1, 2), p
    # btsegments: a file it cannot write is an element error naming it
    assert Gst.Registry.get().scan_path(os.environ["BT_PLUGIN_DIR"]) or \
        Gst.ElementFactory.find("btsegments")
    p = Gst.parse_launch(
        "uridecodebin uri=%s ! videoconvert ! btpreprocess ! btencoder "
        "model=%s ! btmatcher queries=x threshold=0 ! btsegments "
        "srt-location=/nonexistent/e.srt ! fakesink"
        % (Gst.filename_to_uri(VIDEO), ITM_MODEL))
    p.set_state(Gst.State.PLAYING)
    msg = p.get_bus().timed_pop_filtered(
        60 * SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    p.set_state(Gst.State.NULL)
    assert msg.type == Gst.MessageType.ERROR, msg.type
    assert "/nonexistent/e.srt" in msg.parse_error()[0].message


TESTS = [f for name, f in sorted(globals().items(), key=lambda kv: 0)
         if name.startswith("test_")]
results = []
for i, test in enumerate(TESTS, 1):
    t0 = time.monotonic()
    try:
        test()
        results.append(True)
        print("ok %d - %s" % (i, test.__name__))
    except Exception as e:  # noqa: BLE001 - report every failure as TAP
        results.append(False)
        line = e.__traceback__.tb_next.tb_lineno if e.__traceback__.tb_next else 0
        why = ("line %d: %s %r" % (line, type(e).__name__, e)).replace("\n", " | ")
        print("not ok %d - %s: %s" % (i, test.__name__, why))
    print("# %.1f s" % (time.monotonic() - t0))
print("1..%d" % len(TESTS))
shutil.rmtree(tmp, ignore_errors=True)
sys.exit(0 if all(results) else 1)
