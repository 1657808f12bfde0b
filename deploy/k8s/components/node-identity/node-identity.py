#!/usr/bin/env python3
"""NetWatch init container: turn the node's labels into the daemon's identity.

The downward API cannot expose node labels to a pod, and a NetWatch daemon's
identity (rack id, server id, uplink interface) is a property of the node it
runs on, set by the SRE as node labels. So each pod's init container asks the
API server for its own node (RBAC: get/list nodes, nothing else) and writes

  /run/netwatch/node.env   `export NETWATCH_...=...` lines the main container
                           sources before exec'ing the daemon
  /run/netwatch/key        a copy of the Secret's key owned by this uid,
                           mode 0400 (the daemons refuse a key readable by
                           group or others, and refuse the Secret volume's
                           symlinks, so they cannot read the Secret directly)
  /run/netwatch/topology.json   (chaos only) netwatch-chaos' targets on this node

Roles (NETWATCH_ROLE):
  rack   needs netwatch.io/rack; iface from netwatch.io/iface or NETWATCH_DEFAULT_IFACE
  agent  needs netwatch.io/rack and netwatch.io/server; the rack controller is
         the node labelled netwatch.io/rack=<same> and netwatch.io/rack-controller=true,
         reached at its InternalIP (the controller runs with hostNetwork)
  chaos  needs netwatch.io/rack, netwatch.io/server; iface as for rack
  dc     no node lookup, only the key copy

Every value that reaches node.env is validated (digits, an interface name, an
IP address) before it is written, so a hostile label cannot inject shell.
Exit 0 on success, 1 with one clear line on stderr otherwise (the kubelet
retries the init container with back-off, so a node labelled later recovers).
Standard library only: it runs in a stock python image.
"""
import ipaddress
import json
import os
import re
import shlex
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
PREFIX = "netwatch.io/"
IFACE_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,14}$")  # IFNAMSIZ - 1
MAX_RESPONSE = 16 << 20  # a node list of a big cluster, not unbounded


class Fail(Exception):
    pass


def api_get(path):
    """GET path from the API server with the pod's service account."""
    base = os.environ.get("NETWATCH_K8S_API")  # tests point this at a fake server
    sa_dir = os.environ.get("NETWATCH_K8S_SA_DIR", SA_DIR)
    if not base:
        host = os.environ.get("KUBERNETES_SERVICE_HOST")
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if not host:
            raise Fail("not in a cluster: KUBERNETES_SERVICE_HOST is unset")
        if ":" in host:
            host = f"[{host}]"
        base = f"https://{host}:{port}"
    try:
        with open(os.path.join(sa_dir, "token"), encoding="ascii") as f:
            token = f.read().strip()
    except OSError as e:
        raise Fail(f"cannot read the service account token: {e.strerror}") from None
    ctx = None
    if base.startswith("https:"):
        ctx = ssl.create_default_context(cafile=os.path.join(sa_dir, "ca.crt"))
    req = urllib.request.Request(base + path, headers={
        "Authorization": f"Bearer {token}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            body = r.read(MAX_RESPONSE + 1)
    except urllib.error.HTTPError as e:
        raise Fail(f"API server answered {e.code} for {path}"
                   + (" (is the ClusterRole netwatch-node-reader bound?)" if e.code == 403 else "")) from None
    except (urllib.error.URLError, OSError) as e:
        raise Fail(f"cannot reach the API server: {getattr(e, 'reason', e)}") from None
    if len(body) > MAX_RESPONSE:
        raise Fail(f"API answer for {path} is larger than {MAX_RESPONSE} bytes")
    try:
        doc = json.loads(body)
    except ValueError:
        raise Fail(f"API answer for {path} is not JSON") from None
    if not isinstance(doc, dict):
        raise Fail(f"API answer for {path} is not an object")
    return doc


def labels_of(node):
    labels = (node.get("metadata") or {}).get("labels") or {}
    return labels if isinstance(labels, dict) else {}


def id_label(labels, node_name, key, top):
    name = PREFIX + key
    v = labels.get(name)
    if v is None:
        raise Fail(f"node {node_name} has no label {name} (kubectl label node {node_name} {name}=<id>)")
    if not isinstance(v, str) or not re.fullmatch(r"[0-9]{1,5}", v) or int(v) > top:
        raise Fail(f"node {node_name}: label {name}={v!r} is not an integer 0..{top}")
    return int(v)


def iface_of(labels, node_name):
    v = labels.get(PREFIX + "iface") or os.environ.get("NETWATCH_DEFAULT_IFACE", "eth0")
    if not isinstance(v, str) or not IFACE_RE.match(v) or v in (".", ".."):
        raise Fail(f"node {node_name}: interface {v!r} is not an interface name")
    return v


def node_address(node):
    """The address other nodes reach this node at: InternalIP first."""
    addrs = (node.get("status") or {}).get("addresses") or []
    for kind in ("InternalIP", "ExternalIP"):
        for a in addrs:
            if isinstance(a, dict) and a.get("type") == kind:
                try:
                    return str(ipaddress.ip_address(a.get("address", "")))
                except ValueError:
                    continue
    return None


def rack_controller(rack):
    sel = f"{PREFIX}rack={rack},{PREFIX}rack-controller=true"
    doc = api_get("/api/v1/nodes?labelSelector=" + urllib.parse.quote(sel, safe=""))
    items = doc.get("items") or []
    names = sorted(str((n.get("metadata") or {}).get("name")) for n in items if isinstance(n, dict))
    if not items:
        raise Fail(f"no node is labelled {sel}: label the node that runs rack {rack}'s controller")
    if len(items) > 1:
        raise Fail(f"{len(items)} nodes are labelled {sel} ({', '.join(names)}): a rack has one controller")
    addr = node_address(items[0])
    if addr is None:
        raise Fail(f"rack controller node {names[0]} reports no InternalIP/ExternalIP address")
    return addr


def write_file(path, data, mode):
    """Replace path with data, created with mode (never a symlink's target)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, mode)  # the umask must not have the last word either way


def copy_key(src, out_dir):
    try:
        with open(src, "rb") as f:
            key = f.read(4096)
    except OSError as e:
        raise Fail(f"cannot read the key {src}: {e.strerror} (kubectl -n netwatch create secret generic netwatch-key --from-file=key=...)") from None
    if not re.fullmatch(rb"\s*[0-9A-Fa-f]{64}\s*", key):
        raise Fail(f"the key {src} must hold exactly 64 hex digits")
    write_file(os.path.join(out_dir, "key"), key.strip() + b"\n", 0o400)


def identity(role, node_name):
    """The env lines for role and, for chaos, its topology document."""
    if role == "dc":
        return {}, None
    node = api_get("/api/v1/nodes/" + urllib.parse.quote(node_name, safe=""))
    labels = labels_of(node)
    env = {"NETWATCH_RACK": id_label(labels, node_name, "rack", 65535)}
    topo = None
    if role == "rack":
        env["NETWATCH_IFACE"] = iface_of(labels, node_name)
    elif role == "agent":
        env["NETWATCH_SERVER"] = id_label(labels, node_name, "server", 65535)
        env["NETWATCH_CONTROLLER"] = rack_controller(env["NETWATCH_RACK"])
    elif role == "chaos":
        server = id_label(labels, node_name, "server", 65535)
        topo = {"version": 1, "lab": "kubernetes",
                "racks": [{"rack_id": env["NETWATCH_RACK"], "netns": None,
                           "servers": [{"server_id": server, "netns": None,
                                        "iface": iface_of(labels, node_name),
                                        "control": None}]}]}
    else:
        raise Fail(f"NETWATCH_ROLE={role!r}: expected rack, agent, chaos or dc")
    return env, topo


def main():
    role = os.environ.get("NETWATCH_ROLE", "")
    node_name = os.environ.get("NODE_NAME", "")
    out_dir = os.environ.get("NETWATCH_OUT_DIR", "/run/netwatch")
    key_src = os.environ.get("NETWATCH_KEY_SOURCE", "")
    try:
        if role != "dc" and not node_name:
            raise Fail("NODE_NAME is unset (downward API spec.nodeName)")
        env, topo = identity(role, node_name)
        if key_src:
            copy_key(key_src, out_dir)
        lines = "".join(f"export {k}={shlex.quote(str(v))}\n" for k, v in sorted(env.items()))
        write_file(os.path.join(out_dir, "node.env"), lines.encode(), 0o444)
        if topo is not None:
            write_file(os.path.join(out_dir, "topology.json"), json.dumps(topo).encode(), 0o444)
    except Fail as e:
        print(f"netwatch-init: {e}", file=sys.stderr)
        return 1
    print(f"netwatch-init: role={role} node={node_name or '-'} "
          + " ".join(f"{k}={v}" for k, v in sorted(env.items())), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
