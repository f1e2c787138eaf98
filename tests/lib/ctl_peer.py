# SPDX-License-Identifier: MIT
"""ctl_peer - plays etmemd-supervisor on a stage's --control-fd, for tests.

The wire format is the one in lib/ctl.h: a 16-byte little-endian header
(u16 type, u16 flags, u32 len, u32 task, u32 seq) then `len` payload bytes.
The stage says HELLO (u32 version + its name) once it is ready; a request's
reply echoes the request's seq and is TEXT/DATA frames ended by END
(payload u32 count) or a single ERROR (payload text).

As a module (PYTHONPATH=tests/lib):

    from ctl_peer import Peer, STATS, text_of
    p = Peer(["etmem-pmu", "-p", pid, "--text"], out="/tmp/out")
    p.expect_hello("etmem-pmu")
    frames = p.request(STATS)          # [(type, seq, payload), ...]
    print(text_of(frames))
    p.send_stop()
    print("rc", p.wait(5))

Every protocol fault raises ProtocolError naming what was expected and what
came, so an uncaught one ends the test script with status 1 and a message.
Reads time out (default 10 s) so a stage that never answers fails the test
instead of hanging bats.

As a script, for quick manual pokes at a stage:

    python3 tests/lib/ctl_peer.py [--name NAME] [--request TYPE]...
        [--sleep SECONDS] [--stop] [--out FILE] -- COMMAND ARGS...

prints every reply frame as "TYPE SEQ payload" (END: its count) and, last,
"rc N"; COMMAND gets "--control-fd N" appended.
"""

import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

HDR = struct.Struct("<HHIII")
assert HDR.size == 16  # CTL_HDR_SIZE
VERSION = 1            # CTL_VERSION

HELLO = 100
VERSION_MSG = 101
STATS = 200
SHOW_TASK_PAGES = 201
SHOW_HOST_PAGES = 202
PLUGIN_CMD = 203
RELOAD = 204
STOP = 205
TEXT = 300
DATA = 301
END = 302
ERROR = 303

NAMES = {HELLO: "HELLO", VERSION_MSG: "VERSION", STATS: "STATS",
         SHOW_TASK_PAGES: "SHOW_TASK_PAGES", SHOW_HOST_PAGES: "SHOW_HOST_PAGES",
         PLUGIN_CMD: "PLUGIN_CMD", RELOAD: "RELOAD", STOP: "STOP",
         TEXT: "TEXT", DATA: "DATA", END: "END", ERROR: "ERROR"}


class ProtocolError(Exception):
    """The stage broke the protocol, closed the fd, or did not answer."""


def type_name(t):
    return NAMES.get(t, str(t))


def text_of(frames):
    """The concatenated TEXT payloads of a reply, decoded."""
    return b"".join(d for t, _, d in frames if t == TEXT).decode()


class Peer:
    """One stage process with the supervisor's end of its control socketpair.

    argv gets "--control-fd N" appended. stdout goes to the file `out`
    (when None, a temporary file the caller removes; see .out). stdin=True gives a pipe that
    write_stdin()/close_stdin() feed; otherwise stdin is inherited.
    """

    def __init__(self, argv, out=None, stdin=False, timeout=10.0):
        self.timeout = timeout
        self.sock, child = socket.socketpair()
        if out is None:
            fd, out = tempfile.mkstemp(prefix="ctl_peer.")
            os.close(fd)
        self.out = out
        self._outf = open(out, "wb")
        self.seq = 0
        try:
            self.proc = subprocess.Popen(
                list(argv) + ["--control-fd", str(child.fileno())],
                stdin=subprocess.PIPE if stdin else None,
                stdout=self._outf, pass_fds=[child.fileno()])
        finally:
            # Only the stage may hold the other end, or EOF never comes.
            child.close()
            self._outf.close()

    # -- frames --------------------------------------------------------------

    def _recvall(self, n, what):
        buf = b""
        self.sock.settimeout(self.timeout)
        while len(buf) < n:
            try:
                c = self.sock.recv(n - len(buf))
            except socket.timeout:
                raise ProtocolError("waited %gs for %s from the stage (have %d of %d bytes)"
                                    % (self.timeout, what, len(buf), n)) from None
            if not c:
                raise ProtocolError("control fd closed while waiting for %s" % what)
            buf += c
        return buf

    def recv(self):
        """One frame as (type, seq, payload)."""
        t, _flags, n, _task, seq = HDR.unpack(self._recvall(HDR.size, "a frame header"))
        return t, seq, self._recvall(n, "%d payload bytes of %s" % (n, type_name(t)))

    def send(self, t, payload=b"", seq=0, task=0):
        if isinstance(payload, str):
            payload = payload.encode()
        self.sock.sendall(HDR.pack(t, 0, len(payload), task, seq) + payload)

    # -- the supervisor's side of the conversation -----------------------------

    def expect_hello(self, name=None):
        """Wait for HELLO; check the version and, if given, the stage name."""
        t, _, data = self.recv()
        if t != HELLO:
            raise ProtocolError("expected HELLO, got %s %r" % (type_name(t), data))
        if len(data) < 4 or struct.unpack("<I", data[:4])[0] != VERSION:
            raise ProtocolError("HELLO with version %r, expected %d" % (data[:4], VERSION))
        if name is not None and data[4:] != name.encode():
            raise ProtocolError("HELLO from %r, expected %r" % (data[4:], name))
        return data[4:].decode()

    def request(self, t, payload=b"", seq=None, other_seq="fail"):
        """Send request `t` and return reply(seq): its frames, END/ERROR last.

        seq defaults to one more than the last one used."""
        if seq is None:
            seq = self.seq + 1
        self.seq = seq
        self.send(t, payload, seq)
        return self.reply(seq, other_seq)

    def reply(self, seq, other_seq="fail"):
        """Read the reply to the request sent with `seq` (for a test that
        must do something between sending a request and reading its reply).

        A frame with another seq is a ProtocolError (other_seq="fail") or
        dropped ("skip"). Only TEXT and DATA may come before END/ERROR.
        """
        frames = []
        while True:
            ft, fseq, data = self.recv()
            if fseq != seq:
                if other_seq == "skip":
                    continue
                raise ProtocolError("reply to seq %d came with seq %d (%s)"
                                    % (seq, fseq, type_name(ft)))
            frames.append((ft, fseq, data))
            if ft in (END, ERROR):
                return frames
            if ft not in (TEXT, DATA):
                raise ProtocolError("%s in the reply to seq %d" % (type_name(ft), seq))

    def send_stop(self, seq=None):
        """STOP: the stage finishes its period, writes END and exits 0."""
        if seq is None:
            seq = self.seq + 1
        self.seq = seq
        self.send(STOP, b"", seq)

    def wait(self, timeout=None):
        """The stage's exit status (negative: killed by that signal).

        On timeout the stage is killed and ProtocolError raised."""
        if timeout is None:
            timeout = self.timeout
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise ProtocolError("stage still running after %gs; killed" % timeout) from None

    # -- the stage's other ends ------------------------------------------------

    def write_stdin(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def close_stdin(self):
        self.proc.stdin.close()

    def wait_output(self, prefix, timeout=None):
        """Wait until a line of stdout starts with `prefix`; return that line."""
        if isinstance(prefix, str):
            prefix = prefix.encode()
        limit = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            with open(self.out, "rb") as f:
                for line in f:
                    # Only whole lines: the stage may be mid-write.
                    if line.endswith(b"\n") and line.startswith(prefix):
                        return line
            if self.proc.poll() is not None:
                raise ProtocolError("stage exited (%d) before a %r line"
                                    % (self.proc.returncode, prefix))
            if time.monotonic() > limit:
                raise ProtocolError("no %r line on stdout in time" % prefix)
            time.sleep(0.02)


def _type_arg(s):
    for k, v in NAMES.items():
        if v == s.upper():
            return k
    return int(s)


def main(args):
    import argparse
    ap = argparse.ArgumentParser(
        description="Run COMMAND with --control-fd and play the supervisor.")
    ap.add_argument("--name", help="stage name HELLO must carry")
    ap.add_argument("--request", action="append", default=[], type=_type_arg,
                    metavar="TYPE", help="send this request (name or number)")
    ap.add_argument("--sleep", type=float, default=0.0,
                    help="seconds to wait after HELLO before the requests")
    ap.add_argument("--stop", action="store_true", help="send STOP at the end")
    ap.add_argument("--out", help="stdout of the stage (default: a temp file)")
    ap.add_argument("command", nargs="+")
    o = ap.parse_args(args)
    p = Peer(o.command, out=o.out)
    p.expect_hello(o.name)
    time.sleep(o.sleep)
    try:
        for t in o.request:
            for ft, seq, data in p.request(t):
                if ft == END and len(data) == 4:
                    data = b"%d" % struct.unpack("<I", data)[0]
                print(type_name(ft), seq, data.decode(errors="replace").rstrip("\n"))
        if o.stop:
            p.send_stop()
        print("rc", p.wait())
    finally:
        if o.out is None:
            os.unlink(p.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
