#!/usr/bin/python3
"""End-to-end tests of `evoopt data list` and `evoopt data fetch` (issue 13,
part 1), with no network: a local HTTP server on 127.0.0.1 (port 0) serves

  /ok/...       small files built here (a tiny MNIST-like set of IDX .gz
                files, a tiny CIFAR-10-like .tar.gz) and, under /ok/real/,
                the real data folder (../shared/data, its tiny Shakespeare
                and MNIST files, checked against the checksums built into
                evoopt);
  /corrupt/...  the same files with one byte of their contents changed
                (an archive: one byte of the file);
  /truncate/... a Content-Length for the whole file, half of it, then the
                connection closed; /cut/... half, without a length;
  /missing/...  404 for everything;
  /stall/...    headers and half the file, then silence;
  /silent/...   no answer at all.

The test's own manifests give checksums computed here with hashlib, so the
program's SHA-256 and MD5 are checked against an independent
implementation. Usage: test_data_fetch.py EVOOPT DATA_DIR DOWNLOAD UNPACK
(DOWNLOAD, UNPACK: 1 when evoopt was built with libcurl, libarchive).
Standard library only. Exit 0 pass, 1 fail.
"""
import gzip
import hashlib
import http.server
import io
import json
import os
import pty
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

sys.dont_write_bytecode = True

EVOOPT = DATA = None
FAILURES = []
STOP = threading.Event()


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what)
    return cond


# --- the files served ------------------------------------------------------

def idx(magic, dims, payload):
    head = magic.to_bytes(4, "big") + b"".join(
        d.to_bytes(4, "big") for d in dims)
    return head + payload


def build_files(root):
    """Tiny MNIST-like IDX files (gzip) and a CIFAR-10-like archive under
    @root (laid out as a mirror); returns {mirror path: contents} of what
    the library reads (the inflated IDX bytes, the archive's members)."""
    contents = {}
    os.makedirs(os.path.join(root, "mnist"))
    sets = {"train": 3, "t10k": 2}
    for part, n in sets.items():
        images = idx(0x803, [n, 28, 28], bytes((i * 7) % 256
                                                for i in range(n * 784)))
        labels = idx(0x801, [n], bytes(i % 10 for i in range(n)))
        for kind, data in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"mnist/{part}-{kind}-ubyte.gz"
            with open(os.path.join(root, name), "wb") as f:
                f.write(gzip.compress(data, mtime=0))
            contents[name] = data
    os.makedirs(os.path.join(root, "cifar10"))
    members = {}
    for name, n in (("test_batch.bin", 2), ("data_batch_1.bin", 3),
                    ("data_batch_2.bin", 1)):
        members[name] = b"".join(bytes([r % 10]) + bytes(
            (r + i) % 256 for i in range(3072)) for r in range(n))
    members["readme.html"] = b"<p>not extracted</p>"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo("cifar-10-batches-bin/" + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with open(os.path.join(root, "cifar10/cifar-10-binary.tar.gz"), "wb") as f:
        f.write(buf.getvalue())
    for name, data in members.items():
        contents["cifar10/" + name] = data
    return contents


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def manifest(root, contents, bad_member_sum=False, archive_sums=True):
    """The test's manifest for the files of build_files: checksums from
    hashlib. @bad_member_sum: a wrong SHA-256 for one archive member;
    @archive_sums False: no checksum of the archive itself."""
    with open(os.path.join(root, "cifar10/cifar-10-binary.tar.gz"), "rb") as f:
        tgz = f.read()
    mnist = {"name": "mnist", "folders": ["mnist"], "downloads": [
        {"path": name, "files": [{"name": name.split("/")[1],
                                  "size": len(contents[name]),
                                  "sha256": sha256(contents[name])}]}
        for name in sorted(k for k in contents if k.startswith("mnist/"))]}
    files = []
    for name in ("test_batch.bin", "data_batch_1.bin", "data_batch_2.bin"):
        data = contents["cifar10/" + name]
        entry = {"name": name, "member": "cifar-10-batches-bin/" + name,
                 "size": len(data)}
        if name != "data_batch_2.bin" or not archive_sums:
            entry["sha256"] = sha256(data)
        if bad_member_sum and name == "data_batch_1.bin":
            entry["sha256"] = sha256(data + b"x")
        files.append(entry)
    download = {"path": "cifar10/cifar-10-binary.tar.gz", "archive": True,
                "files": files}
    if archive_sums:
        download.update(size=len(tgz), sha256=sha256(tgz),
                        md5=hashlib.md5(tgz).hexdigest())
    cifar = {"name": "cifar10", "folders": ["cifar10", "cifar-10-batches-bin"],
             "downloads": [download]}
    return {"evoopt_data_manifest": 1, "sets": [mnist, cifar]}


# --- the server ---------------------------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    fake_root = real_root = None
    requests = []

    def log_message(self, *args):
        pass

    def body(self, rest):
        if rest.startswith("real/") and self.real_root:
            path = os.path.join(self.real_root, rest[5:])
        else:
            path = os.path.join(self.fake_root, rest)
        if ".." in rest or not os.path.isfile(path):
            return None
        with open(path, "rb") as f:
            return f.read()

    def do_GET(self):
        Handler.requests.append(self.path)
        mode, _, rest = self.path.lstrip("/").partition("/")
        data = self.body(rest)
        if mode == "silent":
            STOP.wait(60)
            return
        if data is None or mode == "missing":
            self.send_error(404)
            return
        if mode == "corrupt":  # one byte of the contents changed
            gz = rest.endswith(".gz") and not rest.endswith(".tar.gz")
            raw = bytearray(gzip.decompress(data) if gz else data)
            raw[len(raw) // 2] ^= 0x55
            data = gzip.compress(bytes(raw), mtime=0) if gz else bytes(raw)
        self.send_response(200)
        if mode != "cut":
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if mode in ("truncate", "cut", "stall"):
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            if mode == "stall":
                STOP.wait(60)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(data)


def start_server(fake_root, real_root):
    Handler.fake_root, Handler.real_root = fake_root, real_root
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# --- running evoopt -------------------------------------------------------

def env_for(home, **extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("EVOOPT_DATA_PATH", "XDG_DATA_HOME")}
    env["HOME"] = home
    env["XDG_DATA_HOME"] = os.path.join(home, "xdg")
    env.update(extra)
    return env


def run(env, *args, timeout=60):
    t0 = time.monotonic()
    p = subprocess.run([EVOOPT, *args], capture_output=True, text=True,
                       env=env, timeout=timeout)
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


def tree(folder):
    """Every file under @folder, relative, with its bytes."""
    out = {}
    for d, _, files in os.walk(folder):
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, folder)] = fh.read()
    return out


def leftovers(root):
    return [n for n in (os.listdir(root) if os.path.isdir(root) else [])
            if n.startswith(".evoopt-fetch-")]


def new_home(tmp, name):
    home = os.path.join(tmp, name)
    os.makedirs(home)
    return home, os.path.join(home, "xdg", "evoopt")


# --- the cases -----------------------------------------------------------------

def test_usage(tmp, url):
    home, _ = new_home(tmp, "usage")
    env = env_for(home)
    rc, out, _, _ = run(env, "help", "data")
    check(rc == 0 and "evoopt data fetch" in out and "--mirror" in out,
          f"help data: {rc} {out[:200]}")
    for args, what in ((["data"], "'list' or 'fetch'"),
                       (["data", "frobnicate"], "unknown"),
                       (["data", "fetch"], "needs data set names"),
                       (["data", "fetch", "imagenet"], "unknown data set"),
                       (["data", "fetch", "mnist", "--mirror", "ftp://x"],
                        "--mirror"),
                       (["data", "fetch", "mnist", "--timeout", "0"],
                        "timeout"),
                       (["data", "list", "mnist"], "no arguments")):
        rc, _, err, _ = run(env, *args)
        check(rc == 2 and what in err, f"{args}: exit {rc}, {err!r}")
    # Bad manifests: exit 1, the message names what is wrong.
    bad = {
        "not json": ("{", "manifest"),
        "no checksum": ({"evoopt_data_manifest": 1, "sets": [
            {"name": "x", "folders": ["x"], "downloads": [
                {"path": "x/a", "files": [{"name": "a", "size": 3}]}]}]},
            "no checksum covers it"),
        "dotdot": ({"evoopt_data_manifest": 1, "sets": [
            {"name": "x", "folders": ["x"], "downloads": [
                {"path": "../a", "files": [{"name": "a", "size": 3,
                                            "sha256": "0" * 64}]}]}]},
            "without '..'"),
        "slash name": ({"evoopt_data_manifest": 1, "sets": [
            {"name": "x", "folders": ["x"], "downloads": [
                {"path": "x/a", "files": [{"name": "../a", "size": 3,
                                           "sha256": "0" * 64}]}]}]},
            "no '/'"),
        "short sha": ({"evoopt_data_manifest": 1, "sets": [
            {"name": "x", "folders": ["x"], "downloads": [
                {"path": "x/a", "files": [{"name": "a", "size": 3,
                                           "sha256": "abc"}]}]}]},
            "64 hexadecimal digits"),
    }
    for what, (text, msg) in bad.items():
        path = os.path.join(tmp, "bad.json")
        with open(path, "w") as f:
            f.write(text if isinstance(text, str) else json.dumps(text))
        rc, _, err, _ = run(env, "data", "fetch", "x", "--manifest", path,
                            "--mirror", url + "/ok")
        check(rc == 1 and msg in err and "bad.json" in err,
              f"manifest {what}: exit {rc}, {err!r}")
        check(not os.path.exists(os.path.join(home, "xdg")),
              f"manifest {what}: something was written")


def test_success(tmp, url, contents, man, unpack):
    home, root = new_home(tmp, "success")
    env = env_for(home)
    names = ["mnist", "cifar10"] if unpack else ["mnist"]
    rc, out, err, _ = run(env, "data", "fetch", *names, "--manifest", man,
                          "--mirror", url + "/ok/")
    if not check(rc == 0, f"fetch: exit {rc}: {err}"):
        return
    got = tree(root)
    want = {}
    for name, data in contents.items():
        if name.startswith("mnist/"):  # kept as served: gzip
            with open(os.path.join(Handler.fake_root, name), "rb") as f:
                want[name] = f.read()
        elif unpack and name != "cifar10/readme.html":
            want[name] = data
    check(got == want, f"fetched files: {sorted(got)} vs {sorted(want)}")
    for name in want:
        if name.endswith(".gz"):
            check(gzip.decompress(got[name]) == contents[name],
                  f"{name}: contents differ")
    check("mnist: fetched 4 files into " + os.path.join(root, "mnist") in out,
          f"fetch stdout: {out!r}")
    check(leftovers(root) == [], f"staging left: {leftovers(root)}")
    check("\r" not in err, "a progress bar on a pipe")
    # Again: everything already there, nothing rewritten.
    mtimes = {n: os.stat(os.path.join(root, n)).st_mtime_ns for n in got}
    rc, out, err, _ = run(env, "data", "fetch", *names, "--manifest", man,
                          "--mirror", url + "/ok")
    check(rc == 0 and "mnist: already present in" in out,
          f"second fetch: exit {rc}: {out!r} {err!r}")
    check(all(os.stat(os.path.join(root, n)).st_mtime_ns == m
              for n, m in mtimes.items()), "second fetch rewrote files")
    # list: where, what, verified.
    rc, out, err, _ = run(env, "data", "list", "--json", "--manifest", man)
    if not check(rc == 0, f"list: exit {rc}: {err}"):
        return
    doc = json.loads(out)
    roots = [r["root"] for r in doc["search_path"]]
    check(roots == [root, "/usr/share/datasets"],
          f"search path {roots} (XDG_DATA_HOME/evoopt, then the system)")
    check(doc["download_folder"] == root, f"download folder {doc}")
    sets = {s["name"]: s for s in doc["sets"]}
    m = sets["mnist"]
    check(m["state"] == "complete" and m["verified"] is True
          and m["folder"] == os.path.join(root, "mnist")
          and m["looked_in"] == [os.path.join(root, "mnist")],
          f"list mnist: {m}")
    check(all(f["state"] == "verified" for f in m["files"]),
          f"list mnist files: {m['files']}")
    if unpack:
        c = sets["cifar10"]
        states = {f["name"]: f["state"] for f in c["files"]}
        check(states == {"test_batch.bin": "verified",
                         "data_batch_1.bin": "verified",
                         "data_batch_2.bin": "no-checksum"},
              f"list cifar10 files: {states}")
        check(c["state"] == "complete", f"list cifar10: {c}")
    # A damaged file in place: list says so and exits 1.
    path = os.path.join(root, "mnist/t10k-labels-idx1-ubyte.gz")
    os.chmod(path, 0o644)
    with open(path, "wb") as f:
        f.write(gzip.compress(b"\0\0\x08\x01\0\0\0\x02\x09\x09", mtime=0))
    rc, out, _, _ = run(env, "data", "list", "--json", "--manifest", man)
    doc = json.loads(out)
    m = {s["name"]: s for s in doc["sets"]}["mnist"]
    states = {f["name"]: f["state"] for f in m["files"]}
    check(rc == 1 and m["state"] == "damaged"
          and states["t10k-labels-idx1-ubyte.gz"] == "mismatch",
          f"list with a damaged file: exit {rc}, {m}")
    rc, out, _, _ = run(env, "data", "list", "--no-verify", "--manifest", man)
    check(rc == 0 and "not verified" in out, f"list --no-verify: {rc} {out}")


def failing_fetch(tmp, url, man, mode, set_name, expect, name, extra=(),
                  timeout=60):
    home, root = new_home(tmp, name)
    env = env_for(home)
    rc, out, err, secs = run(env, "data", "fetch", set_name, "--manifest",
                             man, "--mirror", f"{url}/{mode}", *extra,
                             timeout=timeout)
    check(rc == 1, f"{name}: exit {rc} (want 1): {err}")
    check(expect in err, f"{name}: {expect!r} not in {err!r}")
    check("nothing was kept" in err, f"{name}: message {err!r}")
    check(tree(root) == {}, f"{name}: files left: {sorted(tree(root))}")
    check(not os.path.exists(root), f"{name}: '{root}' was left behind")
    return secs


def test_failures(tmp, url, man, bad_member_man, unpack):
    failing_fetch(tmp, url, man, "corrupt", "mnist", "checksum mismatch",
                  "corrupt-idx")
    failing_fetch(tmp, url, man, "truncate", "mnist", "cut short",
                  "truncated")
    failing_fetch(tmp, url, man, "cut", "mnist", "cut short", "cut")
    failing_fetch(tmp, url, man, "missing", "mnist", "HTTP 404", "404")
    secs = failing_fetch(tmp, url, man, "stall", "mnist", "timed out",
                         "stall", extra=("--timeout", "2"))
    print(f"stall: gave up after {secs:.1f} s with --timeout 2")
    check(secs < 20, f"stall: gave up after {secs:.1f} s with --timeout 2")
    secs = failing_fetch(tmp, url, man, "silent", "mnist", "timed out",
                         "silent", extra=("--timeout", "2"))
    print(f"silent: gave up after {secs:.1f} s with --timeout 2")
    check(secs < 20, f"silent: gave up after {secs:.1f} s with --timeout 2")
    if unpack:
        failing_fetch(tmp, url, man, "corrupt", "cifar10",
                      "checksum mismatch", "corrupt-archive")
        failing_fetch(tmp, url, bad_member_man, "ok", "cifar10",
                      "data_batch_1.bin", "bad-member")


def test_fallback(tmp, url, man, unpack):
    """Without --mirror, a download's URLs are tried in order: a 404 and a
    corrupt copy are reported, the third copy is kept."""
    with open(man) as f:
        doc = json.load(f)
    for st in doc["sets"]:
        for d in st["downloads"]:
            d["urls"] = [f"{url}/{mode}/{d['path']}"
                         for mode in ("missing", "corrupt", "ok")]
    path = os.path.join(tmp, "fallback.json")
    with open(path, "w") as f:
        json.dump(doc, f)
    home, root = new_home(tmp, "fallback")
    names = ["mnist", "cifar10"] if unpack else ["mnist"]
    rc, out, err, _ = run(env_for(home), "data", "fetch", *names,
                          "--manifest", path)
    check(rc == 0, f"fallback: exit {rc}: {err}")
    check(err.count("HTTP 404") == 4 + unpack
          and err.count("checksum mismatch") == 4 + unpack,
          f"fallback: each failed URL reported: {err!r}")
    check(len(tree(os.path.join(root, "mnist"))) == 4
          and leftovers(root) == [], f"fallback: files {sorted(tree(root))}")


def test_existing(tmp, url, contents, man):
    """A user's files are never replaced; a verified one counts as there."""
    home, root = new_home(tmp, "existing")
    env = env_for(home)
    mnist = os.path.join(root, "mnist")
    os.makedirs(mnist)
    mine = os.path.join(mnist, "train-labels-idx1-ubyte.gz")
    with open(mine, "wb") as f:
        f.write(b"my own file")
    rc, out, err, _ = run(env, "data", "fetch", "mnist", "--manifest", man,
                          "--mirror", url + "/ok")
    check(rc == 1 and "left as it is" in err,
          f"existing wrong file: exit {rc}: {err!r}")
    with open(mine, "rb") as f:
        check(f.read() == b"my own file", "the user's file was changed")
    check(sorted(os.listdir(mnist)) == ["train-labels-idx1-ubyte.gz"],
          f"files fetched beside a wrong one: {os.listdir(mnist)}")
    os.unlink(mine)
    # The right contents, uncompressed (the library reads either): kept,
    # and the other three fetched.
    plain = os.path.join(mnist, "train-labels-idx1-ubyte")
    with open(plain, "wb") as f:
        f.write(contents["mnist/train-labels-idx1-ubyte.gz"])
    rc, out, err, _ = run(env, "data", "fetch", "mnist", "--manifest", man,
                          "--mirror", url + "/ok")
    check(rc == 0 and "fetched 3 files" in out and "already there" in out,
          f"existing right file: exit {rc}: {out!r} {err!r}")
    check(sorted(os.listdir(mnist)) == sorted(
        ["train-labels-idx1-ubyte", "train-images-idx3-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]),
        f"files: {sorted(os.listdir(mnist))}")
    # --dir: another root, and a note that the library does not search it.
    other = os.path.join(tmp, "elsewhere")
    rc, out, err, _ = run(env, "data", "fetch", "mnist", "--manifest", man,
                          "--mirror", url + "/ok", "--dir", other)
    check(rc == 0 and os.path.isfile(
        os.path.join(other, "mnist/t10k-labels-idx1-ubyte.gz"))
        and "not in the library's search path" in err,
        f"--dir: exit {rc}: {out!r} {err!r}")


def test_interrupt(tmp, url, man):
    """Ctrl-C during a download: exit 130, nothing kept. SIGKILL: the
    staging folder stays, hidden, and the next fetch removes it."""
    for sig, name in ((signal.SIGINT, "sigint"), (signal.SIGKILL, "sigkill")):
        home, root = new_home(tmp, name)
        env = env_for(home)
        before = len(Handler.requests)
        p = subprocess.Popen([EVOOPT, "data", "fetch", "mnist", "--manifest",
                              man, "--mirror", url + "/stall",
                              "--timeout", "60"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        t0 = time.monotonic()
        while len(Handler.requests) == before and time.monotonic() - t0 < 20:
            time.sleep(0.05)
        time.sleep(0.3)
        p.send_signal(sig)
        out, err = p.communicate(timeout=30)
        if sig == signal.SIGINT:
            check(p.returncode == 130 and "interrupted" in err
                  and "nothing" in err, f"SIGINT: {p.returncode} {err!r}")
            check(tree(root) == {} and leftovers(root) == [],
                  f"SIGINT: left {sorted(tree(root))} {leftovers(root)}")
        else:
            left = leftovers(root)
            check(len(left) == 1, f"SIGKILL: staging {left}")
            check(not os.path.exists(os.path.join(root, "mnist")),
                  "SIGKILL: a data set folder appeared")
            rc, out, err, _ = run(env, "data", "fetch", "mnist", "--manifest",
                                  man, "--mirror", url + "/ok")
            check(rc == 0 and "left by an interrupted fetch" in err
                  and leftovers(root) == [],
                  f"after SIGKILL: {rc} {err!r} {leftovers(root)}")


def test_progress_bar(tmp, url, man):
    home, root = new_home(tmp, "tty")
    env = env_for(home)
    try:
        master, slave = pty.openpty()
    except OSError as e:
        print("SKIP part: no pseudo-terminal:", e)
        return
    p = subprocess.Popen([EVOOPT, "data", "fetch", "mnist", "--manifest", man,
                          "--mirror", url + "/ok"], env=env,
                         stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            b = os.read(master, 4096)
        except OSError:
            break
        if not b:
            break
        chunks.append(b)
    p.wait(timeout=60)
    os.close(master)
    err = b"".join(chunks).decode(errors="replace")
    check(p.returncode == 0 and "\r[" in err and "ETA" in err,
          f"progress bar on a terminal: {p.returncode} {err[:300]!r}")


def test_real(tmp, url, data):
    """Real files from the data folder through the local server (and a
    file:// mirror), checked against the checksums built into evoopt; the
    library then finds MNIST in $XDG_DATA_HOME/evoopt."""
    home, root = new_home(tmp, "real")
    env = env_for(home)
    real = os.path.join(data, "tinyshakespeare", "input.txt")
    if not os.path.isfile(real):
        print("SKIP part: no", real)
        return
    rc, out, err, _ = run(env, "data", "fetch", "shakespeare_char",
                          "--mirror", url + "/ok/real")
    check(rc == 0 and "fetched 1 file" in out, f"real: {rc} {err!r}")
    with open(real, "rb") as a, open(
            os.path.join(root, "tinyshakespeare/input.txt"), "rb") as b:
        check(a.read() == b.read(), "real: input.txt differs")
    # Served with one byte changed: the built-in SHA-256 catches it.
    home2, root2 = new_home(tmp, "real-corrupt")
    rc, _, err, _ = run(env_for(home2), "data", "fetch", "shakespeare_char",
                        "--mirror", url + "/corrupt/real")
    check(rc == 1 and "checksum mismatch" in err and "nothing was kept" in err
          and tree(root2) == {}, f"real corrupt: {rc} {err!r}")
    # A folder as the mirror, no server.
    home3, root3 = new_home(tmp, "file-mirror")
    rc, out, err, _ = run(env_for(home3), "data", "fetch", "shakespeare_char",
                          "--mirror", "file://" + os.path.abspath(data))
    check(rc == 0 and os.path.isfile(
        os.path.join(root3, "tinyshakespeare/input.txt")),
        f"file:// mirror: {rc} {err!r}")
    if not os.path.isdir(os.path.join(data, "mnist")):
        print("SKIP part: no MNIST in", data)
        return
    rc, out, err, _ = run(env, "data", "fetch", "mnist", "--mirror",
                          url + "/ok/real", timeout=120)
    if not check(rc == 0, f"real mnist: {rc} {err!r}"):
        return
    for name in os.listdir(os.path.join(data, "mnist")):
        with open(os.path.join(data, "mnist", name), "rb") as a, open(
                os.path.join(root, "mnist", name), "rb") as b:
            check(a.read() == b.read(), f"real: mnist/{name} differs")
    # The library searches $XDG_DATA_HOME/evoopt: an incomplete copy there
    # is the one it reads (and names). Training on the fetched copy would
    # show the same at a minute's cost under the sanitizers; its files are
    # byte for byte those the other tests train on.
    home4, root4 = new_home(tmp, "broken")
    os.makedirs(os.path.join(root4, "mnist"))
    with open(os.path.join(root4, "mnist", "train-images-idx3-ubyte"),
              "wb") as f:
        f.write(b"\0\0\x08\x01\0\0\0\x00")
    rc, _, err, _ = run(env_for(home4), "eval", "adam", "--tasks", "mnist",
                        "--steps", "2", "--seeds", "1")
    check(rc == 1 and f"'{os.path.join(root4, 'mnist')}' has no file" in err,
          f"library reads XDG_DATA_HOME/evoopt: {rc} {err!r}")
    first = os.path.join(tmp, "first")
    os.makedirs(os.path.join(first, "mnist"))
    with open(os.path.join(first, "mnist", "t10k-labels-idx1-ubyte"),
              "wb") as f:
        f.write(b"\0\0\x08\x01\0\0\0\x01\x07")
    env_first = dict(env, EVOOPT_DATA_PATH=first)
    rc, out, err, _ = run(env_first, "data", "list", "--json")
    sets = {s["name"]: s for s in json.loads(out)["sets"]}
    want = [os.path.join(first, "mnist")]
    check(sets["mnist"]["folder"] == want[0]
          and sets["mnist"]["looked_in"] == want
          and sets["mnist"]["state"] == "damaged",
          f"list with EVOOPT_DATA_PATH first: {sets['mnist']}")
    looked = sets["cifar10"]["looked_in"]
    check(looked[:4] == [os.path.join(first, "cifar10"),
                         os.path.join(first, "cifar-10-batches-bin"),
                         os.path.join(root, "cifar10"),
                         os.path.join(root, "cifar-10-batches-bin")],
          f"cifar10 looked in {looked}")
    # ... and the library reads the same folder first (and fails on it).
    rc, _, err, _ = run(env_first, "eval", "adam", "--tasks", "mnist",
                        "--steps", "2", "--seeds", "1")
    check(rc == 1 and os.path.join(first, "mnist") in err,
          f"library order: {rc} {err!r}")


def test_no_download(tmp):
    home, root = new_home(tmp, "nodl")
    rc, _, err, _ = run(env_for(home), "data", "fetch", "mnist")
    check(rc == 1 and "built without download support" in err,
          f"no libcurl: {rc} {err!r}")
    rc, out, _, _ = run(env_for(home), "data", "list", "--no-verify")
    check(rc == 0 and "mnist" in out, f"list without libcurl: {rc}")


def main():
    global EVOOPT, DATA
    if len(sys.argv) != 5:
        print(__doc__)
        return 2
    EVOOPT, DATA = os.path.abspath(sys.argv[1]), sys.argv[2]
    download, unpack = sys.argv[3] == "1", sys.argv[4] == "1"
    tmp = tempfile.mkdtemp(prefix="evoopt-data-")
    t0 = time.monotonic()
    server = None
    try:
        if not download:
            test_no_download(tmp)
        else:
            fake = os.path.join(tmp, "served")
            contents = build_files(fake)
            man = os.path.join(tmp, "manifest.json")
            with open(man, "w") as f:
                json.dump(manifest(fake, contents), f)
            bad_member = os.path.join(tmp, "bad-member.json")
            with open(bad_member, "w") as f:
                json.dump(manifest(fake, contents, bad_member_sum=True,
                                   archive_sums=False), f)
            server, url = start_server(fake, DATA)
            for name, case in (
                    ("usage", lambda: test_usage(tmp, url)),
                    ("success", lambda: test_success(tmp, url, contents, man,
                                                     unpack)),
                    ("failures", lambda: test_failures(tmp, url, man,
                                                       bad_member, unpack)),
                    ("fallback", lambda: test_fallback(tmp, url, man,
                                                       unpack)),
                    ("existing", lambda: test_existing(tmp, url, contents,
                                                       man)),
                    ("interrupt", lambda: test_interrupt(tmp, url, man)),
                    ("progress bar", lambda: test_progress_bar(tmp, url,
                                                               man)),
                    ("real files", lambda: test_real(tmp, url, DATA))):
                t1 = time.monotonic()
                case()
                print(f"{name}: {time.monotonic() - t1:.1f} s")
    finally:
        STOP.set()
        if server is not None:
            server.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"data fetch: {len(FAILURES)} failures, "
          f"{time.monotonic() - t0:.1f} s")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
