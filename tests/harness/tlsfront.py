#!/usr/bin/env python3
"""A TLS front on 127.0.0.1 for a plain service (Keystone in the tests): it terminates TLS with
DIR/srv.pem and DIR/srv.key and passes the bytes to 127.0.0.1:UPSTREAM. Prints its port."""
import socket, ssl, sys, threading

cert_dir, upstream = sys.argv[1], int(sys.argv[2])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert_dir + "/srv.pem", cert_dir + "/srv.key")
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(16)
print(listener.getsockname()[1], flush=True)


def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except Exception:
        pass
    finally:
        for s in (a, b):
            try:
                s.close()
            except Exception:
                pass


def serve(c):
    try:
        t = ctx.wrap_socket(c, server_side=True)
    except Exception:
        c.close()
        return
    u = socket.create_connection(("127.0.0.1", upstream))
    threading.Thread(target=pipe, args=(t, u), daemon=True).start()
    pipe(u, t)


while True:
    c, _ = listener.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
