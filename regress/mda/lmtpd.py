#!/usr/bin/env python3
"""A small LMTP server (RFC 2033) for the lmtp delivery tests.

usage: lmtpd.py [--unix PATH] [--rcpt REPLY] [--final REPLY] DIR

Listens on a free 127.0.0.1 port, or on the socket PATH, and writes the
port (or "unix") to DIR/ready once it accepts connections.  For every
message it writes, before it answers the final dot, DIR/envelope.N (the
LHLO, MAIL and RCPT lines as received) and DIR/data.N (the data bytes as
received, still dot-stuffed, without the final dot line).  RCPT is
answered with --rcpt and the data with --final, by default 250 replies.
"""
import argparse
import os
import socketserver


class Handler(socketserver.StreamRequestHandler):
    def send(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def receive_data(self):
        data = b""
        while True:
            line = self.rfile.readline()
            if not line:
                return None
            if line == b".\r\n":
                return data
            data += line

    def handle(self):
        cfg = self.server.cfg
        envelope = []
        self.send("220 lmtp.test LMTP ready")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.rstrip(b"\r\n").decode("utf-8", "replace")
            verb = cmd.split(":", 1)[0].split(" ", 1)[0].upper()
            if verb == "LHLO":
                envelope = [cmd]
                self.send("250-lmtp.test")
                self.send("250 ENHANCEDSTATUSCODES")
            elif verb == "MAIL":
                envelope.append(cmd)
                self.send("250 2.1.0 Ok")
            elif verb == "RCPT":
                envelope.append(cmd)
                self.send(cfg.rcpt)
            elif verb == "DATA":
                self.send("354 End data with <CR><LF>.<CR><LF>")
                data = self.receive_data()
                if data is None:
                    return
                self.server.count += 1
                n = self.server.count
                with open(os.path.join(cfg.dir, "data.%d" % n), "wb") as f:
                    f.write(data)
                with open(os.path.join(cfg.dir, "envelope.%d" % n),
                          "w") as f:
                    f.write("\n".join(envelope) + "\n")
                self.send(cfg.final)
            elif verb == "QUIT":
                self.send("221 2.0.0 Bye")
                return
            else:
                self.send("500 5.5.1 Unknown command")


class TCPServer(socketserver.TCPServer):
    allow_reuse_address = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--unix")
    p.add_argument("--rcpt", default="250 2.1.5 Ok")
    p.add_argument("--final", default="250 2.0.0 Delivered")
    p.add_argument("dir")
    cfg = p.parse_args()
    if cfg.unix:
        server = socketserver.UnixStreamServer(cfg.unix, Handler)
        where = "unix"
    else:
        server = TCPServer(("127.0.0.1", 0), Handler)
        where = str(server.server_address[1])
    server.cfg = cfg
    server.count = 0
    # Written whole, then renamed: the test never reads half a port.
    ready = os.path.join(cfg.dir, "ready")
    with open(ready + ".tmp", "w") as f:
        f.write(where + "\n")
    os.rename(ready + ".tmp", ready)
    server.serve_forever()


if __name__ == "__main__":
    main()
