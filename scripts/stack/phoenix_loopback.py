"""Start the Phoenix server with its OTLP gRPC receiver bound to 127.0.0.1.

Phoenix binds its gRPC port on every interface ("[::]:PORT") whatever
PHOENIX_HOST says. The e2e test only exports over HTTP, but the port is still
opened, so rewrite the bind address to loopback before Phoenix starts.
Usage: python phoenix_loopback.py serve   (settings come from PHOENIX_* variables)
"""
import runpy
import sys

import grpc.aio._server as aio_server

_add_insecure_port = aio_server.Server.add_insecure_port


def _loopback_only(self, address):
    if address.startswith("[::]:"):
        address = "127.0.0.1:" + address.rsplit(":", 1)[1]
    return _add_insecure_port(self, address)


aio_server.Server.add_insecure_port = _loopback_only
sys.argv = ["phoenix", *sys.argv[1:]]
runpy.run_module("phoenix.server.main", run_name="__main__", alter_sys=True)
