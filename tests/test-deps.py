#!/usr/bin/env python3
"""Every Debian package that a test, benchmark or documented example needs
is installed by .ci/install-deps (itself or through its dependencies).

What is needed is read from the sources, then mapped to the package that
owns it on this machine (dpkg -S):
- GStreamer elements named in pipelines (tests, benchmarks, README and docs
  code) -> the file of the plugin that provides them;
- Python modules imported by the tests and benchmarks (the standard library
  aside), GObject-introspection namespaces (typelib and PyGObject override,
  such as python3-gst-1.0's Gst.py that GstValueArray needs);
- gst-*-1.0 programs the tests run; pkg-config dependencies of meson.build.
An element or module that is not on this machine at all fails too.
TAP output. Environment: BT_SOURCE_ROOT (from meson)."""
import glob
import importlib.util
import os
import re
import shutil
import subprocess
import sys

import gi
gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

ROOT = os.environ["BT_SOURCE_ROOT"]
results = []


def result(ok, name, lines=()):
    results.append((ok, name, list(lines)))


# ---- what install-deps installs ----------------------------------------------

def install_deps_packages():
    text = open(os.path.join(ROOT, ".ci", "install-deps")).read()
    m = re.search(r"packages=\((.*?)\)", text, re.S)
    return set(m[1].split())


def installed_closure(roots):
    """`roots` and everything they depend on (Depends, Pre-Depends), as dpkg
    has it installed; a virtual package counts as its providers."""
    out = subprocess.run(["dpkg-query", "-W", "-f",
                          "${Package}\t${Provides}\t${Depends}, ${Pre-Depends}\n"],
                         capture_output=True, text=True, check=True).stdout
    deps, providers = {}, {}

    def names(field):
        for alternatives in field.split(","):
            for alt in alternatives.split("|"):
                name = alt.strip().split(" ")[0].split(":")[0]
                if name:
                    yield name

    for line in out.splitlines():
        pkg, provides, depends = line.split("\t")
        deps[pkg] = list(names(depends))
        for p in names(provides):
            providers.setdefault(p, []).append(pkg)
    seen, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo.extend(deps.get(p, []))
        todo.extend(providers.get(p, []))
    return seen


def spellings(path):
    """`path` as given, resolved, and with or without the /usr of a
    merged-/usr system: dpkg knows one of them."""
    real = os.path.realpath(path)
    out = [path, real]
    for p in (path, real):
        out.append(p[4:] if p.startswith("/usr/") else "/usr" + p)
    return out


def owners(paths):
    """path -> the package that owns it, for every path dpkg knows (one
    dpkg -S call: each reads the whole database)."""
    asked = sorted({s for p in paths for s in spellings(p)})
    proc = subprocess.run(["dpkg", "-S"] + asked, capture_output=True, text=True)
    by_spelling = {}
    for line in proc.stdout.splitlines():
        if line.startswith("diversion "):
            continue
        pkgs, _, path = line.partition(": ")
        by_spelling[path] = pkgs.split(",")[0].strip().split(":")[0]
    found = {}
    for p in paths:
        for s in spellings(p):
            if s in by_spelling:
                found[p] = by_spelling[s]
                break
    return found


# ---- what the sources use -----------------------------------------------------

def files(*patterns):
    out = []
    for p in patterns:
        out += sorted(glob.glob(os.path.join(ROOT, p), recursive=True))
    return [f for f in out if "/data/" not in f and not f.endswith("/test-deps.py")]


def markdown_code(text):
    """Fenced and indented blocks and inline code of a markdown page."""
    parts = re.findall(r"```.*?```", text, re.S)
    parts += [l for l in text.splitlines() if l.startswith("    ")]
    parts += re.findall(r"`[^`\n]+`", text)
    return "\n".join(parts)


LITERAL = re.compile(r""""((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'""")


def literals(text):
    """The string literals of a source file, joined: pipelines live there
    (also as lists of words, as in ["a", "!", "b"])."""
    return " ".join(a or b for a, b in LITERAL.findall(text))


def sources():
    """(path, text) of everything a test, benchmark or documented example
    runs: the string literals of code, the code of markdown."""
    for path in files("tests/**/*.py", "tests/**/*.c", "tests/**/meson.build"):
        yield path, literals(open(path, encoding="utf-8").read())
    for path in files("tests/**/*.sh"):
        yield path, open(path, encoding="utf-8").read()
    for path in files("README.md", "docs/*.md"):
        yield path, markdown_code(open(path, encoding="utf-8").read())


WORD = re.compile(r"[a-z][a-z0-9_]*[a-z0-9]")
# (a name followed by '.' is a pad reference to a named element: "! mux.")
AFTER_BANG = re.compile(r"(?<![\w=])!\s*(?:\\\s*)?([a-z][a-z0-9_]*)(?![\w.])")


def elements_used(texts):
    """Element names: every word that names a registered element factory;
    and every word right after a '!' in a pipeline, registered or not."""
    used, unknown = {}, {}
    for path, text in texts:
        rel = os.path.relpath(path, ROOT)
        for w in set(WORD.findall(text)):
            if Gst.ElementFactory.find(w):
                used.setdefault(w, set()).add(rel)
        for w in set(AFTER_BANG.findall(text)):
            if not Gst.ElementFactory.find(w) and w not in ("video", "audio", "image"):
                unknown.setdefault(w, set()).add(rel)
    return used, unknown


IMPORT = re.compile(r"^\s*(?:import\s+([\w.]+)|from\s+([\w.]+)\s+import\s+([\w, ()]+))", re.M)
GI_VERSION = re.compile(r"""require_version\(\s*["'](\w+)["']\s*,\s*["']([\d.]+)["']""")


def python_used():
    modules, namespaces = {}, {}
    local = {os.path.splitext(os.path.basename(p))[0] for p in files("tests/**/*.py")}
    texts = [(p, open(p, encoding="utf-8").read()) for p in files("tests/**/*.py")]
    for path in files("README.md", "docs/*.md"):
        for block in re.findall(r"```python(.*?)```", open(path, encoding="utf-8").read(), re.S):
            texts.append((path, block))
    for path, text in texts:
        rel = os.path.relpath(path, ROOT)
        for m in IMPORT.finditer(text):
            top = (m[1] or m[2]).split(".")[0]
            if top in sys.stdlib_module_names or top in local:
                continue
            modules.setdefault(top, set()).add(rel)
        for ns, version in GI_VERSION.findall(text):
            namespaces.setdefault((ns, version), set()).add(rel)
    return modules, namespaces


def gi_files(ns, version):
    """The typelib of a GI namespace and its PyGObject override, if any."""
    found = []
    for d in ("/usr/lib/x86_64-linux-gnu/girepository-1.0", "/usr/lib/girepository-1.0"):
        p = os.path.join(d, "%s-%s.typelib" % (ns, version))
        if os.path.exists(p):
            found.append(p)
            break
    else:
        found.append(None)
    overrides = os.path.dirname(importlib.util.find_spec("gi.overrides").origin)
    p = os.path.join(overrides, ns + ".py")
    if os.path.exists(p):
        found.append(p)
    return found


def programs_used(texts):
    progs = {}
    for path, text in texts:
        for p in re.findall(r"\b(gst-[a-z]+(?:-[a-z]+)*-1\.0)\b", text):
            progs.setdefault(p, set()).add(os.path.relpath(path, ROOT))
    return progs


def pkgconfig_used():
    deps = {}
    for path in files("meson.build", "**/meson.build"):
        for name in re.findall(r"""\bdependency\(\s*'([\w.+-]+)'""", open(path).read()):
            if name not in ("threads", "dl"):
                deps.setdefault(name, set()).add(os.path.relpath(path, ROOT))
    return deps


# ---- check --------------------------------------------------------------------

def main():
    Gst.init(None)
    listed = install_deps_packages()
    closure = installed_closure(listed)
    texts = list(sources())
    uses = []         # (what, path, users)
    missing = []      # things not on this machine at all

    def need(what, path, users):
        uses.append((what, path, users))

    elements, unknown = elements_used(texts)
    for name, users in sorted(elements.items()):
        plugin = Gst.ElementFactory.find(name).get_plugin()
        # ours, or built into libgstreamer itself (bin, pipeline)
        if plugin is None or plugin.get_name() == "bridgetower" \
                or plugin.get_filename() is None:
            continue
        need("element " + name, plugin.get_filename(), users)
    for name, users in sorted(unknown.items()):
        missing.append("element %s (%s): not on this machine" % (name, ", ".join(sorted(users))))

    modules, namespaces = python_used()
    for name, users in sorted(modules.items()):
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin:
            missing.append("python module %s (%s): not importable" % (name, ", ".join(sorted(users))))
        else:
            need("python module " + name, spec.origin, users)
    for (ns, version), users in sorted(namespaces.items()):
        for path in gi_files(ns, version):
            need("GI %s-%s %s" % (ns, version, "typelib" if path is None or path.endswith(".typelib")
                                  else "override"), path, users)

    for name, users in sorted(programs_used(texts).items()):
        need("program " + name, shutil.which(name), users)
    for name, users in sorted(pkgconfig_used().items()):
        proc = subprocess.run(["pkg-config", "--variable=pcfiledir", name],
                              capture_output=True, text=True)
        pc = os.path.join(proc.stdout.strip(), name + ".pc") if proc.returncode == 0 else None
        need("pkg-config " + name, pc, users)

    needs = {}        # package -> what needs it
    found = owners([path for _, path, _ in uses if path])
    for what, path, users in uses:
        if path not in found:
            missing.append("%s (%s): no Debian package owns %s"
                           % (what, ", ".join(sorted(users)), path))
        else:
            needs.setdefault(found[path], []).append(what)
    not_installed = {p: w for p, w in needs.items() if p not in closure}
    result(not missing, "everything the tests and docs use is on this machine", missing)
    result(not not_installed, "install-deps installs every package they need (%d packages "
           "for %d uses)" % (len(needs), sum(len(w) for w in needs.values())),
           ["%s is not installed by .ci/install-deps (nor a dependency of what it "
            "installs); needed for: %s" % (p, ", ".join(w)) for p, w in sorted(not_installed.items())]
           + ["%s <- %s" % (p, ", ".join(w)) for p, w in sorted(needs.items())])

    print("1..%d" % len(results))
    for i, (ok, name, lines) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
        for line in lines:
            print("# " + line)
    return 0 if all(ok for ok, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
