# Builds the hostile (and the well-formed) tar archives of tests/faults/archives.rs with Python's
# tarfile, header by header: `python3 hostile_tars.py OUT_DIR`. Each hostile archive holds a
# reviewed `run.sh` and a second member that GNU tar writes as `run.sh` (evil content) while a
# reader that skips or mis-orders the extension headers sees another name.
import io, sys, tarfile, gzip, os
out = sys.argv[1]

def rec(k, v):
    body = b" " + k.encode() + b"=" + v + b"\n"
    n = len(body)
    while True:
        s = str(n + len(str(n))).encode()
        if len(s) + n == int(s): break
        n += 1
    total = len(str(n + len(str(n)))) + len(body)
    return str(total).encode() + body

def hdr(name, typ, data=b""):
    ti = tarfile.TarInfo(name); ti.type = typ; ti.size = len(data); ti.mtime = 1; ti.mode = 0o644
    return ti, io.BytesIO(data)

def write(name, parts, fmt=tarfile.USTAR_FORMAT, trailer=b""):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for ti, f in parts:
            t.addfile(ti, f)
    with open(os.path.join(out, name), "wb") as f:
        f.write(buf.getvalue() + trailer)

reviewed = b"#!/bin/sh\necho reviewed\n"
evil = b"#!/bin/sh\necho evil\n"
f = lambda n, d: hdr(n, tarfile.REGTYPE, d)
# GNU sparse 1.0 in pax: the crate sees GNUSparseFile.0/run.sh, GNU tar writes run.sh.
sparse_map = b"1\n0\n%d\n" % len(evil)
sparse_map += b"\0" * (512 - len(sparse_map))
write("pax-sparse.tar", [f("run.sh", reviewed),
    hdr("./PaxHeaders/x", tarfile.XHDTYPE, rec("GNU.sparse.major", b"1") + rec("GNU.sparse.minor", b"0") + rec("GNU.sparse.name", b"run.sh") + rec("GNU.sparse.realsize", str(len(evil)).encode())),
    f("GNUSparseFile.0/run.sh", sparse_map + evil)])
# Two path records: the crate takes the first, GNU tar the last.
write("pax-two-paths.tar", [f("run.sh", reviewed),
    hdr("./PaxHeaders/x", tarfile.XHDTYPE, rec("path", b"docs/readme") + rec("path", b"run.sh")),
    f("placeholder", evil)])
# GNU long name and pax path: the crate takes the long name, GNU tar the pax path.
write("longname-and-pax.tar", [f("run.sh", reviewed),
    hdr("././@LongLink", tarfile.GNUTYPE_LONGNAME, b"docs/readme\0"),
    hdr("./PaxHeaders/x", tarfile.XHDTYPE, rec("path", b"run.sh")),
    f("placeholder", evil)])
# A global header with a path: GNU tar applies it to the later members.
write("global-path.tar", [f("run.sh", reviewed),
    hdr("pax_global_header", tarfile.XGLTYPE, rec("path", b"run.sh")),
    f("docs/readme", evil)])
# A NUL in a pax path: GNU tar cuts the name there.
write("pax-nul.tar", [f("run.sh", reviewed),
    hdr("./PaxHeaders/x", tarfile.XHDTYPE, rec("path", b"run.sh\0.txt")),
    f("placeholder", evil)])
# Accepted forms: pax long names, GNU long names, git's global comment.
long = "app/" + "d" * 120 + "/" + "f" * 110 + ".txt"
write("pax-long.tar", [hdr("pax_global_header", tarfile.XGLTYPE, rec("comment", b"0123abcd")), f(long, b"x"), f("run.sh", reviewed)], fmt=tarfile.PAX_FORMAT)
t = tarfile.TarInfo(long); t.size = 1; t.mtime = 1
write("gnu-long.tar", [(t, io.BytesIO(b"x")), f("run.sh", reviewed)], fmt=tarfile.GNU_FORMAT)
# Empty and trailing garbage.
open(os.path.join(out, "zero-bytes.tar.gz"), "wb").close()
write("no-members.tar", [])
with open(os.path.join(out, "no-members.tar"), "rb") as src:
    open(os.path.join(out, "no-members.tar.gz"), "wb").write(gzip.compress(src.read()))
write("garbage.tar", [f("run.sh", reviewed)], trailer=b"garbage\n")
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    t.addfile(*f("run.sh", reviewed))
open(os.path.join(out, "garbage.tar.gz"), "wb").write(gzip.compress(buf.getvalue()) + b"garbage\n")
