"""Differential: the same API calls give the same answers on the sandbox and on a real v1.28 cluster.

Each scenario drives the official client (raw requests through its ApiClient) through a sequence of calls
in its own namespace, and records a normalised trace: status code, reason, chosen body fields, Status
causes, Warning headers. The trace must equal the expectation recorded in ``differential.yaml``, which
holds kube-apiserver v1.28 behaviour. The sandbox always runs the scenarios; with ``GITOPS_TEST_KUBECONFIG``
set, the real cluster runs them too, against the same expectations. To re-record them from a real cluster:
``GITOPS_TEST_KUBECONFIG=... GITOPS_DIFFERENTIAL_RECORD=1 pytest tests/sandbox/test_differential.py``.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rawhttp import Answer, call

EXPECTED_FILE = Path(__file__).with_name("differential.yaml")
RECORD_ENV = "GITOPS_DIFFERENTIAL_RECORD"
APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
WARNING = re.compile(r'299 - "((?:[^"\\]|\\.)*)"')
IMAGE = "registry.k8s.io/pause:3.9"


class Trace:
    """Runs calls against one cluster and records what a user of the API would compare."""

    def __init__(self, api_client: Any, namespace: str, group: str = "") -> None:
        self.api_client = api_client
        self.namespace = namespace
        self.group = group
        self.steps: list[dict[str, Any]] = []

    def call(
        self,
        step: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        query: dict[str, str] | None = None,
        keep: tuple[str, ...] = (),
        present: tuple[str, ...] = (),
        message: bool = True,
    ) -> Answer:
        """One call; ``keep``: dotted body paths recorded as values, ``present``: paths recorded as present or not."""
        answer = call(
            self.api_client,
            method,
            path.replace("{ns}", self.namespace),
            body,
            content_type=content_type,
            query=list((query or {}).items()),
        )
        record: dict[str, Any] = {"step": step, "code": answer.status}
        body_ = answer.body if isinstance(answer.body, dict) else {}
        if body_.get("kind") == "Status" and answer.status >= 400:
            record["reason"] = body_.get("reason", "")
            if message:
                record["message"] = self._normal(body_.get("message", ""))
            causes = (body_.get("details") or {}).get("causes") or []
            if causes:
                record["causes"] = sorted(
                    f"{c.get('reason', '')} {c.get('field', '')}".strip() for c in causes
                )
        for dotted in keep:
            record[dotted] = self._normal(_dig(body_, dotted))
        for dotted in present:
            record[f"has {dotted}"] = _dig(body_, dotted) is not None
        warnings = [w.replace('\\"', '"') for w in WARNING.findall(answer.headers.get("Warning", ""))]
        if warnings:
            record["warnings"] = warnings
        self.steps.append(record)
        return answer

    def _normal(self, value: Any) -> Any:
        if isinstance(value, str):
            value = value.replace(self.namespace, "NS")
            return value.replace(self.group, "GROUP") if self.group else value
        if isinstance(value, list):
            return [self._normal(v) for v in value]
        if isinstance(value, dict):
            return {
                k: self._normal(v) for k, v in value.items() if k not in ("time", "uid", "resourceVersion")
            }
        return value


def _dig(body: Any, dotted: str) -> Any:
    value = body
    for part in dotted.split("."):
        if isinstance(value, list) and part.isdigit():
            value = value[int(part)] if int(part) < len(value) else None
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def managers(answer: Answer) -> list[list[Any]]:
    entries = (answer.body.get("metadata") or {}).get("managedFields") or []
    return sorted([e["manager"], e["operation"], e.get("fieldsV1")] for e in entries)


def configmap(name: str, data: dict[str, str] | None = None, **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, **metadata},
        "data": data or {},
    }


def deployment(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": IMAGE}]},
            },
            **spec,
        },
    }


CM = "/api/v1/namespaces/{ns}/configmaps"
DEPLOY = "/apis/apps/v1/namespaces/{ns}/deployments"


# ---------------------------------------------------------------------------------------------- scenarios


def ssa_two_managers_and_force(t: Trace) -> None:
    applied = configmap("shared", {"a": "1", "b": "x"})
    first = t.call(
        "alpha applies",
        "PATCH",
        f"{CM}/shared",
        applied,
        content_type=APPLY,
        query={"fieldManager": "alpha"},
        keep=("data",),
    )
    t.steps[-1]["managers"] = managers(first)
    t.call(
        "beta applies a field alpha owns",
        "PATCH",
        f"{CM}/shared",
        configmap("shared", {"a": "2"}),
        content_type=APPLY,
        query={"fieldManager": "beta"},
    )
    forced = t.call(
        "beta forces",
        "PATCH",
        f"{CM}/shared",
        configmap("shared", {"a": "2"}),
        content_type=APPLY,
        query={"fieldManager": "beta", "force": "true"},
        keep=("data",),
    )
    t.steps[-1]["managers"] = managers(forced)
    again = t.call(
        "alpha drops what it no longer applies",
        "PATCH",
        f"{CM}/shared",
        configmap("shared", {"c": "y"}),
        content_type=APPLY,
        query={"fieldManager": "alpha"},
        keep=("data",),
    )
    t.steps[-1]["managers"] = managers(again)
    t.call(
        "force on a non-apply patch",
        "PATCH",
        f"{CM}/shared",
        {"data": {"d": "z"}},
        content_type=MERGE,
        query={"force": "true"},
    )
    t.call("apply without a field manager", "PATCH", f"{CM}/shared", configmap("shared"), content_type=APPLY)


def dry_runs(t: Trace) -> None:
    dry = {"dryRun": "All"}
    t.call(
        "create dry run",
        "POST",
        CM,
        configmap("dry", {"k": "v"}),
        query=dry,
        keep=("data",),
        present=("metadata.uid", "metadata.creationTimestamp"),
    )
    t.call("nothing was created", "GET", f"{CM}/dry")
    t.call("create", "POST", CM, configmap("dry", {"k": "v"}))
    t.call(
        "patch dry run",
        "PATCH",
        f"{CM}/dry",
        {"data": {"k": "changed"}},
        content_type=MERGE,
        query=dry,
        keep=("data",),
    )
    t.call("delete dry run", "DELETE", f"{CM}/dry", query=dry)
    t.call("the object is unchanged", "GET", f"{CM}/dry", keep=("data",))
    t.call(
        "apply dry run",
        "PATCH",
        f"{CM}/ghost",
        configmap("ghost", {"k": "v"}),
        content_type=APPLY,
        query={"fieldManager": "gitops", **dry},
        keep=("data",),
    )
    t.call("nothing was applied", "GET", f"{CM}/ghost")
    t.call("dry run of an invalid object", "POST", CM, configmap("dry-bad", {"bad key": "v"}), query=dry)


def patches(t: Trace) -> None:
    t.call(
        "create",
        "POST",
        DEPLOY,
        deployment("web"),
        keep=("spec.template.metadata", "spec.template.spec.containers.0.imagePullPolicy"),
    )
    t.call(
        "merge patch adds a label",
        "PATCH",
        f"{DEPLOY}/web",
        {"metadata": {"labels": {"x": "1"}}},
        content_type=MERGE,
        keep=("metadata.labels",),
    )
    t.call(
        "merge patch null removes it",
        "PATCH",
        f"{DEPLOY}/web",
        {"metadata": {"labels": {"x": None}}},
        content_type=MERGE,
        keep=("metadata.labels",),
    )
    t.call(
        "json patch test fails",
        "PATCH",
        f"{DEPLOY}/web",
        [{"op": "test", "path": "/spec/replicas", "value": 5}],
        content_type=JSON_PATCH,
    )
    t.call(
        "json patch replace",
        "PATCH",
        f"{DEPLOY}/web",
        [{"op": "replace", "path": "/spec/replicas", "value": 2}],
        content_type=JSON_PATCH,
        keep=("spec.replicas", "metadata.generation"),
    )
    sidecar = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": IMAGE}]}}}}
    added = t.call(
        "strategic merge adds a container", "PATCH", f"{DEPLOY}/web", sidecar, content_type=STRATEGIC
    )
    t.steps[-1]["containers"] = [c["name"] for c in added.body["spec"]["template"]["spec"]["containers"]]
    removal = {"spec": {"template": {"spec": {"containers": [{"name": "web", "$patch": "delete"}]}}}}
    removed = t.call("strategic merge deletes one", "PATCH", f"{DEPLOY}/web", removal, content_type=STRATEGIC)
    t.steps[-1]["containers"] = [c["name"] for c in removed.body["spec"]["template"]["spec"]["containers"]]
    t.call("patch of a missing object", "PATCH", f"{DEPLOY}/nothing", {"metadata": {}}, content_type=MERGE)
    t.call("unsupported patch type", "PATCH", f"{DEPLOY}/web", {}, content_type="application/x-unknown")


def validation_errors(t: Trace) -> None:
    mismatched = deployment("mismatch")
    mismatched["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    t.call("selector does not match the template", "POST", DEPLOY, mismatched)
    t.call("bad data key", "POST", CM, configmap("badkey", {"bad key": "v"}))
    unknown = {**configmap("unknown", {"k": "v"}), "colour": "red"}
    t.call("unknown field warns by default", "POST", CM, unknown, keep=("colour",))
    t.call(
        "unknown field under Strict",
        "POST",
        CM,
        {**unknown, "metadata": {"name": "strict"}},
        query={"fieldValidation": "Strict"},
    )
    t.call(
        "unknown field under Ignore",
        "POST",
        CM,
        {**unknown, "metadata": {"name": "ignored"}},
        query={"fieldValidation": "Ignore"},
    )
    typed = deployment("typed")
    typed["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": True}]
    t.call("a boolean where a string belongs", "POST", DEPLOY, typed)
    t.call(
        "strict merge patch with an unknown field",
        "PATCH",
        f"{CM}/unknown",
        {"colour": "blue"},
        content_type=MERGE,
        query={"fieldValidation": "Strict"},
        message=False,
    )
    t.call(
        "a number where a map belongs, by merge patch",
        "PATCH",
        f"{CM}/unknown",
        {"data": {"k": 1}},
        content_type=MERGE,
        message=False,
    )
    wrong = deployment("applied")
    wrong["spec"]["colour"] = "red"
    t.call(
        "apply with an undeclared field",
        "PATCH",
        f"{DEPLOY}/applied",
        wrong,
        content_type=APPLY,
        query={"fieldManager": "gitops"},
    )
    wrong = deployment("applied", replicas="three")
    t.call(
        "apply with a wrong type",
        "PATCH",
        f"{DEPLOY}/applied",
        wrong,
        content_type=APPLY,
        query={"fieldManager": "gitops"},
    )
    t.call("nothing was created", "GET", f"{DEPLOY}/applied")


def immutable_fields(t: Trace) -> None:
    t.call("create", "POST", DEPLOY, deployment("web"))
    moved = {
        "spec": {
            "selector": {"matchLabels": {"app": "web", "tier": "x"}},
            "template": {"metadata": {"labels": {"tier": "x"}}},
        }
    }
    t.call("selector change", "PATCH", f"{DEPLOY}/web", moved, content_type=STRATEGIC, message=False)
    t.call("immutable configmap", "POST", CM, {**configmap("frozen", {"k": "v"}), "immutable": True})
    t.call("its data change", "PATCH", f"{CM}/frozen", {"data": {"k": "w"}}, content_type=MERGE)
    t.call("its immutability change", "PATCH", f"{CM}/frozen", {"immutable": False}, content_type=MERGE)
    t.call(
        "its labels may change",
        "PATCH",
        f"{CM}/frozen",
        {"metadata": {"labels": {"a": "b"}}},
        content_type=MERGE,
        keep=("metadata.labels",),
    )


def selectors(t: Trace) -> None:
    for name, labels in (
        ("cm-a", {"tier": "a", "env": "prod"}),
        ("cm-b", {"tier": "b"}),
        ("cm-c", {"env": "dev"}),
    ):
        t.call(f"create {name}", "POST", CM, configmap(name, labels=labels))
    for selector in ("tier=a", "tier!=a", "tier", "!tier", "tier in (a,b),env", "env notin (prod)"):
        listed = t.call(f"labels {selector}", "GET", CM, query={"labelSelector": selector})
        t.steps[-1]["names"] = sorted(
            i["metadata"]["name"] for i in listed.body["items"] if i["metadata"]["name"].startswith("cm-")
        )
    listed = t.call("field metadata.name", "GET", CM, query={"fieldSelector": "metadata.name=cm-b"})
    t.steps[-1]["names"] = [i["metadata"]["name"] for i in listed.body["items"]]
    t.call("unsupported field", "GET", CM, query={"fieldSelector": "data.x=1"})
    t.call("bad label selector", "GET", CM, query={"labelSelector": "tier in a"}, message=False)


def finalizers(t: Trace) -> None:
    t.call("create with a finalizer", "POST", CM, configmap("held", finalizers=["example.com/hold"]))
    t.call(
        "delete",
        "DELETE",
        f"{CM}/held",
        keep=("metadata.finalizers",),
        present=("metadata.deletionTimestamp",),
    )
    t.call("still there", "GET", f"{CM}/held", present=("metadata.deletionTimestamp",))
    t.call(
        "no new finalizer while deleting",
        "PATCH",
        f"{CM}/held",
        {"metadata": {"finalizers": ["example.com/hold", "example.com/more"]}},
        content_type=MERGE,
    )
    t.call(
        "release",
        "PATCH",
        f"{CM}/held",
        {"metadata": {"finalizers": None}},
        content_type=MERGE,
        keep=("metadata.finalizers",),
    )
    t.call("gone", "GET", f"{CM}/held")


def watch_options(t: Trace) -> None:
    watch = {"watch": "true", "timeoutSeconds": "1"}
    t.call(
        "streaming lists need the WatchList gate",
        "GET",
        CM,
        query={
            **watch,
            "sendInitialEvents": "true",
            "resourceVersionMatch": "NotOlderThan",
            "allowWatchBookmarks": "true",
        },
    )
    t.call("and resourceVersionMatch", "GET", CM, query={**watch, "sendInitialEvents": "true"})
    t.call(
        "a resource version too old",
        "GET",
        CM,
        query={**watch, "resourceVersion": "1"},
        keep=("type", "object.code", "object.reason"),
    )


def registry_strategies(t: Trace) -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "once"},
        "spec": {
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": IMAGE}]}}
        },
    }
    created = t.call("create a job", "POST", "/apis/batch/v1/namespaces/{ns}/jobs", job)
    uid = created.body["metadata"]["uid"]
    spec = created.body["spec"]
    t.steps[-1]["selector"] = {k: v == uid for k, v in spec["selector"]["matchLabels"].items()}
    t.steps[-1]["template labels"] = {
        k: v == uid or v for k, v in spec["template"]["metadata"]["labels"].items()
    }
    t.steps[-1]["labels"] = sorted(created.body["metadata"].get("labels") or {})
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "np"},
        "spec": {"type": "NodePort", "selector": {"app": "np"}, "ports": [{"port": 80}]},
    }
    created = t.call(
        "create a NodePort service",
        "POST",
        "/api/v1/namespaces/{ns}/services",
        service,
        keep=("status", "spec.ports.0.targetPort", "spec.externalTrafficPolicy"),
    )
    node_port = created.body["spec"]["ports"][0].get("nodePort")
    t.steps[-1]["node port allocated"] = isinstance(node_port, int) and 30000 <= node_port <= 32767
    kept = t.call(
        "an update without the node port",
        "PATCH",
        "/api/v1/namespaces/{ns}/services/np",
        {"spec": {"ports": [{"port": 80, "targetPort": 8080}]}},
        content_type=STRATEGIC,
    )
    t.steps[-1]["node port kept"] = kept.body["spec"]["ports"][0].get("nodePort") == node_port


WIDGET_SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"type": "integer", "minimum": 1},
                "color": {"type": "string", "enum": ["red", "blue"]},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        },
    },
}


def crd_pruning_and_validation(t: Trace) -> None:
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{t.group}"},
        "spec": {
            "group": t.group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": WIDGET_SCHEMA}}
            ],
        },
    }
    t.call("create the CRD", "POST", crds, crd)
    widgets = f"/apis/{t.group}/v1/namespaces/{{ns}}/widgets"
    _wait(lambda: call(t.api_client, "GET", widgets.replace("{ns}", t.namespace)).status == 200)

    def widget(name: str, **spec: Any) -> dict[str, Any]:
        return {"apiVersion": f"{t.group}/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}

    t.call(
        "unknown fields are pruned with a warning",
        "POST",
        widgets,
        widget("pruned", size=1, colour="red", extra={"free": {"deep": 1}}),
        keep=("spec",),
    )
    t.call(
        "unknown fields under Strict",
        "POST",
        widgets,
        widget("strict", size=1, colour="red"),
        query={"fieldValidation": "Strict"},
    )
    t.call("wrong type", "POST", widgets, widget("typed", size="big"))
    t.call("missing required field", "POST", widgets, widget("empty"))
    t.call(
        "below the minimum and not in the enum",
        "POST",
        widgets,
        widget("bounds", size=0, color="green"),
        message=False,
    )
    t.call(
        "apply with an undeclared field",
        "PATCH",
        f"{widgets}/applied",
        widget("applied", size=1, colour="red"),
        content_type=APPLY,
        query={"fieldManager": "gitops"},
    )
    t.call(
        "apply with a wrong type",
        "PATCH",
        f"{widgets}/applied",
        widget("applied", size="big"),
        content_type=APPLY,
        query={"fieldManager": "gitops"},
    )
    t.call(
        "apply a valid one",
        "PATCH",
        f"{widgets}/applied",
        widget("applied", size=2, extra={"any": ["x"]}),
        content_type=APPLY,
        query={"fieldManager": "gitops"},
        keep=("spec",),
    )
    t.call(
        "strategic merge patch on a custom resource",
        "PATCH",
        f"{widgets}/applied",
        {"spec": {"size": 3}},
        content_type=STRATEGIC,
    )
    t.call(
        "merge patch to an invalid value",
        "PATCH",
        f"{widgets}/applied",
        {"spec": {"size": 0}},
        content_type=MERGE,
    )


def _wait(ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60
    while not ready():
        assert time.monotonic() < deadline, "the custom resource was never served"
        time.sleep(0.1)


SCENARIOS: dict[str, Callable[[Trace], None]] = {
    f.__name__: f
    for f in (
        ssa_two_managers_and_force,
        dry_runs,
        patches,
        validation_errors,
        immutable_fields,
        selectors,
        finalizers,
        watch_options,
        registry_strategies,
        crd_pruning_and_validation,
    )
}


# ---------------------------------------------------------------------------------------------- running


@pytest.fixture(scope="module")
def sandbox_kubeconfig(cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The sandbox's kubeconfig: the session's when it is the sandbox, else one of its own."""
    if cluster.sandbox is not None:
        yield cluster.kubeconfig
        return
    from gitops.sandbox import SandboxServer

    with SandboxServer() as server:
        yield server.write_kubeconfig(tmp_path_factory.mktemp("differential") / "kubeconfig")


def _targets() -> list[str]:
    return ["sandbox", "cluster"] if os.environ.get("GITOPS_TEST_KUBECONFIG") else ["sandbox"]


@contextlib.contextmanager
def _namespace(api_client: Any) -> Iterator[str]:
    name = f"gd-{secrets.token_hex(4)}"
    created = call(
        api_client,
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
    )
    assert created.status == 201, created.body
    try:
        yield name
    finally:
        call(api_client, "DELETE", f"/api/v1/namespaces/{name}")


def run(kubeconfig: Path, scenario: str) -> list[dict[str, Any]]:
    from kubernetes import config

    group = f"g{secrets.token_hex(4)}.gitops.test"
    with (
        config.new_client_from_config(config_file=str(kubeconfig)) as api_client,
        _namespace(api_client) as ns,
    ):
        trace = Trace(api_client, ns, group)
        try:
            SCENARIOS[scenario](trace)
        finally:
            call(
                api_client,
                "DELETE",
                f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.{group}",
            )
    return trace.steps


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("target", _targets())
def test_same_answers_as_kube_apiserver_1_28(
    target: str, scenario: str, cluster: Any, sandbox_kubeconfig: Path
) -> None:
    kubeconfig = sandbox_kubeconfig if target == "sandbox" else cluster.kubeconfig
    steps = run(kubeconfig, scenario)
    expected = yaml.safe_load(EXPECTED_FILE.read_text()) if EXPECTED_FILE.exists() else {}
    if os.environ.get(RECORD_ENV) and target == "cluster":
        expected[scenario] = steps
        header = "".join(line for line in EXPECTED_FILE.read_text().splitlines(True) if line.startswith("#"))
        EXPECTED_FILE.write_text(header + yaml.safe_dump(expected, sort_keys=False, width=200))
    assert steps == expected.get(scenario)
