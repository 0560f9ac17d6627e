#!/usr/bin/env python3
"""Records Python Eve's validation answers for eve-schema's replay tests.

Starts the reference oracle (/work/shared/oracle/eve-oracle, or $EVE_ORACLE)
on a free port with a generated settings file: one resource per group of
cases below, each with a schema exercising one rule. Every case payload is
sent (POST for insert, PUT for replace, PATCH for update, after creating the
stored document) and the status and `_issues` are written to
crates/schema/tests/data/oracle_cases.json.

Python 3 standard library only. Run from anywhere:

    python3 scripts/oracle/gen_validation_cases.py

Cases marked with `deviation` are places where eve-rs deliberately differs
from Eve (the text explains why); the replay test checks `product_issues`
for them instead of the oracle's answer.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "crates", "schema", "tests", "data", "oracle_cases.json")
ORACLE = os.environ.get("EVE_ORACLE", "/work/shared/oracle/eve-oracle")

OID1 = "5f0000000000000000000001"
OID2 = "5f0000000000000000000002"
OID9 = "5f0000000000000000000009"
DATE1 = "Tue, 02 Apr 2013 10:29:13 GMT"

# Each group: name, schema, cases; optional: mode ("insert" / "replace" /
# "update"), original (stored document for replace/update), resource
# (extra resource settings such as allow_unknown), seed (documents stored
# first, per resource name; "self" means the group's own resource).
# A case is a payload, or a dict {"payload": ..., "deviation": text,
# "product_issues": ...}.
GROUPS = []


def group(name, schema, cases, **kw):
    GROUPS.append(dict(name=name, schema=schema, cases=cases, **kw))


def dev(payload, why, product_issues):
    return {"payload": payload, "deviation": why, "product_issues": product_issues}


# --- types -----------------------------------------------------------------
group("t_string", {"f": {"type": "string"}},
      [{"f": "x"}, {"f": ""}, {"f": 1}, {"f": True}, {"f": None}, {"f": [1]}, {"f": {"a": 1}}])
group("t_integer", {"f": {"type": "integer"}},
      [{"f": 1}, {"f": -7}, {"f": "5"}, {"f": " 6 "}, {"f": True}, {"f": "abc"}, {"f": "5.5"},
       {"f": [1]}, {"f": None}, {"f": 2.0}, {"f": 12345678901234},
       dev({"f": 5.5}, "safer integer serializer: 5.5 is not truncated",
           {"f": "must be of integer type"})])
group("t_float", {"f": {"type": "float"}},
      [{"f": 1.5}, {"f": 1}, {"f": "2.5"}, {"f": "x"}, {"f": True}, {"f": [1]}, {"f": None}, {"f": "1e3"}])
group("t_number", {"f": {"type": "number"}},
      [{"f": 1}, {"f": 1.5}, {"f": "3"}, {"f": "3.5"}, {"f": "x"}, {"f": True}, {"f": "true"},
       {"f": None}, {"f": [1]}, {"f": "\"s\""}])
group("t_boolean", {"f": {"type": "boolean"}},
      [{"f": True}, {"f": False}, {"f": 1}, {"f": 0}, {"f": "true"}, {"f": "FALSE"}, {"f": "1"},
       {"f": "0"}, {"f": "yes"}, {"f": 2}, {"f": 1.0}, {"f": None}, {"f": []}])
group("t_datetime", {"f": {"type": "datetime"}},
      [{"f": DATE1}, {"f": "2012-01-01"}, {"f": 5}, {"f": None}, {"f": "Tue, 02 Apr 2013 10:29:13"}])
group("t_dict", {"f": {"type": "dict"}},
      [{"f": {}}, {"f": {"a": 1}}, {"f": []}, {"f": "x"}, {"f": 1}])
group("t_list", {"f": {"type": "list"}},
      [{"f": []}, {"f": [1, "a"]}, {"f": "ab"}, {"f": {}}, {"f": 1}])
group("t_set", {"f": {"type": "set"}}, [{"f": [1]}, {"f": "x"}])
group("t_date", {"f": {"type": "date"}}, [{"f": DATE1}, {"f": "2012-01-01"}])
group("t_binary", {"f": {"type": "binary"}}, [{"f": "abc"}])
group("t_objectid", {"f": {"type": "objectid"}},
      [{"f": OID1}, {"f": "abc"}, {"f": 5}, {"f": ""}, {"f": None}, {"f": "5F0000000000000000000001"}])
group("t_decimal", {"f": {"type": "decimal"}},
      [{"f": "1.5"}, {"f": 1.5}, {"f": 3}, {"f": "abc"}, {"f": None}, {"f": [1]}])
group("t_dbref", {"f": {"type": "dbref"}},
      [{"f": {"$ref": "users", "$id": OID1}}, {"f": {"$col": "users", "$id": OID1}},
       {"f": {"$ref": "users", "$id": OID1, "$db": "x"}}, {"f": {"$id": OID1}}, {"f": "x"},
       {"f": {"$ref": 5, "$id": 1}}])
group("t_media", {"f": {"type": "media"}}, [{"f": "abc"}, {"f": {"a": 1}}])
group("t_multi", {"f": {"type": ["string", "list"]}}, [{"f": "a"}, {"f": [1]}, {"f": 1}])
group("t_multi2", {"f": {"type": ["integer", "boolean"]}}, [{"f": 1}, {"f": False}, {"f": "x"}])
# GeoJSON
P = {"type": "Point", "coordinates": [100.0, 10.0]}
LS = {"type": "LineString", "coordinates": [[1, 2], [3, 4]]}
PG = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
group("t_point", {"f": {"type": "point"}},
      [{"f": P}, {"f": {"type": "Point", "coordinates": [1]}}, {"f": {"type": "point", "coordinates": [1, 2]}},
       {"f": {"type": "Point", "coordinates": [1, 2], "crs": {}}}, {"f": {"coordinates": [1, 2]}},
       {"f": {"type": "Point", "coordinates": ["a", 2]}}, {"f": [1, 2]}, {"f": {"type": "Point", "coordinates": [1, 2, 3]}},
       {"f": {"type": "Point", "coordinates": [True, 2]}}])
group("t_linestring", {"f": {"type": "linestring"}},
      [{"f": LS}, {"f": {"type": "Point", "coordinates": [[1, 2], [3, 4]]}}, {"f": {"type": "LineString", "coordinates": [1, 2]}},
       {"f": {"type": "LineString", "coordinates": []}}])
group("t_multipoint", {"f": {"type": "multipoint"}},
      [{"f": {"type": "MultiPoint", "coordinates": [[1, 2], [3, 4]]}}, {"f": {"type": "MultiPoint", "coordinates": [[1]]}}])
group("t_polygon", {"f": {"type": "polygon"}},
      [{"f": PG}, {"f": {"type": "Polygon", "coordinates": [[0, 0], [1, 1]]}}, {"f": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [5, 5]]]}}])
group("t_multilinestring", {"f": {"type": "multilinestring"}},
      [{"f": {"type": "MultiLineString", "coordinates": [[[1, 2], [3, 4]]]}}, {"f": {"type": "MultiLineString", "coordinates": [[1, 2]]}}])
group("t_multipolygon", {"f": {"type": "multipolygon"}},
      [{"f": {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]]]}},
       {"f": {"type": "MultiPolygon", "coordinates": [[[0, 0], [1, 0]]]}}])
group("t_geometrycollection", {"f": {"type": "geometrycollection"}},
      [{"f": {"type": "GeometryCollection", "geometries": [P, LS]}},
       {"f": {"type": "GeometryCollection", "geometries": [{"type": "Foo", "coordinates": [1, 2]}]}},
       {"f": {"type": "GeometryCollection", "geometries": P}},
       {"f": {"type": "Collection", "geometries": [P]}},
       {"f": {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [1]}]}}])
group("t_feature", {"f": {"type": "feature"}},
      [{"f": {"type": "Feature", "geometry": P}}, {"f": {"type": "Feature", "geometry": P, "properties": {}}},
       {"f": {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1]}}},
       {"f": {"type": "Feature", "geometry": {"type": "Bad", "coordinates": [1, 2]}}}])
group("t_featurecollection", {"f": {"type": "featurecollection"}},
      [{"f": {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": P}]}},
       {"f": {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": 5}]}},
       {"f": {"type": "FeatureCollection", "features": []}}])

# --- scalar rules ----------------------------------------------------------
group("r_required", {"a": {"type": "string", "required": True}, "b": {"type": "integer"}},
      [{"a": "x"}, {"b": 1}, {}, {"a": None}])
group("r_nullable", {"a": {"type": "string", "nullable": True, "minlength": 3}, "b": {"type": "string"}},
      [{"a": None}, {"b": None}, {"a": "x"}, {"a": None, "b": None}])
group("r_empty", {"s": {"type": "string", "empty": False, "minlength": 2},
                  "l": {"type": "list", "empty": False}, "d": {"type": "dict", "empty": False},
                  "t": {"type": "string", "empty": True, "minlength": 2, "regex": "a+"},
                  "u": {"type": "string", "minlength": 1}},
      [{"s": ""}, {"l": []}, {"d": {}}, {"t": ""}, {"u": ""}, {"s": "a"}, {"s": "ab"}])
group("r_readonly", {"ro": {"type": "string", "readonly": True}, "rod": {"type": "string", "readonly": True, "default": "d"},
                     "x": {"type": "string"}},
      [{"x": "a"}, {"ro": "a"}, {"rod": "b"}, {"ro": None}, {"ro": 5}])
group("r_minmaxlength", {"s": {"type": "string", "minlength": 2, "maxlength": 4},
                         "l": {"type": "list", "minlength": 1, "maxlength": 2},
                         "d": {"type": "dict", "maxlength": 1}},
      [{"s": "a"}, {"s": "abcde"}, {"s": "abc"}, {"l": []}, {"l": [1, 2, 3]}, {"d": {"a": 1, "b": 2}}])
group("r_minmax", {"i": {"type": "integer", "min": 1, "max": 10}, "f": {"type": "float", "min": 0.5, "max": 1.0},
                   "s": {"type": "string", "min": "b", "max": "d"}, "n": {"type": "number", "min": 1},
                   "m": {"type": "integer", "min": "x"}, "fm": {"type": "number", "max": 10.9}},
      [{"i": 0}, {"i": 11}, {"i": 5}, {"f": 1.5}, {"f": 0.1}, {"s": "a"}, {"s": "e"}, {"s": "c"}, {"n": 0.5},
       {"m": 5}, {"fm": 11}])
group("r_allowed", {"s": {"type": "string", "allowed": ["a", "b"]}, "i": {"type": "integer", "allowed": [1, 2]},
                    "l": {"type": "list", "allowed": ["a", "b"]}, "q": {"type": "string", "allowed": ["it's"]}},
      [{"s": "a"}, {"s": "c"}, {"i": 3}, {"i": 1}, {"l": ["a", "c", "d"]}, {"l": ["a", "c"]}, {"l": ["a"]},
       {"q": "x"}, {"l": [1, "z"]}])
group("r_forbidden", {"s": {"type": "string", "forbidden": ["admin", "root"]},
                      "l": {"type": "list", "forbidden": ["admin", "root"]}, "i": {"type": "integer", "forbidden": [0]}},
      [{"s": "admin"}, {"s": "joe"}, {"l": ["admin", "x"]}, {"l": ["x"]}, {"i": 0}, {"l": ["admin"]}])
group("r_contains", {"l": {"type": "list", "contains": "x"}, "m": {"type": "list", "contains": ["x", "y"]}},
      [{"l": ["x", "z"]}, {"l": ["z"]}, {"m": ["x"]}, {"m": ["x", "y"]}, {"l": []}])
group("r_regex", {"s": {"type": "string", "regex": "^[a-z]+$"}, "t": {"type": "string", "regex": "[a-z]+"},
                  "u": {"type": "string", "regex": "(?i)ab"}, "v": {"type": "string", "regex": "\\d{2}|x"},
                  "w": {"type": "integer", "regex": "a"}},
      [{"s": "abc"}, {"s": "ab1"}, {"t": "abc1"}, {"t": "1abc"}, {"t": "abc"}, {"u": "AB"}, {"u": "abc"},
       {"v": "12"}, {"v": "123"}, {"v": "x"}, {"v": "xy"}, {"w": 5}, {"s": "abc\n"}])
group("r_dependencies", {"a": {"type": "string", "dependencies": "b"}, "b": {"type": "string"},
                         "c": {"type": "string", "dependencies": ["a", "b"]},
                         "d": {"type": "string", "dependencies": {"b": ["one", "two"]}},
                         "e": {"type": "string", "dependencies": {"b": "one"}},
                         "g": {"type": "integer", "dependencies": "b", "min": 5}},
      [{"a": "x"}, {"a": "x", "b": "y"}, {"c": "x"}, {"c": "x", "a": "y", "b": "z"}, {"d": "x", "b": "three"},
       {"d": "x", "b": "one"}, {"d": "x"}, {"e": "x", "b": "two"}, {"g": 1}, {"g": "x"}])
group("r_dep_nested", {"sub": {"type": "dict", "schema": {"bar": {"type": "string"}}},
                       "x": {"type": "string", "dependencies": "sub.bar"},
                       "d": {"type": "dict", "schema": {"y": {"type": "string", "dependencies": "^x"},
                                                         "z": {"type": "string", "dependencies": "y"}}}},
      [{"x": "a"}, {"x": "a", "sub": {"bar": "b"}}, {"d": {"y": "a"}}, {"d": {"y": "a"}, "x": "b", "sub": {"bar": "q"}},
       {"d": {"z": "a"}}])
group("r_excludes", {"excl": {"type": "string", "excludes": ["s", "i"]}, "s": {"type": "string"}, "i": {"type": "integer"},
                     "one": {"type": "string", "excludes": "s"}},
      [{"excl": "a", "s": "b"}, {"excl": "a"}, {"one": "a", "s": "b"}, {"excl": "a", "i": 1, "s": "x"}])
group("r_excludes_req", {"a": {"type": "string", "required": True, "excludes": "b"},
                         "b": {"type": "string", "required": True, "excludes": "a"}},
      [{}, {"a": "x"}, {"b": "y"}, {"a": "x", "b": "y"}])
group("r_meta", {"f": {"type": "string", "meta": {"anything": [1, 2]}}}, [{"f": "x"}, {"f": 1}])
group("r_unknown", {"f": {"type": "string"}},
      [{"zzz": 1}, {"_created": DATE1}, {"_etag": "x"}, {"f": 1, "zz": 2, "aa": 3}])
group("r_unknown_allowed", {"f": {"type": "string"}}, [{"zzz": 1, "f": "a"}, {"f": 1, "z": 2}],
      resource={"allow_unknown": True})
group("r_order", {"b": {"type": "integer"}, "a": {"type": "integer"}, "C": {"type": "integer"}, "_x": {"type": "integer"}},
      [{"b": "x", "a": "y", "C": "z", "_x": "w", "zz": 1}])
group("r_multi_err", {"s": {"type": "string", "minlength": 5, "regex": "^[0-9]+$", "allowed": ["123456"], "maxlength": 1}},
      [{"s": "abc"}])

# --- nested ----------------------------------------------------------------
group("n_dict", {"location": {"type": "dict", "schema": {"address": {"type": "string"}, "city": {"type": "string", "required": True}}}},
      [{"location": {"city": 5}}, {"location": {"address": "x"}}, {"location": {"city": "a", "zip": 1}},
       {"location": "x"}, {"location": []}, {"location": {"city": "x"}}])
group("n_dict_deep", {"dsch": {"type": "dict", "schema": {"a": {"type": "integer"},
                                                          "b": {"type": "dict", "schema": {"c": {"type": "string", "required": True}}}}}},
      [{"dsch": {"a": "x", "b": {}}}, {"dsch": {"b": {"c": 1, "d": 2}}}])
group("n_dict_au", {"au": {"type": "dict", "allow_unknown": True, "schema": {"a": {"type": "string"}}},
                    "aur": {"type": "dict", "allow_unknown": {"type": "integer"}, "schema": {"a": {"type": "string"}}},
                    "pu": {"type": "dict", "purge_unknown": True, "schema": {"a": {"type": "string"}}},
                    "ra": {"type": "dict", "require_all": True, "schema": {"a": {"type": "string"}, "b": {"type": "string"}}}},
      [{"au": {"k": 1, "a": "x"}}, {"aur": {"k": "x"}}, {"aur": {"k": 1}}, {"pu": {"k": 1, "a": 1}}, {"ra": {}}, {"ra": {"a": "x"}}])
group("n_list_schema", {"lsch": {"type": "list", "schema": {"type": "integer", "max": 5}},
                        "l": {"type": "list", "maxlength": 2, "schema": {"type": "integer"}}},
      [{"lsch": [1, "x", 7]}, {"lsch": [1, 2]}, {"l": [1, "x", 3]}, {"lsch": "x"}, {"lsch": {"a": 1}}])
group("n_list_dicts", {"ldsch": {"type": "list", "schema": {"type": "dict", "schema": {"x": {"type": "integer"}, "y": {"type": "integer", "default": 3}}}}},
      [{"ldsch": [{"x": 1}, {"x": "a"}, {"y": 1, "z": 2}]}, {"ldsch": [1]}, {"ldsch": [{}]}])
group("n_list_of_lists", {"ll": {"type": "list", "schema": {"type": "list", "schema": {"type": "integer"}}}},
      [{"ll": [[1, 2], [3, "x"]]}, {"ll": [1]}])
group("n_items", {"items": {"type": "list", "items": [{"type": "string"}, {"type": "integer"}]}},
      [{"items": ["a", 1]}, {"items": [1, "a"]}, {"items": ["a"]}, {"items": ["a", 1, 2]}])
group("n_keysrules", {"ks": {"type": "dict", "keysrules": {"type": "string", "regex": "[a-z]+"}},
                      "ks2": {"type": "dict", "keyschema": {"type": "string", "minlength": 3}, "valueschema": {"type": "integer"}},
                      "vs": {"type": "dict", "valuesrules": {"type": "integer", "min": 10}},
                      "vs2": {"type": "dict", "valueschema": {"type": "dict", "schema": {"q": {"type": "integer"}}}}},
      [{"ks": {"KEY": 1}}, {"ks": {"abc": 1}}, {"vs": {"a": 5, "b": "x", "c": 11}}, {"ks2": {"ab": "x"}},
       {"ks2": {"ab": 1, "abcd": "y"}}, {"vs2": {"k": {"q": "x"}}}, {"vs": []}])

# --- logical ---------------------------------------------------------------
group("l_anyof", {"anyof": {"type": "integer", "anyof": [{"max": 10}, {"min": 100}]}},
      [{"anyof": 5}, {"anyof": 50}, {"anyof": 200}, {"anyof": "x"}])
group("l_allof", {"allof": {"type": "integer", "allof": [{"min": 0}, {"max": 10}]}}, [{"allof": 5}, {"allof": 11}, {"allof": -1}])
group("l_noneof", {"noneof": {"type": "integer", "noneof": [{"min": 10}, {"max": -10}]}}, [{"noneof": 0}, {"noneof": -20}, {"noneof": 20}])
group("l_oneof", {"oneof": {"type": "integer", "oneof": [{"min": 0}, {"min": 10}]}}, [{"oneof": 5}, {"oneof": 20}, {"oneof": -5}])
# Typesavers (anyof_type, ...) are dropped by eve-oracle's settings adapter,
# so they are covered by the Rust unit tests only.
group("l_anyof_dict", {"ad": {"type": "dict", "anyof": [{"schema": {"a": {"type": "integer"}}}, {"schema": {"b": {"type": "integer"}}}]}},
      [{"ad": {"a": 1}}, {"ad": {"a": "x"}}, {"ad": {"c": 1}}])
group("l_nullable", {"n": {"type": "integer", "nullable": True, "anyof": [{"min": 1}]}}, [{"n": None}])

# --- normalization ---------------------------------------------------------
group("d_default", {"a": {"type": "string", "default": "x"}, "b": {"type": "integer", "default": 5, "nullable": True},
                    "c": {"type": "string", "default": "q"},
                    "d": {"type": "dict", "schema": {"e": {"type": "string", "default": "z"}}}},
      [{}, {"b": None}, {"c": None}, {"d": {}}, {"a": 1}])
group("d_rename", {"old": {"rename": "new"}, "new": {"type": "integer"}}, [{"old": 1}, {"old": "x"}, {"new": 2}])
group("d_defaults_list", {"l": {"type": "list", "schema": {"type": "dict", "schema": {"a": {"type": "integer", "default": 1}}}}},
      [{"l": [{}, {"a": 2}]}])

# --- Eve rules -------------------------------------------------------------
group("e_unique", {"u": {"type": "string", "unique": True, "maxlength": 3}, "n": {"type": "string", "unique": True, "nullable": True},
                   "sub": {"type": "dict", "schema": {"k": {"type": "string", "unique": True}}}},
      [{"u": "doe"}, {"u": "new"}, {"u": "doexx"}, {"n": None}, {"sub": {"k": "v1"}}, {"sub": {"k": "v2"}}],
      seed={"self": [{"u": "doe", "n": None, "sub": {"k": "v1"}}]})
group("e_unique_within", {"u": {"type": "string", "unique_within_resource": True}}, [{"u": "a"}, {"u": "b"}],
      seed={"self": [{"u": "a"}]})
group("e_data_relation", {"author": {"type": "objectid", "data_relation": {"resource": "users", "field": "_id"}},
                          "authors": {"type": "list", "schema": {"type": "objectid", "data_relation": {"resource": "users"}}},
                          "byname": {"type": "string", "data_relation": {"resource": "users", "field": "name"}},
                          "nauthor": {"type": "objectid", "nullable": True, "data_relation": {"resource": "users"}},
                          "lauthors": {"type": "list", "data_relation": {"resource": "users", "field": "_id"}}},
      [{"author": OID1}, {"author": OID9}, {"authors": [OID1, OID9, OID2]}, {"byname": "nobody"}, {"byname": "alice"},
       {"nauthor": None}, {"lauthors": [OID1, OID9]}],
      seed={"users": [{"_id": OID1, "name": "alice"}, {"_id": OID2, "name": "bob"}]})
group("e_versioned", {"v": {"type": "string", "versioned": False}}, [{"v": "x"}])

# --- orderings and combinations ----------------------------------------------
group("x_dep_many", {"c": {"type": "string", "dependencies": ["a", "b", "d"]}, "a": {}, "b": {}, "d": {}},
      [{"c": "x"}, {"c": "x", "b": 1}])
group("x_rel_many", {"ls": {"type": "list", "data_relation": {"resource": "users", "field": "name"}}},
      [{"ls": ["a", "b", "c"]}], seed={"users": [{"name": "zed"}]})
group("x_unique_combo", {"u": {"type": "string", "unique": True, "maxlength": 2, "regex": "^[a-z]+$"}},
      [{"u": "AB9"}, {"u": "doe"}], seed={"self": [{"u": "do"}]})
group("x_readonly_type", {"ro": {"type": "integer", "readonly": True, "min": 5}}, [{"ro": "x"}, {"ro": 1}])
group("x_list_dict_req", {"l": {"type": "list", "schema": {"type": "dict", "schema": {"a": {"type": "string", "required": True},
                                                                              "b": {"type": "integer", "default": 1}}}}},
      [{"l": [{}, {"a": "x"}, {"a": 1, "z": 1}]}])
group("x_items_dicts", {"it": {"type": "list", "items": [{"type": "dict", "schema": {"a": {"type": "integer"}}}, {"type": "string"}]}},
      [{"it": [{"a": "x"}, 1]}])
group("x_misc", {"lmin": {"type": "list", "min": [1, 2]}, "dal": {"type": "dict", "allowed": ["a", "b"]},
                 "sc": {"type": "string", "contains": "x"}, "nd": {"type": "dict", "nullable": True, "schema": {"a": {"type": "integer"}}},
                 "nr": {"type": "string", "nullable": True, "readonly": True}},
      [{"lmin": [0, 5]}, {"lmin": [1, 2, 3]}, {"dal": {"a": 1, "c": 2}}, {"sc": "abc"}, {"sc": "x"}, {"nd": None}, {"nr": None}])
group("x_au_inherit", {"d": {"type": "dict", "schema": {"a": {"type": "integer"}}}}, [{"d": {"z": 1}, "top": 1}],
      resource={"allow_unknown": True})
group("x_logic_nested", {"l": {"type": "list", "schema": {"anyof": [{"type": "integer"}, {"type": "string", "minlength": 3}]}},
                         "d": {"type": "dict", "oneof": [{"schema": {"a": {"type": "integer"}}, "allow_unknown": True},
                                                         {"schema": {"b": {"type": "integer"}}, "allow_unknown": True}]}},
      [{"l": [1, "ab", True]}, {"d": {"a": 1, "b": 2}}, {"d": {"a": "x"}},
       dev({"l": [2.5]}, "safer integer serializer: Eve serializes list items through the anyof types and truncates 2.5",
           {"l": {"0": ["no definitions validate", {"anyof definition 0": "must be of integer type",
                                                    "anyof definition 1": "must be of string type"}]}})])
group("x_multi_field", {"a": {"type": "integer", "min": 5, "max": 1}, "b": {"type": "list", "minlength": 3, "contains": "z",
                                                                            "allowed": ["x"]}},
      [{"a": 3, "b": ["y"]}])

# --- modes -----------------------------------------------------------------
group("m_patch", {"a": {"type": "string", "required": True}, "ro": {"type": "string", "readonly": True, "default": "stored"},
                  "dep": {"type": "string", "dependencies": "b"}, "b": {"type": "string"},
                  "c": {"type": "string", "default": "cd"}, "n": {"type": "integer", "default": 7},
                  "sub": {"type": "dict", "schema": {"p": {"type": "string", "default": "pd"}, "q": {"type": "string"}}}},
      [{"b": "x"}, {"ro": "a"}, {"ro": "stored"}, {"dep": "x"}, {"a": 1}, {"zz": 1}, {"sub": {"q": "x"}}, {"a": None}],
      mode="update", original={"a": "x", "b": "y", "n": 1})
group("m_patch_nodep", {"a": {"type": "string"}, "dep": {"type": "string", "dependencies": "b"}, "b": {"type": "string"}},
      [{"dep": "x"}], mode="update", original={"a": "x"})
group("m_put", {"a": {"type": "string", "required": True}, "ro": {"type": "string", "readonly": True, "default": "stored"},
                "c": {"type": "string", "default": "cd"}},
      [{"a": "x"}, {"ro": "stored"}, {"a": "x", "ro": "other"}, {"a": "x", "ro": "stored"}],
      mode="replace", original={"a": "x"})


# ---------------------------------------------------------------------------

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def request(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")


def settings(extra):
    domain = {"users": {"schema": {"name": {"type": "string"}}}}
    for g in GROUPS:
        res = {"schema": g["schema"]}
        res.update(g.get("resource", {}))
        domain[g["name"]] = res
    s = {"DOMAIN": domain, "RESOURCE_METHODS": ["GET", "POST", "DELETE"],
         "ITEM_METHODS": ["GET", "PATCH", "PUT", "DELETE"], "IF_MATCH": False}
    s.update(extra)
    return s


def start_oracle(settings_doc):
    fd, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(settings_doc, f)
    port = free_port()
    proc = subprocess.Popen([ORACLE, path, "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=sys.stderr, text=True)
    line = proc.stdout.readline()
    if "listening" not in line:
        proc.terminate()
        raise SystemExit("oracle did not start: %r" % line)
    return proc, "http://127.0.0.1:%d" % port, path


def strip_meta(doc):
    return {k: v for k, v in doc.items() if k not in ("_created", "_updated", "_etag", "_links")}


def as_list_shape(issues):
    """The VALIDATION_ERROR_AS_LIST form of an `_issues` mapping."""
    out = {}
    for k, v in issues.items():
        if isinstance(v, dict):
            out[k] = [as_list_shape(v)]
        elif isinstance(v, list):
            out[k] = [as_list_shape(x) if isinstance(x, dict) else x for x in v]
        else:
            out[k] = [v]
    return out


def run_group(base, g, as_list):
    out = []
    name = g["name"]
    mode = g.get("mode", "insert")
    seeds = g.get("seed", {})
    # Each case gets a clean collection so that earlier cases do not interfere.
    for case in g["cases"]:
        if not isinstance(case, dict) or "payload" not in case:
            case = {"payload": case}
        for res in [name] + [r for r in seeds if r != "self"]:
            request(base, "DELETE", "/" + res)
        for res, docs in seeds.items():
            for d in docs:
                st, body = request(base, "POST", "/" + (name if res == "self" else res), d)
                assert st == 201, (name, d, st, body)
        original = None
        if mode == "insert":
            st, body = request(base, "POST", "/" + name, case["payload"])
        else:
            st, created = request(base, "POST", "/" + name, g["original"])
            assert st == 201, (name, st, created)
            oid = created["_id"]
            _, original = request(base, "GET", "/%s/%s" % (name, oid))
            original = strip_meta(original)
            method = "PUT" if mode == "replace" else "PATCH"
            st, body = request(base, method, "/%s/%s" % (name, oid), case["payload"])
        rec = {"name": "%s#%d" % (name, len(out)), "resource": name, "schema": g["schema"],
               "resource_settings": g.get("resource", {}), "mode": mode, "as_list": as_list,
               "original": original, "seed": seeds, "payload": case["payload"], "status": st,
               "issues": body.get("_issues") if isinstance(body, dict) else None}
        if not isinstance(body, dict):
            rec["raw_body"] = body
        if "deviation" in case:
            rec["deviation"] = case["deviation"]
            rec["product_issues"] = as_list_shape(case["product_issues"]) if as_list else case["product_issues"]
        out.append(rec)
    return out


AS_LIST_GROUPS = {"t_integer", "n_dict_deep", "n_list_schema", "r_unknown", "l_anyof", "n_keysrules"}


def main():
    results = []
    for as_list in (False, True):
        proc, base, path = start_oracle(settings({"VALIDATION_ERROR_AS_LIST": as_list}))
        try:
            for g in GROUPS:
                if as_list and g["name"] not in AS_LIST_GROUPS:
                    continue
                results.extend(run_group(base, g, as_list))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            os.unlink(path)
    with open(OUT, "w") as f:
        json.dump({"generated_by": "scripts/oracle/gen_validation_cases.py",
                   "oracle": "Python Eve 2.3.1 via eve-oracle", "cases": results}, f, indent=1)
        f.write("\n")
    print("wrote %d cases to %s" % (len(results), OUT))


if __name__ == "__main__":
    main()
