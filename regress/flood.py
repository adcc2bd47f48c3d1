#!/usr/bin/env python3
"""Hostile SMTP clients for the tests of smtpd's bounds.

usage: flood.py PORT sessions COUNT RCPT
       flood.py PORT noread BYTES PID [hold]
       flood.py PORT authflood USER PASSWORD BYTES PID
       flood.py PORT dribble INTERVAL TEXT [SETUP...]

sessions   open COUNT sessions at once, each taken as far as DATA
           (354) when the server lets it; print how many got there,
           how many were turned away with 421, and how many otherwise
           failed; then close them all
noread     send BYTES of pipelined NOOPs without reading a reply, until
           all is sent or the server stops taking them; with hold, keep
           the connection open, still reading nothing, until killed
authflood  fail an AUTH PLAIN in the clear, then, while its answer is
           held back, send BYTES of NOOPs the same way
dribble    after the greeting, send each SETUP line and read its reply,
           then send TEXT (a Python bytes literal) one byte every
           INTERVAL seconds, printing every reply, until a 421 or the
           end of the connection
noread and authflood end by printing the peak and current resident
size of process PID in kB (VmHWM and VmRSS) while their session is
still open.  Replies go to stdout as "<- line".
"""
import ast
import base64
import select
import socket
import sys
import time

# How long a send may make no progress before the server is taken to
# have stopped reading.  Not a measure of speed: any value works, a
# longer one only makes the test slower.
STALL = 5.0


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=30)


def reply(f):
    """One whole reply, or [] at end of file."""
    lines = []
    while True:
        line = f.readline()
        if not line:
            return lines
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        lines.append(text)
        if len(text) < 4 or text[3] != "-":
            return lines


def expect(f, code):
    lines = reply(f)
    if not lines or not lines[-1].startswith(code):
        raise RuntimeError("wanted %s, got %r" % (code, lines))
    return lines


def sessions(port, count, rcpt):
    socks = []
    data = busy = other = 0
    for _ in range(count):
        try:
            s = connect(port)
        except OSError:
            other += 1
            continue
        socks.append(s)
    for s in socks:
        f = s.makefile("rb")
        try:
            banner = reply(f)
            if banner and banner[-1].startswith("421"):
                busy += 1
                continue
            if not banner or not banner[-1].startswith("220"):
                other += 1
                continue
            for line, code in (("EHLO flood.test", "250"),
                               ("MAIL FROM:<flood@flood.test>", "250"),
                               ("RCPT TO:<%s>" % rcpt, "250"),
                               ("DATA", "354")):
                s.sendall(line.encode() + b"\r\n")
                expect(f, code)
            data += 1
        except (OSError, RuntimeError):
            other += 1
    print("data=%d busy=%d other=%d" % (data, busy, other))
    for s in socks:
        s.close()


def memory(pid):
    found = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                found[key] = int(value.split()[0])
    print("hwm_kb=%d rss_kb=%d" % (found["VmHWM"], found["VmRSS"]),
          flush=True)


def push(s, total):
    """Send total bytes of NOOPs, never reading; stop at a stall."""
    chunk = b"NOOP\r\n" * 10000
    sent = 0
    s.setblocking(False)
    while sent < total:
        _, writable, _ = select.select([], [s], [], STALL)
        if not writable:
            break
        try:
            sent += s.send(chunk[:total - sent])
        except BlockingIOError:
            continue
        except OSError:
            break
    print("sent=%d" % sent, flush=True)


def noread(port, total, pid, hold):
    s = connect(port)
    f = s.makefile("rb")
    expect(f, "220")
    push(s, total)
    memory(pid)
    if hold:
        time.sleep(600)
    s.close()


def authflood(port, user, password, total, pid):
    s = connect(port)
    f = s.makefile("rb")
    expect(f, "220")
    s.sendall(b"EHLO flood.test\r\n")
    expect(f, "250")
    token = base64.b64encode(b"\0" + user.encode() + b"\0" +
                             password.encode())
    s.sendall(b"AUTH PLAIN " + token + b"\r\n")
    push(s, total)
    memory(pid)
    s.close()


def dribble(port, interval, text, setup):
    s = connect(port)
    f = s.makefile("rb")
    lines = expect(f, "220")
    for line in setup:
        print("-> " + line)
        s.sendall(line.encode() + b"\r\n")
        for l in reply(f):
            print("<- " + l)
    pending = b""
    for byte in text:
        try:
            s.sendall(bytes([byte]))
        except OSError:
            print("<- (closed)")
            return
        readable, _, _ = select.select([s], [], [], interval)
        if not readable:
            continue
        chunk = s.recv(4096)
        if not chunk:
            print("<- (closed)")
            return
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            print("<- " + line.decode("utf-8", "replace").rstrip("\r"))
            if line.startswith(b"421"):
                s.settimeout(30)
                if not s.recv(4096):
                    print("<- (closed)")
                return
    print("-- all sent")


def main():
    port, what, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    if what == "sessions":
        sessions(port, int(args[0]), args[1])
    elif what == "noread":
        noread(port, int(args[0]), int(args[1]), args[2:] == ["hold"])
    elif what == "authflood":
        authflood(port, args[0], args[1], int(args[2]), int(args[3]))
    elif what == "dribble":
        dribble(port, float(args[0]), ast.literal_eval(args[1]), args[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
