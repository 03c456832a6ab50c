#!/usr/bin/env python3
"""`meson install` into a DESTDIR, then what a user of the install gets:
gst-inspect-1.0 finds the plugin in GStreamer's own plugin folder (the one
the build installs into) with nothing else on the search path, and a C
program built with the installed gst-bridgetower.pc reads GstBtScoresMeta
from the installed plugin's buffers. TAP output.

Environment (from meson): MESON, BUILD_ROOT, CC, BT_PREFIX, BT_LIBDIR,
BT_PLUGINS_INSTALL_DIR, GST_SYSTEM_PLUGINS_DIR, BT_TEST_DATA."""
import os
import re
import shlex
import subprocess
import sys
import tempfile

E = os.environ
MODEL = os.path.join(E["BT_TEST_DATA"], "golden", "models", "itm_add_t3v3c2")
HERE = os.path.dirname(os.path.abspath(__file__))
results = []


def check(name, fn, *args):
    try:
        fn(*args)
        results.append((True, name, ""))
    except Exception as e:  # report and keep going
        results.append((False, name, str(e)))


def run(cmd, env=None, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                          timeout=300, **kw)
    assert proc.returncode == 0, "%s: exit %d\n%s%s" % (
        " ".join(cmd), proc.returncode, proc.stdout, proc.stderr)
    return proc.stdout


def under(destdir, path):
    return os.path.join(destdir, path.lstrip("/"))


def gst_env(destdir, tmp, plugin_dirs):
    """Only `plugin_dirs` on GStreamer's search path, a fresh registry, the
    DESTDIR's libraries for the loader."""
    env = dict(E)
    for var in ("GST_PLUGIN_PATH", "GST_PLUGIN_PATH_1_0", "GST_PLUGIN_SYSTEM_PATH"):
        env.pop(var, None)
    env["GST_PLUGIN_SYSTEM_PATH_1_0"] = os.pathsep.join(plugin_dirs)
    env["GST_REGISTRY_1_0"] = os.path.join(tmp, "registry.bin")
    env["LD_LIBRARY_PATH"] = under(destdir, os.path.join(E["BT_PREFIX"], E["BT_LIBDIR"]))
    return env


def test_plugin_found(destdir, tmp):
    plugin_dir = under(destdir, E["BT_PLUGINS_INSTALL_DIR"])
    assert os.path.exists(os.path.join(plugin_dir, "libgstbridgetower.so")), \
        "no libgstbridgetower.so in " + plugin_dir
    out = run(["gst-inspect-1.0", "bridgetower"],
              env=gst_env(destdir, tmp, [plugin_dir]))
    for needle in ("btpreprocess", "btencoder", "btmatcher", "MIT/X11",
                   os.path.join(plugin_dir, "libgstbridgetower.so")):
        assert needle in out, "%r not in gst-inspect-1.0's output:\n%s" % (needle, out)


def test_default_is_gstreamer_folder():
    # a system prefix installs where the system's GStreamer looks
    if E["BT_PREFIX"] in ("/usr", "/usr/local") and E.get("BT_PLUGINDIR_OPTION", "") == "":
        assert E["BT_PLUGINS_INSTALL_DIR"] == E["GST_SYSTEM_PLUGINS_DIR"], \
            "%s is not GStreamer's %s" % (E["BT_PLUGINS_INSTALL_DIR"], E["GST_SYSTEM_PLUGINS_DIR"])


def relocated_pc_dir(destdir, tmp):
    """The installed .pc files with their prefix moved under DESTDIR, as if
    installed there."""
    pc_src = under(destdir, os.path.join(E["BT_PREFIX"], E["BT_LIBDIR"], "pkgconfig"))
    pc_dir = os.path.join(tmp, "pkgconfig")
    os.makedirs(pc_dir)
    for name in ("bridgetower.pc", "gst-bridgetower.pc"):
        with open(os.path.join(pc_src, name)) as f:
            text = f.read()
        text = re.sub(r"^prefix=(.*)$", lambda m: "prefix=" + under(destdir, m[1]),
                      text, count=1, flags=re.M)
        with open(os.path.join(pc_dir, name), "w") as f:
            f.write(text)
    return pc_dir


def test_app_reads_scores_meta(destdir, tmp):
    env = dict(E)
    env["PKG_CONFIG_PATH"] = relocated_pc_dir(destdir, tmp)
    flags = run(["pkg-config", "--cflags", "--libs", "gst-bridgetower"], env=env)
    app = os.path.join(tmp, "install-check")
    run(shlex.split(E["CC"]) + ["-o", app, os.path.join(HERE, "install-check.c")]
        + shlex.split(flags))
    plugin_dir = under(destdir, E["BT_PLUGINS_INSTALL_DIR"])
    out = run([app, MODEL], env=gst_env(destdir, tmp,
                                         [plugin_dir, E["GST_SYSTEM_PLUGINS_DIR"]]))
    lines = out.splitlines()
    assert len(lines) == 3 and all('"a cat"' in l for l in lines), out


with tempfile.TemporaryDirectory() as tmp:
    destdir = os.path.join(tmp, "destdir")
    proc = subprocess.run([E["MESON"], "install", "-C", E["BUILD_ROOT"], "--no-rebuild",
                           "--destdir", destdir, "--quiet"],
                          capture_output=True, text=True, timeout=300)
    results.append((proc.returncode == 0, "meson install --destdir",
                    proc.stdout + proc.stderr if proc.returncode else ""))
    if proc.returncode == 0:
        check("plugin installed into GStreamer's folder by default",
              test_default_is_gstreamer_folder)
        check("gst-inspect-1.0 finds the installed plugin (MIT/X11)",
              test_plugin_found, destdir, tmp)
        check("a C app built with gst-bridgetower.pc reads GstBtScoresMeta",
              test_app_reads_scores_meta, destdir, tmp)

print("1..%d" % len(results))
for i, (ok, name, why) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    if why:
        print("# " + why.replace("\n", "\n# "))
sys.exit(0 if all(ok for ok, _, _ in results) else 1)
