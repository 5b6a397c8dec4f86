"""Takes TensorFlow's C library out of a TensorFlow wheel (a zip): the two shared
libraries, the headers that the given roots include (followed transitively, so
14 files rather than the wheel's 13,000), and the CUDA requirements of its
`and-cuda` extra. Run by apps/native/install.ts with the Python whose pip got
the wheel. Prints one JSON line.

    python3 extract_wheel.py WHEEL DEST_DIR HEADER...
"""
import json
import os
import re
import shutil
import sys
import zipfile

LIBS = ("libtensorflow_cc.so.2", "libtensorflow_framework.so.2")
INCLUDE = "tensorflow/include/"
LOCAL_INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def header_closure(wheel, roots):
    names = set(wheel.namelist())
    todo, seen = list(roots), set()
    while todo:
        header = todo.pop()
        if header in seen:
            continue
        if INCLUDE + header not in names:
            raise SystemExit(f"the wheel has no {INCLUDE}{header}")
        seen.add(header)
        todo.extend(LOCAL_INCLUDE.findall(wheel.read(INCLUDE + header).decode("utf-8")))
    return sorted(seen)


def metadata(wheel):
    name = next(n for n in wheel.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n))
    text = wheel.read(name).decode("utf-8")
    field = lambda key: re.search(rf"^{key}: (.+)$", text, re.M).group(1).strip()
    cuda = [m.group(1).strip() for m in re.finditer(r'^Requires-Dist: ([^;\n]+);\s*extra == "and-cuda"\s*$', text, re.M)]
    return field("Name"), field("Version"), cuda


def main():
    wheel_path, dest, roots = sys.argv[1], sys.argv[2], sys.argv[3:]
    with zipfile.ZipFile(wheel_path) as wheel:
        name, version, cuda = metadata(wheel)
        headers = header_closure(wheel, roots)
        members = [f"tensorflow/{lib}" for lib in LIBS] + [INCLUDE + h for h in headers]
        for member in members:
            target = os.path.join(dest, member)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            # Streamed: the C++ library alone is about 800 MB.
            with wheel.open(member) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
    print(json.dumps({"name": name, "version": version, "libs": list(LIBS), "headers": headers, "cuda": cuda}))


if __name__ == "__main__":
    main()
