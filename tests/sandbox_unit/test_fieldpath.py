"""FieldsV1 encoding and path strings as structured-merge-diff writes them."""

from __future__ import annotations

from gitops.sandbox import fieldpath as fp


def test_fields_v1_orders_dot_first_then_fields_keys_values_indices() -> None:
    paths = {
        (fp.field("list"), fp.key({"port": 8080, "protocol": "TCP"})),
        (fp.field("list"), fp.key({"port": 80, "protocol": "TCP"})),
        (fp.field("list"), fp.key({"port": 80, "protocol": "TCP"}), fp.field("port")),
        (fp.field("b"),),
        (fp.field("a"), fp.value("y")),
        (fp.field("a"), fp.value(2)),
        (fp.field("a"), fp.value(True)),
    }

    encoded = fp.to_fields_v1(paths)

    assert list(encoded) == ["f:a", "f:b", "f:list"]
    assert list(encoded["f:a"]) == ["v:2", 'v:"y"', "v:true"]
    # Keys compare numerically: 80 before 8080.
    assert list(encoded["f:list"]) == ['k:{"port":80,"protocol":"TCP"}', 'k:{"port":8080,"protocol":"TCP"}']
    assert encoded["f:list"]['k:{"port":80,"protocol":"TCP"}'] == {".": {}, "f:port": {}}
    assert fp.from_fields_v1(encoded) == frozenset(paths)


def test_key_json_is_sorted_compact_and_html_escaped() -> None:
    assert fp.key({"z": 1, "a": "<b>&"}) == ("k", '{"a":"\\u003cb\\u003e\\u0026","z":1}')


def test_path_strings() -> None:
    path = (
        fp.field("spec"),
        fp.field("containers"),
        fp.key({"name": "web"}),
        fp.field("ports"),
        fp.key({"containerPort": 80, "protocol": "TCP"}),
        fp.field("finalizers"),
        fp.value("a"),
        fp.index(3),
    )
    assert (
        fp.path_string(path)
        == '.spec.containers[name="web"].ports[containerPort=80,protocol="TCP"].finalizers[="a"][3]'
    )
