#!/usr/bin/env python3
"""Send mail to an smtpd while killing it, and check what was promised.

usage: crashload.py SMTPD CONF PORT MAILDIR LOG MESSAGES KILLS SPOOL

Four clients send MESSAGES messages, each attempt with a Message-ID of
its own.  Meanwhile smtpd's whole process group is killed with SIGKILL
KILLS times, each time after a random number of further 250 replies and
a random short pause, and started again.  In the end every message that
got a 250 must be in the maildir exactly once; one that did not may be
there at most once.  Prints one summary line; exits 1 on a broken
promise.
"""
import os
import random
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time

smtpd, conf, port, maildir, logpath, total, kills, spool = sys.argv[1:9]
port, total, kills = int(port), int(total), int(kills)

lock = threading.Lock()
up = threading.Event()
acked = set()
attempted = set()
next_index = [0]
proc = [None]
log = open(logpath, "ab")


def die(msg):
    # From any thread: the whole run is over.
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()
    os._exit(1)


def start():
    proc[0] = subprocess.Popen([smtpd, "-d", "-f", conf], stdout=log,
                               stderr=log, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 1) as s:
                if s.recv(64).startswith(b"220"):
                    up.set()
                    return
        except OSError:
            pass
        if proc[0].poll() is not None:
            die("smtpd exited at start, status %d" % proc[0].returncode)
        time.sleep(0.02)
    die("smtpd did not answer after a restart")


def kill():
    up.clear()
    pgid = proc[0].pid
    os.killpg(pgid, signal.SIGKILL)
    proc[0].wait()
    # Every process of the group must be gone, not only the parent.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
    die("processes of the killed smtpd linger")


def client(n):
    while True:
        with lock:
            if next_index[0] >= total:
                return
            i = next_index[0]
            next_index[0] += 1
        while True:
            up.wait()
            mid = "<crash-%d-%d-%d@test>" % (i, n, random.getrandbits(32))
            with lock:
                attempted.add(mid)
            msg = ("Message-ID: %s\r\nSubject: %d\r\n\r\nbody %d\r\n" %
                   (mid, i, i))
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
                    s.sendmail("crash@test", [os.environ["MAILUSER"] +
                               "@localhost"], msg)
                with lock:
                    acked.add(mid)
                break
            except (OSError, smtplib.SMTPException):
                time.sleep(0.01)


def killer():
    for _ in range(kills):
        with lock:
            target = len(acked) + random.randint(10, total // (kills + 1))
        while True:
            with lock:
                if len(acked) >= target or next_index[0] >= total:
                    break
            time.sleep(0.005)
        time.sleep(random.random() * 0.03)
        kill()
        start()


def delivered():
    seen = {}
    for d in ("new", "cur"):
        path = os.path.join(maildir, d)
        for name in os.listdir(path) if os.path.isdir(path) else []:
            with open(os.path.join(path, name), "rb") as f:
                for line in f:
                    if line.lower().startswith(b"message-id:"):
                        mid = line.split(b":", 1)[1].strip().decode()
                        seen[mid] = seen.get(mid, 0) + 1
                        break
    return seen


def queue_empty():
    for d in ("queue", "incoming"):
        if os.listdir(os.path.join(spool, d)):
            return False
    return True


start()
threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
k = threading.Thread(target=killer)
for t in threads + [k]:
    t.start()
for t in threads + [k]:
    t.join()
deadline = time.monotonic() + 120
while not queue_empty() and time.monotonic() < deadline:
    time.sleep(0.05)
seen = delivered()
proc[0].send_signal(signal.SIGTERM)
proc[0].wait()

lost = [m for m in acked if seen.get(m, 0) == 0]
doubled = [m for m in seen if seen[m] > 1]
stray = [m for m in seen if m not in attempted]
unacked_delivered = len([m for m in seen if m not in acked])
print("messages=%d attempts=%d acked=%d kills=%d delivered=%d "
      "delivered-without-250=%d lost=%d duplicates=%d stray=%d "
      "queue-empty=%s" % (total, len(attempted), len(acked), kills,
                          len(seen), unacked_delivered, len(lost),
                          len(doubled), len(stray), queue_empty()))
if lost or doubled or stray or not queue_empty() or len(acked) < total:
    sys.exit("broken promise: lost %s doubled %s" % (lost[:5], doubled[:5]))
