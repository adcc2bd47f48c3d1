#!/usr/bin/env python3
"""Start TLS with an SMTP server as a chosen kind of client, for the tests.

usage: tlsprobe.py [--smtps] [--servername NAME] [--tls12 | --tls13]
                   [--cert FILE --key FILE] [--rcpt ADDRESS] PORT

--servername  send NAME in SNI (by default no SNI at all)
--tls12, --tls13  offer that protocol version only
--cert, --key     present this client certificate
--rcpt        after MAIL, send one small message to ADDRESS

Prints one line per stage, key=value:
    tls=ok version=V cipher=C fingerprint=SHA256-OF-SERVER-CERT
    tls=failed error=...      (handshake refused, or the first reply
                               inside TLS never came: TLS 1.3 reports a
                               refused client certificate only then)
    mail=REPLY, rcpt=REPLY, data=REPLY   the last line of each reply
Exits 0 once it has printed what happened, 1 on an SMTP exchange that
makes no sense before TLS.
"""
import hashlib
import socket
import ssl
import sys


def reply(f):
    last = ""
    while True:
        line = f.readline()
        if not line:
            raise ConnectionError("connection closed")
        last = line.decode("utf-8", "replace").rstrip("\r\n")
        if len(last) < 4 or last[3] != "-":
            return last


def command(sock, f, text):
    sock.sendall(text.encode() + b"\r\n")
    return reply(f)


def main():
    args = sys.argv[1:]
    smtps = False
    servername = None
    version = None
    cert = key = rcpt = None
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--smtps":
            smtps = True
        elif opt in ("--tls12", "--tls13"):
            version = (ssl.TLSVersion.TLSv1_2 if opt == "--tls12"
                       else ssl.TLSVersion.TLSv1_3)
        elif opt in ("--servername", "--cert", "--key", "--rcpt") and args:
            value = args.pop(0)
            if opt == "--servername":
                servername = value
            elif opt == "--cert":
                cert = value
            elif opt == "--key":
                key = value
            else:
                rcpt = value
        else:
            sys.exit(__doc__)
    if len(args) != 1:
        sys.exit(__doc__)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if version is not None:
        ctx.minimum_version = version
        ctx.maximum_version = version
    if cert is not None:
        ctx.load_cert_chain(cert, key)
    sock = socket.create_connection(("127.0.0.1", int(args[0])), timeout=20)
    if not smtps:
        f = sock.makefile("rb")
        if not reply(f).startswith("220 "):
            sys.exit("no greeting")
        if not command(sock, f, "EHLO probe.test").startswith("250"):
            sys.exit("EHLO refused")
        if not command(sock, f, "STARTTLS").startswith("220 "):
            sys.exit("STARTTLS refused")
    try:
        sock = ctx.wrap_socket(sock, server_hostname=servername)
        f = sock.makefile("rb")
        if smtps and not reply(f).startswith("220 "):
            sys.exit("no greeting")
        ehlo = command(sock, f, "EHLO probe.test")
    except (OSError, ssl.SSLError) as e:
        print("tls=failed error=%s" % str(e).replace(" ", "_"))
        return
    if not ehlo.startswith("250"):
        sys.exit("EHLO inside TLS refused")
    der = sock.getpeercert(binary_form=True)
    print("tls=ok version=%s cipher=%s fingerprint=%s" %
          (sock.version(), sock.cipher()[0], hashlib.sha256(der).hexdigest()))
    mail = command(sock, f, "MAIL FROM:<probe@example.org>")
    print("mail=" + mail)
    if rcpt is not None and mail.startswith("250"):
        print("rcpt=" + command(sock, f, "RCPT TO:<%s>" % rcpt))
        if command(sock, f, "DATA").startswith("354"):
            print("data=" + command(sock, f, "Subject: probe\r\n\r\n"
                                    "sent by tlsprobe\r\n."))
    command(sock, f, "QUIT")
    sock.close()


if __name__ == "__main__":
    main()
