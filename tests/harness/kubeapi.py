#!/usr/bin/env python3
"""A small stand-in for a Kubernetes API server on 127.0.0.1: it answers discovery and serves the
node and pod lists in tests/data/k8s (the article's cluster), and OpenShift's cluster operators
(config.openshift.io/v1), so a real kubectl can be pointed at it. It prints its port on stdout and
serves until killed. No cluster can run on this machine.

clusteroperators.json is not a recording (the article shows no operators): it holds the cluster
operators of OpenShift 4.2 written after the ClusterOperator type (openshift/api,
config/v1/types_cluster_operator.go, release-4.2), each Available, not Progressing, not Degraded.

What a lab's revert asks of a cluster, when DATA has it (each file read at each request, so a
test can change it while the server runs):
- secrets-NAMESPACE.json: the secrets of a namespace (a SecretList), with the certificate
  annotations of openshift/library-go pkg/operator/certrotation/annotations.go;
- csrs.json: certificate signing requests (a CertificateSigningRequestList, k8s.io/api
  certificates/v1 types.go), approved through their approval subresource as `kubectl
  certificate approve` does (kubectl pkg/cmd/certificates/certificates.go: a GET, then a PUT of
  the object with an Approved condition to .../NAME/approval); approvals are kept in memory.
  With csrs.json there, the cluster operators' conditions are the stand-in's: Available, and
  Progressing while a certificate request waits for approval (the kube-apiserver operator waits
  for the nodes' kubelet certificates), never Degraded. A simplification: a real operator
  reports its own."""
import datetime, json, os, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

DATA = sys.argv[1]
APPROVED = {}
LOCK = threading.Lock()

def load(name):
    with open(os.path.join(DATA, name)) as f:
        return json.load(f)

def load_or(name, kind, api="v1"):
    if os.path.exists(os.path.join(DATA, name)):
        return load(name)
    return {"kind": kind, "apiVersion": api, "metadata": {}, "items": []}

def csrs():
    """The certificate requests with the approvals made here."""
    l = load_or("csrs.json", "CertificateSigningRequestList", "certificates.k8s.io/v1")
    with LOCK:
        for c in l["items"]:
            if c["metadata"]["name"] in APPROVED:
                c.setdefault("status", {})["conditions"] = APPROVED[c["metadata"]["name"]]
    return l

def pending():
    return [c for c in csrs()["items"] if not (c.get("status") or {}).get("conditions")]

def operators():
    l = load_or("clusteroperators.json", "ClusterOperatorList", "config.openshift.io/v1")
    if not os.path.exists(os.path.join(DATA, "csrs.json")):
        return l
    waiting = bool(pending())
    now = datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    for co in l["items"]:
        co["status"] = {"conditions": [
            {"type": "Available", "status": "True", "lastTransitionTime": now},
            {"type": "Progressing", "status": "True" if waiting else "False", "lastTransitionTime": now,
             "message": "NodeInstallerProgressing: waiting for the nodes' kubelet certificates" if waiting else ""},
            {"type": "Degraded", "status": "False", "lastTransitionTime": now},
        ]}
    return l

RESOURCES = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1", "resources": [
    {"name": "nodes", "singularName": "node", "namespaced": False, "kind": "Node", "verbs": ["get", "list"], "shortNames": ["no"]},
    {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod", "verbs": ["get", "list"], "shortNames": ["po"]},
    {"name": "namespaces", "singularName": "namespace", "namespaced": False, "kind": "Namespace", "verbs": ["get", "list"], "shortNames": ["ns"]},
    {"name": "secrets", "singularName": "secret", "namespaced": True, "kind": "Secret", "verbs": ["get", "list"]},
]}

CONFIG = {"name": "config.openshift.io", "versions": [{"groupVersion": "config.openshift.io/v1", "version": "v1"}],
          "preferredVersion": {"groupVersion": "config.openshift.io/v1", "version": "v1"}}

CONFIG_RESOURCES = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "config.openshift.io/v1", "resources": [
    {"name": "clusteroperators", "singularName": "clusteroperator", "namespaced": False, "kind": "ClusterOperator", "verbs": ["get", "list"], "shortNames": ["co"]},
]}

CERTIFICATES = {"name": "certificates.k8s.io", "versions": [{"groupVersion": "certificates.k8s.io/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": "certificates.k8s.io/v1", "version": "v1"}}

CERTIFICATES_RESOURCES = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "certificates.k8s.io/v1", "resources": [
    {"name": "certificatesigningrequests", "singularName": "certificatesigningrequest", "namespaced": False,
     "kind": "CertificateSigningRequest", "verbs": ["get", "list", "update"], "shortNames": ["csr"]},
    {"name": "certificatesigningrequests/approval", "singularName": "", "namespaced": False,
     "kind": "CertificateSigningRequest", "verbs": ["get", "update"]},
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
            return self.send(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [CONFIG, CERTIFICATES]})
        if p == "/apis/config.openshift.io":
            return self.send(200, dict(CONFIG, kind="APIGroup", apiVersion="v1"))
        if p == "/apis/config.openshift.io/v1":
            return self.send(200, CONFIG_RESOURCES)
        if p == "/apis/config.openshift.io/v1/clusteroperators":
            return self.send(200, operators())
        if p == "/apis/certificates.k8s.io":
            return self.send(200, dict(CERTIFICATES, kind="APIGroup", apiVersion="v1"))
        if p == "/apis/certificates.k8s.io/v1":
            return self.send(200, CERTIFICATES_RESOURCES)
        if p == "/apis/certificates.k8s.io/v1/certificatesigningrequests":
            return self.send(200, csrs())
        if p.startswith("/apis/certificates.k8s.io/v1/certificatesigningrequests/"):
            name = p.split("/")[5]
            for c in csrs()["items"]:
                if c["metadata"]["name"] == name:
                    return self.send(200, c)
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
        if len(parts) == 6 and parts[3] == "namespaces" and parts[5] == "secrets":
            return self.send(200, load_or("secrets-%s.json" % parts[4], "SecretList"))
        if len(parts) == 6 and parts[3] == "namespaces" and parts[5] == "pods":
            f = "pods-%s.json" % parts[4]
            if os.path.exists(os.path.join(DATA, f)):
                return self.send(200, load(f))
            return self.send(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": []})
        self.send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404, "message": "%s not found" % p})

    def do_PUT(self):
        p = urlparse(self.path).path.rstrip("/")
        parts = p.split("/")
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Type", "").startswith("application/vnd.kubernetes.protobuf"):
            # kubectl's clientset sends built-in types as protobuf (k8s.io/apimachinery
            # runtime/serializer/protobuf: "k8s\0" then the Unknown envelope); the stand-in has no
            # schema for it and reads only which condition kubectl added, as its bytes name it.
            kind = "Denied" if b"KubectlDeny" in raw else "Approved"
            now = datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
            body = {"status": {"conditions": [{"type": kind, "status": "True", "reason": "KubectlApprove" if kind == "Approved" else "KubectlDeny",
                                               "message": "This CSR was %s by kubectl certificate %s." % (kind.lower(), "approve" if kind == "Approved" else "deny"),
                                               "lastUpdateTime": now, "lastTransitionTime": now}]}}
        else:
            body = json.loads(raw or b"{}")
        if len(parts) == 7 and parts[1:5] == ["apis", "certificates.k8s.io", "v1", "certificatesigningrequests"] and parts[6] == "approval":
            name = parts[5]
            if not any(c["metadata"]["name"] == name for c in csrs()["items"]):
                return self.send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404,
                                       "message": 'certificatesigningrequests.certificates.k8s.io "%s" not found' % name})
            with LOCK:
                APPROVED[name] = (body.get("status") or {}).get("conditions") or []
            for c in csrs()["items"]:
                if c["metadata"]["name"] == name:
                    return self.send(200, c)
        self.send(405, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "MethodNotAllowed", "code": 405,
                        "message": "the stand-in does not change %s" % p})

srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
