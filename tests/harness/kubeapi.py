#!/usr/bin/env python3
"""A small stand-in for a Kubernetes API server on 127.0.0.1: it answers discovery and serves the
node and pod lists in tests/data/k8s (the article's cluster), and OpenShift's cluster operators
(config.openshift.io/v1), so a real kubectl can be pointed at it. It prints its port on stdout and
serves until killed. No cluster can run on this machine.

clusteroperators.json is not a recording (the article shows no operators): it holds the cluster
operators of OpenShift 4.2 written after the ClusterOperator type (openshift/api,
config/v1/types_cluster_operator.go, release-4.2), each Available, not Progressing, not Degraded."""
import json, os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

DATA = sys.argv[1]

def load(name):
    with open(os.path.join(DATA, name)) as f:
        return json.load(f)

RESOURCES = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1", "resources": [
    {"name": "nodes", "singularName": "node", "namespaced": False, "kind": "Node", "verbs": ["get", "list"], "shortNames": ["no"]},
    {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod", "verbs": ["get", "list"], "shortNames": ["po"]},
    {"name": "namespaces", "singularName": "namespace", "namespaced": False, "kind": "Namespace", "verbs": ["get", "list"], "shortNames": ["ns"]},
]}

CONFIG = {"name": "config.openshift.io", "versions": [{"groupVersion": "config.openshift.io/v1", "version": "v1"}],
          "preferredVersion": {"groupVersion": "config.openshift.io/v1", "version": "v1"}}

CONFIG_RESOURCES = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "config.openshift.io/v1", "resources": [
    {"name": "clusteroperators", "singularName": "clusteroperator", "namespaced": False, "kind": "ClusterOperator", "verbs": ["get", "list"], "shortNames": ["co"]},
]}

class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def send(self, code, body):
        b = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def do_GET(self):
        p = urlparse(self.path).path.rstrip("/")
        if p == "/api":
            return self.send(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})
        if p == "/apis":
            return self.send(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [CONFIG]})
        if p == "/apis/config.openshift.io":
            return self.send(200, dict(CONFIG, kind="APIGroup", apiVersion="v1"))
        if p == "/apis/config.openshift.io/v1":
            return self.send(200, CONFIG_RESOURCES)
        if p == "/apis/config.openshift.io/v1/clusteroperators":
            if os.path.exists(os.path.join(DATA, "clusteroperators.json")):
                return self.send(200, load("clusteroperators.json"))
            return self.send(200, {"kind": "ClusterOperatorList", "apiVersion": "config.openshift.io/v1", "metadata": {}, "items": []})
        if p == "/api/v1":
            return self.send(200, RESOURCES)
        if p == "/version":
            return self.send(200, {"major": "1", "minor": "14", "gitVersion": "v1.14.6+c7d2111b9"})
        if p == "/api/v1/nodes":
            return self.send(200, load("nodes.json"))
        if p.startswith("/api/v1/nodes/"):
            name = p.rsplit("/", 1)[1]
            for n in load("nodes.json")["items"]:
                if n["metadata"]["name"] == name:
                    return self.send(200, n)
        parts = p.split("/")
        if len(parts) == 6 and parts[3] == "namespaces" and parts[5] == "pods":
            f = "pods-%s.json" % parts[4]
            if os.path.exists(os.path.join(DATA, f)):
                return self.send(200, load(f))
            return self.send(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": []})
        self.send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404, "message": "%s not found" % p})

srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
