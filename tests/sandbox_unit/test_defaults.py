"""Server-side defaults, as pkg/apis/*/v1/defaults.go set them."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from gitops.sandbox.defaults import DecodeError, apply_defaults, decode_message


def defaulted(text: str) -> dict[str, Any]:
    obj = yaml.safe_load(text)
    apply_defaults(obj)
    return obj


def test_deployment_defaults() -> None:
    obj = defaulted(
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
              - name: web
                image: nginx
                ports: [{containerPort: 80}]
                resources: {requests: {cpu: 0.5, memory: 1Gi}, limits: {cpu: 1000m, memory: 1073741824}}
                readinessProbe: {httpGet: {port: 80}}
        """
    )
    spec = obj["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    pod = spec["template"]["spec"]
    assert {
        k: pod[k]
        for k in (
            "restartPolicy",
            "dnsPolicy",
            "terminationGracePeriodSeconds",
            "schedulerName",
            "securityContext",
        )
    } == {
        "restartPolicy": "Always",
        "dnsPolicy": "ClusterFirst",
        "terminationGracePeriodSeconds": 30,
        "schedulerName": "default-scheduler",
        "securityContext": {},
    }
    container = pod["containers"][0]
    assert container["imagePullPolicy"] == "Always"
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert container["terminationMessagePolicy"] == "File"
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"cpu": "1", "memory": "1073741824"},
    }
    assert container["readinessProbe"] == {
        "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("registry:5000/app", "Always"),
        ("registry:5000/app:v1", "IfNotPresent"),
        ("app@sha256:abc", "IfNotPresent"),
    ],
)
def test_image_pull_policy_follows_the_tag(image: str, policy: str) -> None:
    obj = defaulted(
        f"{{apiVersion: v1, kind: Pod, metadata: {{name: p}}, spec: {{containers: [{{name: c, image: '{image}'}}]}}}}"
    )
    assert obj["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_explicit_values_are_kept() -> None:
    obj = defaulted(
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          replicas: 0
          strategy: {type: Recreate}
          template: {spec: {restartPolicy: Always, containers: [{name: c, image: x, imagePullPolicy: Never}]}}
        """
    )
    assert obj["spec"]["replicas"] == 0
    assert obj["spec"]["strategy"] == {"type": "Recreate"}
    assert obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Never"


def test_service_defaults() -> None:
    obj = defaulted(
        "{apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web}, ports: [{port: 80}, {port: 443, targetPort: https}]}}"
    )
    assert obj["spec"] == {
        "selector": {"app": "web"},
        "ports": [
            {"port": 80, "protocol": "TCP", "targetPort": 80},
            {"port": 443, "targetPort": "https", "protocol": "TCP"},
        ],
        "sessionAffinity": "None",
        "type": "ClusterIP",
        "internalTrafficPolicy": "Cluster",
        "ipFamilyPolicy": "SingleStack",
        "ipFamilies": ["IPv4"],
    }


def test_namespace_defaults() -> None:
    obj = defaulted("{apiVersion: v1, kind: Namespace, metadata: {name: shop}}")
    assert obj["metadata"]["labels"] == {"kubernetes.io/metadata.name": "shop"}
    assert obj["spec"] == {"finalizers": ["kubernetes"]}
    assert obj["status"] == {"phase": "Active"}


def test_statefulset_daemonset_job_cronjob_defaults() -> None:
    sts = defaulted(
        "{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: s}, spec: {template: {spec: {containers: []}}}}"
    )
    assert sts["spec"]["podManagementPolicy"] == "OrderedReady"
    assert sts["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }
    ds = defaulted(
        "{apiVersion: apps/v1, kind: DaemonSet, metadata: {name: d}, spec: {template: {spec: {containers: []}}}}"
    )
    assert ds["spec"]["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
    }
    job = defaulted(
        "{apiVersion: batch/v1, kind: Job, metadata: {name: j}, spec: {template: {metadata: {labels: {a: b}}, spec: {restartPolicy: Never, containers: []}}}}"
    )
    assert {
        k: job["spec"][k] for k in ("completions", "parallelism", "backoffLimit", "completionMode", "suspend")
    } == {
        "completions": 1,
        "parallelism": 1,
        "backoffLimit": 6,
        "completionMode": "NonIndexed",
        "suspend": False,
    }
    assert job["metadata"]["labels"] == {"a": "b"}
    cron = defaulted(
        "{apiVersion: batch/v1, kind: CronJob, metadata: {name: c}, spec: {schedule: '* * * * *'}}"
    )
    assert {
        k: cron["spec"][k]
        for k in ("concurrencyPolicy", "suspend", "successfulJobsHistoryLimit", "failedJobsHistoryLimit")
    } == {
        "concurrencyPolicy": "Allow",
        "suspend": False,
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 1,
    }


def test_volume_defaults() -> None:
    obj = defaulted(
        "{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [], volumes: [{name: a}, {name: b, configMap: {name: c}}, {name: s, secret: {secretName: s}}]}}"
    )
    assert obj["spec"]["volumes"] == [
        {"name": "a", "emptyDir": {}},
        {"name": "b", "configMap": {"name": "c", "defaultMode": 420}},
        {"name": "s", "secret": {"secretName": "s", "defaultMode": 420}},
    ]
    assert obj["spec"]["enableServiceLinks"] is True


def test_secret_type_and_pvc_defaults() -> None:
    assert defaulted("{apiVersion: v1, kind: Secret, metadata: {name: s}}")["type"] == "Opaque"
    pvc = defaulted(
        "{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: p}, spec: {resources: {requests: {storage: 1000Mi}}}}"
    )
    assert pvc["spec"] == {"resources": {"requests": {"storage": "1000Mi"}}, "volumeMode": "Filesystem"}
    assert pvc["status"] == {"phase": "Pending"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {port: 8080}}",
            'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal number into Go struct field ConfigMap.data of type string',
        ),
        (
            "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {on: true}}",
            'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal bool into Go struct field ConfigMap.data of type string',
        ),
        (
            "{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {template: {spec: {containers: [{name: c, image: i, resources: {limits: {cpu: lots}}}]}}}}",
            "Deployment in version \"v1\" cannot be handled as a Deployment: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        ),
    ],
)
def test_undecodable_objects_raise_decode_error(text: str, message: str) -> None:
    obj = yaml.safe_load(text)
    with pytest.raises(DecodeError) as caught:
        apply_defaults(obj)
    assert decode_message(obj, caught.value) == message


def test_a_given_hpa_behavior_gets_both_rules_with_their_defaults() -> None:
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "h"},
        "spec": {"maxReplicas": 3, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}},
    }
    apply_defaults(hpa)
    behavior = hpa["spec"]["behavior"]
    assert behavior["scaleDown"] == {
        "stabilizationWindowSeconds": 60,
        "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
    }
    assert behavior["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert [p["type"] for p in behavior["scaleUp"]["policies"]] == ["Pods", "Percent"]
    without = {**hpa, "spec": {"maxReplicas": 3}}
    apply_defaults(without)
    assert "behavior" not in without["spec"]
