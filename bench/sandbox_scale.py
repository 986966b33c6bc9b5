"""How the sandbox API server copes with 5,000 objects: list them all, apply one more.

    .venv/bin/python bench/sandbox_scale.py [--objects 5000] [--state-dir DIR]

Prints the seconds each step took (the issue asks for well under a second for listing and applying).
"""

from __future__ import annotations

import argparse
import ssl
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kubernetes import config, dynamic

from gitops.sandbox import SandboxServer


def _configmap(index: int) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"cm-{index:05d}", "labels": {"bench": "yes", "shard": str(index % 10)}},
        "data": {"key": "value" * 10},
    }


def _raw_list(server: SandboxServer) -> None:
    context = ssl.create_default_context(cadata=server.ca_pem)
    request = urllib.request.Request(f"{server.url}/api/v1/namespaces/bench/configmaps")
    request.add_header("Authorization", f"Bearer {server.admin_token}")
    with urllib.request.urlopen(request, context=context) as answer:
        answer.read()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=5000)
    parser.add_argument("--state-dir", type=Path, default=None)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="sandbox-bench-"))
    with SandboxServer(state_dir=args.state_dir) as server:
        api = config.new_client_from_config(config_file=str(server.write_kubeconfig(workdir / "kubeconfig")))
        api.configuration.connection_pool_maxsize = 16
        client = dynamic.DynamicClient(api, cache_file=str(workdir / "discovery.json"))
        configmaps = client.resources.get(api_version="v1", kind="ConfigMap")
        client.resources.get(api_version="v1", kind="Namespace").create(body={"metadata": {"name": "bench"}})

        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(
                    lambda i: configmaps.create(body=_configmap(i), namespace="bench"), range(args.objects)
                )
            )
        print(f"create {args.objects} objects: {time.perf_counter() - started:.2f} s")

        for label, call in (
            ("list all, raw HTTP (server + transfer)", lambda: _raw_list(server)),
            (
                "list all, dynamic client (incl. client-side decoding)",
                lambda: configmaps.get(namespace="bench"),
            ),
            ("list all (all namespaces)", lambda: configmaps.get()),
            ("list with label selector", lambda: configmaps.get(namespace="bench", label_selector="shard=3")),
            ("list first page of 500", lambda: configmaps.get(namespace="bench", limit=500)),
            (
                "apply one more",
                lambda: configmaps.server_side_apply(
                    body=_configmap(args.objects + 1), namespace="bench", field_manager="bench"
                ),
            ),
            (
                "apply a change to one",
                lambda: configmaps.server_side_apply(
                    body={**_configmap(1), "data": {"key": "changed"}},
                    namespace="bench",
                    field_manager="bench",
                    force_conflicts=True,
                ),
            ),
            ("get one", lambda: configmaps.get(name="cm-00042", namespace="bench")),
        ):
            started = time.perf_counter()
            call()
            print(f"{label}: {time.perf_counter() - started:.3f} s")


if __name__ == "__main__":
    main()
