#!/usr/bin/python3
"""A Patroni REST API over TLS, for the https health check lab test.

  patroni_tls.py --port 8009 --cert real.pem --key real.key --role-file FILE

GET /primary (/master, /leader) is 200 if FILE holds "primary", else 503;
GET /replica 200 if it holds "replica", else 503; anything else 404. The
body is {"role": "ROLE"}, as Patroni's. With --client-ca, a client
certificate signed by that CA is demanded. Prints "ready" once it listens;
exits on SIGTERM. Each connection is served in a thread with a 5 s timeout,
so a stalled client holds nothing for long."""
import argparse
import http.server
import json
import signal
import ssl
import sys


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--role-file", required=True)
    p.add_argument("--client-ca")
    a = p.parse_args()

    class Handler(http.server.BaseHTTPRequestHandler):
        timeout = 5

        def do_GET(self):
            try:
                with open(a.role_file) as f:
                    role = f.read().strip() or "none"
            except OSError:
                role = "none"
            if self.path in ("/primary", "/master", "/leader"):
                status = 200 if role == "primary" else 503
            elif self.path == "/replica":
                status = 200 if role == "replica" else 503
            else:
                status = 404
            body = json.dumps({"role": role}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    if a.client_ca:
        ctx.load_verify_locations(a.client_ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    server = http.server.ThreadingHTTPServer(("0.0.0.0", a.port), Handler)
    server.daemon_threads = True
    # The handshake runs in the connection's thread (on first read), not in
    # accept: one stalled client does not stop the others.
    server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                    do_handshake_on_connect=False)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
