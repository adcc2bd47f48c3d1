#!/usr/bin/env python3
"""Drive an SMTP server byte by byte from a script, for the tests.

usage: smtpdialog.py [--smtps] [--source ADDRESS] PORT < script

--source connects from ADDRESS, another loopback address for instance.

Each script line is one step:
    > TEXT        send TEXT followed by CRLF
    >> LITERAL    send raw bytes, written as a Python bytes literal
                  (b"RCPT TO:<a@b>\\r\\nDATA\\r\\n")
    < REGEX       read one whole reply (all its lines) and require its
                  last line to match REGEX (re.search)
    <* REGEX      read one reply and require some line to match
    starttls      wrap the connection in TLS (after the 220 to STARTTLS)
    eof           require the server to close the connection
    # ...         a comment
The transcript goes to stdout; the first mismatch exits 1 with a message
on stderr.
"""
import ast
import re
import socket
import ssl
import sys


def read_reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            return lines, True
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        lines.append(text)
        print("<- " + text)
        if len(text) < 4 or text[3] != "-":
            return lines, False


def main():
    args = sys.argv[1:]
    smtps = False
    source = None
    while args and args[0].startswith("--"):
        if args[0] == "--smtps":
            smtps = True
            args = args[1:]
        elif args[0] == "--source" and len(args) > 1:
            source = (args[1], 0)
            args = args[2:]
        else:
            sys.exit(__doc__)
    port = int(args[0])
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    sock = socket.create_connection(("127.0.0.1", port), timeout=20,
                                    source_address=source)
    if smtps:
        sock = ctx.wrap_socket(sock)
    f = sock.makefile("rb")
    for n, raw in enumerate(sys.stdin.read().splitlines(), 1):
        step = raw.strip()
        if not step or step.startswith("#"):
            continue
        if step.startswith(">> "):
            data = ast.literal_eval(step[3:])
            print("-> " + repr(data))
            sock.sendall(data)
        elif step.startswith("> "):
            print("-> " + step[2:])
            sock.sendall(step[2:].encode("utf-8") + b"\r\n")
        elif step.startswith("<* ") or step.startswith("< "):
            anyline = step.startswith("<* ")
            pattern = step[3:] if anyline else step[2:]
            lines, eof = read_reply(f)
            if not lines:
                sys.exit("line %d: connection closed, wanted %r" %
                         (n, pattern))
            pool = lines if anyline else lines[-1:]
            if not any(re.search(pattern, l) for l in pool):
                sys.exit("line %d: reply %r does not match %r" %
                         (n, lines, pattern))
        elif step == "starttls":
            sock = ctx.wrap_socket(sock)
            f = sock.makefile("rb")
        elif step == "eof":
            try:
                rest = f.read()
            except (ConnectionResetError, ssl.SSLError):
                rest = b""
            if rest:
                sys.exit("line %d: wanted end of file, got %r" % (n, rest))
            print("<- (closed)")
        else:
            sys.exit("line %d: bad step %r" % (n, step))
    sock.close()


if __name__ == "__main__":
    main()
