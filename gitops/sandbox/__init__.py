"""The sandbox: a small Kubernetes API server for tests and the quick start.

It answers as a real API server does for what gitops and kubectl ask of it (discovery, CRUD, watch,
patches, server-side apply, CRDs, finalizers, namespaces, Status errors), over HTTP on 127.0.0.1.

    with SandboxServer() as server:
        server.write_kubeconfig(path)
        server.faults.add(verb="patch", path_regex="/deployments/", status=500, count=1)
"""

from __future__ import annotations

from gitops.sandbox.server import SandboxServer, default_state_dir

__all__ = ["SandboxServer", "default_state_dir"]
