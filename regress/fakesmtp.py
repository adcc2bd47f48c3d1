"""A scripted SMTP server for the outbound tests: a receiver whose
replies a test chooses, and hostile ones that break the protocol.

usage: fakesmtp.py ADDRESS PORT MODE [ARG] > log

Modes:
  normal       a plain ESMTP server (PIPELINING, no STARTTLS); with ARG
               "LOCAL=CODE TEXT", RCPT TO:<LOCAL@...> gets that reply the
               first time, 250 later
  slow         the same, taking a fifth of a second over each message
  small        the same, offering SIZE 10000
  noehlo       the same, refusing EHLO (502): HELO only
  endless      a greeting line that never ends
  huge         a greeting of many megabytes, in many continued lines
  nul          a greeting with a NUL in it
  silent       accepts, never says a word
  tlsgarbage   offers STARTTLS, then sends garbage instead of TLS
  badreply     greets, then answers EHLO with lines that are no reply

Each connection and each command is written to standard output, one
line each: "connect", "cmd EHLO x", "message N bytes subject=S".
"""
import socket
import socketserver
import sys
import threading
import time

ADDR, PORT, MODE = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ARG = sys.argv[4] if len(sys.argv) > 4 else ""
lock = threading.Lock()
seen = set()


def log(s):
    with lock:
        sys.stdout.write(s + "\n")
        sys.stdout.flush()


class Handler(socketserver.StreamRequestHandler):
    def send(self, data):
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            pass

    def handle(self):
        log("connect")
        try:
            getattr(self, "mode_" + MODE)()
        except (OSError, ConnectionError):
            pass

    def mode_endless(self):
        self.send(b"220 ")
        for _ in range(1024):
            self.send(b"x" * 4096)
        self.rfile.read(1)

    def mode_huge(self):
        for _ in range(64 * 1024):
            self.send(b"220-" + b"y" * 96 + b"\r\n")
        self.send(b"220 end\r\n")
        self.rfile.read(1)

    def mode_nul(self):
        self.send(b"220 hello\0world\r\n")
        self.rfile.read(1)

    def mode_silent(self):
        self.rfile.read(1)

    def mode_badreply(self):
        self.send(b"220 fake ESMTP\r\n")
        self.rfile.readline()
        self.send(b"250-fake\r\nthis is no reply\r\n250 OK\r\n")
        self.rfile.read(1)

    def mode_tlsgarbage(self):
        self.send(b"220 fake ESMTP\r\n")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.strip().decode("latin-1")
            log("cmd " + cmd)
            verb = cmd.split(" ")[0].upper()
            if verb == "EHLO":
                self.send(b"250-fake\r\n250 STARTTLS\r\n")
            elif verb == "STARTTLS":
                self.send(b"220 go ahead\r\n")
                self.send(b"\x16\x03\x01garbage that is not TLS\r\n" * 50)
                self.rfile.read(1)
                return
            else:
                self.send(b"500 what\r\n")

    def mode_slow(self):
        self.mode_normal(delay=0.2)

    def mode_small(self):
        self.mode_normal(size=10000)

    def mode_noehlo(self):
        self.mode_normal(ehlo=False)

    def mode_normal(self, delay=0, size=0, ehlo=True):
        once_local, once_reply = "", ""
        if ARG:
            once_local, once_reply = ARG.split("=", 1)
        self.send(b"220 fake ESMTP\r\n")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.strip().decode("latin-1")
            log("cmd " + cmd)
            verb = cmd.split(" ")[0].upper()
            if verb == "EHLO" and not ehlo:
                self.send(b"502 5.5.1 no EHLO here\r\n")
            elif verb == "EHLO":
                self.send(b"250-fake\r\n250-PIPELINING\r\n")
                if size:
                    self.send(b"250-SIZE %d\r\n" % size)
                self.send(b"250 8BITMIME\r\n")
            elif verb == "RCPT":
                local = cmd.split("<", 1)[1].split("@", 1)[0]
                with lock:
                    first = local == once_local and local not in seen
                    seen.add(local)
                if first:
                    self.send(once_reply.encode() + b"\r\n")
                else:
                    self.send(b"250 2.1.5 ok\r\n")
            elif verb == "DATA":
                self.send(b"354 go\r\n")
                n, subject = 0, "-"
                while True:
                    data = self.rfile.readline()
                    if not data:
                        return
                    if data == b".\r\n":
                        break
                    if data.startswith(b"Subject: ") and subject == "-":
                        subject = data[9:].strip().decode("latin-1")
                    n += len(data)
                time.sleep(delay)
                log("message %d bytes subject=%s" % (n, subject))
                self.send(b"250 2.0.0 queued\r\n")
            elif verb == "QUIT":
                self.send(b"221 bye\r\n")
                return
            else:
                self.send(b"250 ok\r\n")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


Server((ADDR, PORT), Handler).serve_forever()
