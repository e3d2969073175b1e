#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Checks the layering that ../shared/DESIGN.md ("Layers") and issue 7 ("Done
# when") ask for, on the sources and on the objects of a build:
#
#  (a) files in src/ include no header but the portable C ones listed in
#      PORTABLE below, the headers of src/ and the public mmapio.h; a file
#      that includes <stdio.h> calls nothing of it but snprintf/vsnprintf
#      (the library never prints);
#  (b) every undefined mmapio__* symbol of a src/ object is defined by
#      another src/ object or declared in src/platform.h or src/engine.h, so
#      src/ reaches fallback/ and uring/ through those two contracts only;
#  (c) no include cycle among the files of one folder;
#  (d) no call cycle among the objects of one folder (A uses a symbol B
#      defines and B one of A's, directly or round a longer loop);
#  (e) no #if/#ifdef in src/ on a platform or an engine (__linux__,
#      __GLIBC__, _WIN32, __APPLE__, MMAPIO_HAVE_*, ...).
#
# The objects are the members of the build's libmmapio-objects.a, the one
# archive that holds every object of the library.
#
# Usage: sh scripts/check_layers.sh [BUILD_DIR]   (default: build, built
# first).  Prints one line per problem and a closing count; exit status 0
# when there is none.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
archive=$build/libmmapio-objects.a
if [ ! -e "$archive" ]; then
	echo "check_layers: no $archive: build first (ninja -C $build)" >&2
	exit 2
fi
symbols=$(mktemp "${TMPDIR:-/tmp}/mmapio-layers-XXXXXX")
trap 'rm -f "$symbols"' EXIT
nm -A "$archive" > "$symbols"
status=0
python3 - "$symbols" <<'EOF' || status=$?
import os
import re
import sys

# The C library headers that src/ may include: the freestanding ones, and
# of the hosted ones those with nothing OS-specific in them.  <stdio.h>
# only for snprintf (see STDIO_OK).  Everything else is the platform's, and
# comes through src/platform.h.
PORTABLE = {
    "errno.h", "stdbool.h", "stddef.h", "stdint.h", "string.h", "stdlib.h",
    "limits.h", "stdatomic.h", "stdio.h", "stdarg.h",
}
STDIO_OK = {"snprintf", "vsnprintf"}
STDIO_CALLS = re.compile(
    r"\b(printf|fprintf|vprintf|vfprintf|dprintf|puts|fputs|putc|fputc|putchar|perror|"
    r"fopen|fdopen|freopen|fclose|fread|fwrite|fgets|fgetc|getc|getchar|scanf|fscanf|"
    r"sscanf|fflush|setvbuf|setbuf|tmpfile|tmpnam|remove|rename|sprintf|vsprintf)\s*\(")
CONTRACTS = ["src/platform.h", "src/engine.h"]
FOLDERS = ["src", "fallback", "uring", "include", "tests", "benchmarks", "examples"]
PLATFORM_IF = re.compile(
    r"^\s*#\s*(if|ifdef|ifndef|elif)\b.*\b(__linux__|__linux|linux|__GLIBC__|__GLIBC_MINOR__|"
    r"_WIN32|_WIN64|__APPLE__|__MACH__|__FreeBSD__|__NetBSD__|__OpenBSD__|__unix__|"
    r"_POSIX_VERSION|MMAPIO_HAVE_\w+|HAVE_\w+)\b")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')

problems = []


def problem(kind, msg):
    problems.append(f"check_layers: ({kind}) {msg}")


def sources(folder):
    if not os.path.isdir(folder):
        return []
    return sorted(os.path.join(folder, f) for f in os.listdir(folder)
                  if f.endswith((".c", ".h", ".cpp")))


def strip_comments(text):
    """Blanks out comments and string literals, keeping line numbers."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text[i] == '"' and not re.match(r"\s*#\s*include", text[text.rfind("\n", 0, i) + 1:i]):
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('"' + " " * (j - i - 1) + '"')
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def includes(path):
    """Yields (line number, '<' or '"', name) for each #include of path."""
    with open(path) as f:
        for no, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if m:
                yield no, m.group(1), m.group(2)


# (a) and (e): what src/ includes and #ifs on.
for path in sources("src"):
    text = open(path).read()
    code = strip_comments(text)
    uses_stdio = False
    for no, kind, name in includes(path):
        if kind == "<":
            if name not in PORTABLE:
                problem("a", f"{path}:{no}: includes <{name}>, not a portable C header")
            uses_stdio |= name == "stdio.h"
        elif not (os.path.exists(os.path.join("src", name)) or name == "mmapio.h"):
            problem("a", f'{path}:{no}: includes "{name}", which is not a header of src/')
    if uses_stdio:
        for no, line in enumerate(code.splitlines(), 1):
            for m in STDIO_CALLS.finditer(line):
                if m.group(1) not in STDIO_OK:
                    problem("a", f"{path}:{no}: calls {m.group(1)}() of <stdio.h>; only "
                                 "snprintf is for the core")
    for no, line in enumerate(code.splitlines(), 1):
        m = PLATFORM_IF.match(line)
        if m:
            problem("e", f"{path}:{no}: #{m.group(1)} on {m.group(2)}: platform conditionals "
                         "belong in fallback/")

# (c): include cycles among the files of one folder.
def cycles(graph):
    """Returns the strongly connected components with more than one node,
    and the nodes with an edge to themselves (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


for folder in FOLDERS:
    graph = {}
    for path in sources(folder):
        for _, kind, name in includes(path):
            target = os.path.normpath(os.path.join(folder, name))
            if kind == '"' and os.path.dirname(target) == folder and os.path.exists(target):
                graph.setdefault(path, set()).add(target)
    for comp in cycles(graph):
        problem("c", "include cycle in " + folder + "/: " + " -> ".join(comp + comp[:1]))

# The objects: member -> (folder, source), defined and undefined symbols.
NM = re.compile(r"^(?:[^:]*:)?(?P<member>[^:]+\.o):\s*(?:[0-9a-fA-F]+)?\s+(?P<type>[A-Za-z])\s+(?P<sym>\S+)$")
defined, undefined = {}, {}
with open(sys.argv[1]) as f:
    for line in f:
        m = NM.match(line.rstrip("\n"))
        if not m:
            continue
        member = os.path.basename(m.group("member"))
        folder, _, rest = member.partition("_")
        obj = f"{folder}/{rest[:-2] if rest.endswith('.o') else rest}"
        if m.group("type") == "U":
            undefined.setdefault(obj, set()).add(m.group("sym"))
        elif m.group("type").isupper():
            defined.setdefault(obj, set()).add(m.group("sym"))
        else:
            defined.setdefault(obj, set())

objs = sorted(set(defined) | set(undefined))
if not objs:
    problem("b", f"no object found in the archive's symbol table ({sys.argv[1]})")

# (b): src/ objects reach other folders through the contracts only.
declared = set()
for header in CONTRACTS:
    declared |= set(re.findall(r"\bmmapio__\w+", strip_comments(open(header).read())))
src_defined = set()
for obj in objs:
    if obj.startswith("src/"):
        src_defined |= defined.get(obj, set())
owner = {}
for obj in objs:
    for sym in defined.get(obj, ()):
        owner.setdefault(sym, obj)
for obj in objs:
    if not obj.startswith("src/"):
        continue
    for sym in sorted(undefined.get(obj, ())):
        if sym.startswith("mmapio__") and sym not in src_defined and sym not in declared:
            where = owner.get(sym, "no object")
            problem("b", f"{obj} uses {sym} (defined in {where}), which is neither a src/ "
                         "symbol nor declared in src/platform.h or src/engine.h")

# (d): call cycles among the objects of one folder.
by_folder = {}
for obj in objs:
    by_folder.setdefault(obj.split("/")[0], []).append(obj)
for folder, members in sorted(by_folder.items()):
    graph, why = {}, {}
    for a in members:
        for b in members:
            if a == b:
                continue
            shared = sorted(undefined.get(a, set()) & defined.get(b, set()))
            if shared:
                graph.setdefault(a, set()).add(b)
                why[(a, b)] = shared
    for comp in cycles(graph):
        edges = []
        for a in comp:
            for b in comp:
                if (a, b) in why:
                    syms = why[(a, b)]
                    more = f" and {len(syms) - 2} more" if len(syms) > 2 else ""
                    edges.append(f"{a} -> {b} ({', '.join(syms[:2])}{more})")
        problem("d", f"call cycle in {folder}/ among {', '.join(comp)}: " + "; ".join(edges))

for p in problems:
    print(p)
print(f"check_layers: {len(problems)} problem{'s' if len(problems) != 1 else ''}"
      + (" (a: includes, b: symbols, c: include cycles, d: call cycles, e: platform #ifs)"
         if problems else ": src/ includes and symbols are layered, no cycles"))
sys.exit(1 if problems else 0)
EOF
exit $status
