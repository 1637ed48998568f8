#!/usr/bin/env python3
"""Writes openapi.json, the OpenAPI 3.1 document of VJVector's public REST API, beside this script.

The document is the source of truth that clients and code generators read; this script is how it is
written, so that the shared parts (envelopes, query parameters, schemas) are written once. The route
table (src/api/route_table.cc, `vjvector routes`) stays the one place routes are declared:
tests/e2e/test_openapi.py fails on a route without an operation here or an operation without a route,
on an `x-vjvector-permission` that is not the route's, and when openapi.json is not this script's output.

After changing a route or a request/response shape:
    python3 src/api/openapi/make_openapi.py          # rewrites src/api/openapi/openapi.json
    python3 src/api/openapi/make_openapi.py --check  # exit 1 when openapi.json is stale
The binary embeds openapi.json at build time (src/api/CMakeLists.txt) and serves it at GET /openapi.json.

Shapes and names follow Qdrant's published OpenAPI document where VJVector implements the same thing;
what is described is what VJVector accepts (the codecs in src/api/*_codec.cc, src/collection/).
Python 3 standard library only.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "openapi.json")
QDRANT_API_VERSION = "1.18.0"  # kQdrantApiVersion (api/handlers_collections.cc)

SCHEMAS = {}


def ref(name):
    assert name in SCHEMAS or name in PENDING, f"unknown schema {name}"
    return {"$ref": f"#/components/schemas/{name}"}


PENDING = set()


def schema(name, body):
    SCHEMAS[name] = body
    return body


def declare(*names):
    PENDING.update(names)


def obj(props, required=(), description=None, strict=True, example=None, **extra):
    """A JSON object. strict: no other fields. Request bodies: unknown fields are refused (400 unknown
    field "x"), as VJVector does. Answers: the fields listed are all the server sends (test_openapi.py
    validates live answers against them, so a new field must be described here); the few answers left
    open (strict=False) are noted."""
    out = {"type": "object"}
    if description:
        out["description"] = description
    out["properties"] = props
    if required:
        out["required"] = list(required)
    if strict:
        out["additionalProperties"] = False
    if example is not None:
        out["example"] = example
    out.update(extra)
    return out


def nullable(s):
    return {"anyOf": [s, {"type": "null"}]}


def desc(text, s):
    return {"description": text, **s}


def arr(items, **extra):
    return {"type": "array", "items": items, **extra}


UINT = {"type": "integer", "minimum": 0}
NUM = {"type": "number"}
STR = {"type": "string"}
BOOL = {"type": "boolean"}
ANY_OBJ = {"type": "object"}
NULL = {"type": "null"}
IGNORED_SHARD_KEY = desc("Accepted and ignored (VJVector has no user-defined shard keys).", {})

declare("Filter", "Condition", "VectorInput", "Prefetch", "QueryInterface", "ScoredPoint", "PayloadFieldSchema", "PayloadSchemaType",
        "TextIndexParams")

# ---------------------------------------------------------------------------------------------------
# Points, vectors, payloads
# ---------------------------------------------------------------------------------------------------
schema("ExtendedPointId", {
    "description": "A point id: an unsigned 64-bit integer or a UUID string.",
    "anyOf": [{"type": "integer", "minimum": 0, "maximum": 18446744073709551615},
              {"type": "string", "format": "uuid"}],
    "example": 42,
})
schema("Payload", {"type": "object", "description": "Any JSON object.", "additionalProperties": True,
                   "example": {"city": "Berlin", "price": 12.5}})
schema("DenseVector", arr(NUM, description="Finite float32 numbers; the collection's dimension.",
                          example=[0.1, 0.2, 0.3, 0.4]))
schema("SparseVector", obj({
    "indices": arr({"type": "integer", "minimum": 0, "maximum": 4294967295}, description="Distinct indices, any order."),
    "values": arr(NUM, description="One finite float32 per index."),
}, required=["indices", "values"], description="A sparse vector (at most limits.sparse_vector_nnz entries).",
    example={"indices": [1, 7], "values": [0.5, 0.25]}))
schema("Document", obj({
    "text": STR,
    "model": desc("The one model served: qdrant/bm25 (docs/api.md).", {"type": "string", "const": "qdrant/bm25"}),
    "options": obj({"language": STR, "k": NUM, "b": NUM, "avg_len": NUM}),
}, required=["text"], description="Server-side inference: text encoded into a sparse vector (BM25)."))
schema("VectorStruct", {
    "description": "A point's vectors: one unnamed dense vector, or named dense/sparse vectors (Documents for sparse ones).",
    "anyOf": [ref("DenseVector"),
              {"type": "object", "additionalProperties": {"anyOf": [ref("DenseVector"), ref("SparseVector"), ref("Document")]}}],
})
schema("VectorStructOutput", {
    "anyOf": [ref("DenseVector"),
              {"type": "object", "additionalProperties": {"anyOf": [ref("DenseVector"), ref("SparseVector")]}}],
})
schema("PointStruct", obj({
    "id": ref("ExtendedPointId"),
    "vector": ref("VectorStruct"),
    "payload": nullable(ref("Payload")),
}, required=["id", "vector"], example={"id": 1, "vector": [0.1, 0.2, 0.3, 0.4], "payload": {"city": "Berlin"}}))
schema("Batch", obj({
    "ids": arr(ref("ExtendedPointId")),
    "vectors": {"anyOf": [arr(ref("DenseVector")), {"type": "object", "additionalProperties": arr({})}]},
    "payloads": nullable(arr(nullable(ref("Payload")))),
}, required=["ids", "vectors"], description="Column form of an upsert: one vector (and payload) per id."))
schema("PointInsertOperations", {
    "anyOf": [obj({"points": arr(ref("PointStruct")), "shard_key": IGNORED_SHARD_KEY}, required=["points"]),
              obj({"batch": ref("Batch"), "shard_key": IGNORED_SHARD_KEY}, required=["batch"])],
    "example": {"points": [{"id": 1, "vector": [0.1, 0.2, 0.3, 0.4], "payload": {"city": "Berlin", "price": 10}},
                           {"id": 2, "vector": [0.4, 0.3, 0.2, 0.1], "payload": {"city": "London", "price": 20}},
                           {"id": 3, "vector": [0.2, 0.2, 0.3, 0.3], "payload": {"city": "Berlin", "price": 30}}]},
})
schema("OrderValue", {"anyOf": [{"type": "integer"}, NUM]})
schema("Record", obj({
    "id": ref("ExtendedPointId"),
    "payload": nullable(ref("Payload")),
    "vector": nullable(ref("VectorStructOutput")),
    "shard_key": {},
    "order_value": ref("OrderValue"),
}, required=["id"], strict=True, description="A stored point."))
schema("ScoredPoint", obj({
    "id": ref("ExtendedPointId"),
    "version": desc("Always 0: the store keeps no per-point version.", UINT),
    "score": desc("Similarity (Cosine, Dot) or distance (Euclid, Manhattan) to the query.", NUM),
    "payload": nullable(ref("Payload")),
    "vector": nullable(ref("VectorStructOutput")),
    "shard_key": {},
    "order_value": ref("OrderValue"),
}, required=["id", "version", "score"], strict=True))
schema("UpdateResult", obj({
    "operation_id": desc("The shard log position after the write.", nullable(UINT)),
    "status": {"type": "string", "enum": ["acknowledged", "completed"],
               "description": "completed with ?wait=true (durable and visible), else acknowledged."},
}, required=["status"], strict=True))
schema("WithPayloadInterface", {
    "description": "true/false, a list of keys to include, or {include} / {exclude}.",
    "anyOf": [BOOL, arr(STR), obj({"include": arr(STR)}, required=["include"]),
              obj({"exclude": arr(STR)}, required=["exclude"])],
})
schema("WithVector", {"description": "true/false or a list of vector names.", "anyOf": [BOOL, arr(STR)]})
schema("PointIdsList", obj({"points": arr(ref("ExtendedPointId")), "shard_key": IGNORED_SHARD_KEY}, required=["points"]))
schema("FilterSelector", obj({"filter": ref("Filter"), "shard_key": IGNORED_SHARD_KEY}, required=["filter"]))
schema("PointsSelector", {"anyOf": [ref("PointIdsList"), ref("FilterSelector")], "example": {"points": [3]}})
schema("PointRequest", obj({
    "ids": arr(ref("ExtendedPointId")),
    "with_payload": ref("WithPayloadInterface"),
    "with_vector": ref("WithVector"),
    "shard_key": IGNORED_SHARD_KEY,
}, required=["ids"], example={"ids": [1, 2], "with_payload": True, "with_vector": False}))
SELECTOR_PROPS = {"points": arr(ref("ExtendedPointId")), "filter": ref("Filter"), "shard_key": IGNORED_SHARD_KEY}
schema("SetPayload", obj({
    "payload": ref("Payload"),
    **SELECTOR_PROPS,
    "key": desc("A JSON path (a.b, a[0], a[]) to set the payload at.", STR),
}, required=["payload"], description="Points by id (`points`) or by `filter`.",
    example={"payload": {"color": "red"}, "points": [1, 2]}))
schema("DeletePayload", obj({"keys": arr(STR), **SELECTOR_PROPS}, required=["keys"],
                            example={"keys": ["color"], "points": [1]}))
schema("PointVectors", obj({"id": ref("ExtendedPointId"), "vector": ref("VectorStruct")}, required=["id", "vector"]))
schema("UpdateVectors", obj({
    "points": arr(ref("PointVectors")),
    "shard_key": IGNORED_SHARD_KEY,
    "update_filter": desc("Only null; a value is refused with 400: not supported.", NULL),
}, required=["points"], example={"points": [{"id": 2, "vector": {"": [0.5, 0.5, 0.5, 0.5], "sparse": {"indices": [1, 7], "values": [0.5, 0.25]}}}]}))
schema("DeleteVectors", obj({"vector": arr(STR, description="Vector names to remove."), **SELECTOR_PROPS},
                            required=["vector"], example={"points": [3], "vector": ["sparse"]}))
schema("UpdateOperation", {
    "description": "One operation of a batch, with the body of its own route.",
    "anyOf": [obj({"upsert": ref("PointInsertOperations")}, required=["upsert"]),
              obj({"delete": ref("PointsSelector")}, required=["delete"]),
              obj({"set_payload": ref("SetPayload")}, required=["set_payload"]),
              obj({"overwrite_payload": ref("SetPayload")}, required=["overwrite_payload"]),
              obj({"delete_payload": ref("DeletePayload")}, required=["delete_payload"]),
              obj({"clear_payload": ref("PointsSelector")}, required=["clear_payload"]),
              obj({"update_vectors": ref("UpdateVectors")}, required=["update_vectors"]),
              obj({"delete_vectors": ref("DeleteVectors")}, required=["delete_vectors"])],
})
schema("UpdateOperations", obj({"operations": arr(ref("UpdateOperation"))}, required=["operations"], example={
    "operations": [{"set_payload": {"payload": {"batch": True}, "points": [1]}},
                   {"delete_payload": {"keys": ["batch"], "points": [1]}}]}))

# ---------------------------------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------------------------------
VALUE = {"anyOf": [STR, {"type": "integer"}, BOOL]}
schema("MatchValue", obj({"value": VALUE}, required=["value"]))
schema("MatchAny", obj({"any": {"anyOf": [arr(STR), arr({"type": "integer"})]}}, required=["any"]))
schema("MatchExcept", obj({"except": {"anyOf": [arr(STR), arr({"type": "integer"})]}}, required=["except"]))
schema("MatchText", obj({"text": desc("At most 4 KiB.", STR)}, required=["text"]))
schema("MatchTextAny", obj({"text_any": STR}, required=["text_any"]))
schema("MatchPhrase", obj({"phrase": STR}, required=["phrase"]))
schema("Match", {"anyOf": [ref(n) for n in ("MatchValue", "MatchAny", "MatchExcept", "MatchText", "MatchTextAny", "MatchPhrase")]})
RANGE_BOUND = {"anyOf": [NUM, {"type": "string", "description": "An RFC 3339 date-time"}, {"type": "null"}]}
schema("Range", obj({k: RANGE_BOUND for k in ("lt", "gt", "gte", "lte")},
                    description="Numbers, or RFC 3339 date-times (all bounds of one kind)."))
schema("ValuesCount", obj({k: nullable(UINT) for k in ("lt", "gt", "gte", "lte")}))
schema("FieldCondition", obj({
    "key": desc("A payload key: a.b, a[].b, a[0].", STR),
    "match": ref("Match"),
    "range": ref("Range"),
    "values_count": ref("ValuesCount"),
}, required=["key"], description="Geo conditions are refused (400 not supported)."))
schema("PayloadField", obj({"key": STR}, required=["key"]))
schema("IsEmptyCondition", obj({"is_empty": ref("PayloadField")}, required=["is_empty"]))
schema("IsNullCondition", obj({"is_null": ref("PayloadField")}, required=["is_null"]))
schema("HasIdCondition", obj({"has_id": arr(ref("ExtendedPointId"))}, required=["has_id"]))
schema("HasVectorCondition", obj({"has_vector": desc('A vector name ("" for the unnamed one).', STR)},
                                 required=["has_vector"]))
schema("Condition", {"anyOf": [ref(n) for n in ("FieldCondition", "IsEmptyCondition", "IsNullCondition",
                                                "HasIdCondition", "HasVectorCondition", "Filter")]})
CLAUSE = {"anyOf": [ref("Condition"), arr(ref("Condition")), {"type": "null"}]}
schema("MinShould", obj({"conditions": arr(ref("Condition")), "min_count": UINT}, required=["conditions", "min_count"]))
schema("Filter", obj({
    "must": CLAUSE, "should": CLAUSE, "must_not": CLAUSE, "min_should": nullable(ref("MinShould")),
}, description="Qdrant's filter: each clause is a condition or a list; a condition may be a filter.",
    example={"must": [{"key": "city", "match": {"value": "Berlin"}}]}))

# ---------------------------------------------------------------------------------------------------
# Search, query, recommend, discover
# ---------------------------------------------------------------------------------------------------
schema("QuantizationSearchParams", obj({"ignore": BOOL, "rescore": BOOL, "oversampling": NUM}))
schema("SearchParams", obj({
    "hnsw_ef": {"type": "integer", "minimum": 0, "maximum": 65536},
    "exact": BOOL,
    "quantization": ref("QuantizationSearchParams"),
    "indexed_only": desc("Accepted and ignored.", BOOL),
}))
schema("NamedVector", obj({"name": STR, "vector": ref("DenseVector")}, required=["name", "vector"]))
schema("NamedSparseVector", obj({"name": STR, "vector": ref("SparseVector")}, required=["name", "vector"]))
COMMON_SEARCH = {
    "filter": nullable(ref("Filter")),
    "params": nullable(ref("SearchParams")),
    "limit": desc("Default 10.", UINT),
    "offset": UINT,
    "score_threshold": nullable(NUM),
    "with_payload": ref("WithPayloadInterface"),
    "with_vector": ref("WithVector"),
    "shard_key": IGNORED_SHARD_KEY,
}
schema("SearchRequest", obj({
    "vector": {"anyOf": [ref("DenseVector"), ref("NamedVector"), ref("NamedSparseVector")]},
    **COMMON_SEARCH,
}, required=["vector"], example={"vector": [0.1, 0.2, 0.3, 0.4], "limit": 3, "with_payload": True}))
schema("SearchRequestBatch", obj({"searches": arr(ref("SearchRequest")), "shard_key": IGNORED_SHARD_KEY},
                                 required=["searches"],
                                 example={"searches": [{"vector": [0.1, 0.2, 0.3, 0.4], "limit": 2}]}))
schema("VectorInput", {
    "description": "A dense vector, a sparse vector, a Document, or a point id (that point's vector).",
    "anyOf": [ref("DenseVector"), ref("SparseVector"), ref("Document"), ref("ExtendedPointId")],
})
schema("Mmr", obj({"diversity": {"type": "number", "minimum": 0, "maximum": 1}, "candidates_limit": UINT}))
schema("NearestQuery", obj({"nearest": ref("VectorInput"), "mmr": ref("Mmr")}, required=["nearest"]))
schema("RecommendStrategy", {"type": "string", "enum": ["average_vector", "best_score", "sum_scores"]})
schema("RecommendInput", obj({
    "positive": nullable(arr(ref("VectorInput"))),
    "negative": nullable(arr(ref("VectorInput"))),
    "strategy": nullable(ref("RecommendStrategy")),
}))
schema("RecommendQuery", obj({"recommend": ref("RecommendInput")}, required=["recommend"]))
schema("ContextPair", obj({"positive": ref("VectorInput"), "negative": ref("VectorInput")},
                          required=["positive", "negative"]))
CONTEXT = {"anyOf": [ref("ContextPair"), arr(ref("ContextPair")), {"type": "null"}]}
schema("DiscoverInput", obj({"target": ref("VectorInput"), "context": CONTEXT}, required=["target", "context"]))
schema("DiscoverQuery", obj({"discover": ref("DiscoverInput")}, required=["discover"]))
schema("ContextQuery", obj({"context": CONTEXT}, required=["context"]))
schema("FusionQuery", obj({"fusion": {"type": "string", "enum": ["rrf", "dbsf"]}}, required=["fusion"]))
schema("RrfQuery", obj({"rrf": obj({"k": {"type": "integer", "minimum": 1}, "weights": arr(NUM)})}, required=["rrf"]))
schema("QueryInterface", {
    "description": "What a query node does; formula, order_by, sample and multi-vectors are refused (400).",
    "anyOf": [ref("VectorInput")] + [ref(n) for n in ("NearestQuery", "RecommendQuery", "DiscoverQuery",
                                                       "ContextQuery", "FusionQuery", "RrfQuery")],
})
PREFETCH_PROPS = {
    "prefetch": {"anyOf": [ref("Prefetch"), arr(ref("Prefetch")), {"type": "null"}]},
    "query": nullable(ref("QueryInterface")),
    "using": nullable(desc("The vector name to search.", STR)),
    "filter": nullable(ref("Filter")),
    "params": nullable(ref("SearchParams")),
    "score_threshold": nullable(NUM),
    "limit": desc("Default 10.", UINT),
    "lookup_from": desc("Only null; a value is refused with 400: not supported.", NULL),
}
schema("Prefetch", obj(PREFETCH_PROPS))
schema("QueryRequest", obj({
    **PREFETCH_PROPS,
    "offset": UINT,
    "with_payload": ref("WithPayloadInterface"),
    "with_vector": ref("WithVector"),
    "shard_key": IGNORED_SHARD_KEY,
}, description="A query plan (docs/api.md, Query API). Without `query`: points in id order.",
    example={"query": [0.1, 0.2, 0.3, 0.4], "limit": 3, "with_payload": True}))
schema("QueryRequestBatch", obj({"searches": arr(ref("QueryRequest")), "shard_key": IGNORED_SHARD_KEY},
                                required=["searches"],
                                example={"searches": [{"query": [0.1, 0.2, 0.3, 0.4], "limit": 2},
                                                      {"query": {"nearest": 2}, "limit": 1}]}))
schema("QueryResponse", obj({"points": arr({"anyOf": [ref("ScoredPoint"), ref("Record")]}, description=(
    "Scored points; a query without `query` (points in id order) answers records, without score or "
    "version (Qdrant's ScoredPoint always has both: typed clients may refuse these)."))}, required=["points"], strict=True))
RECOMMEND_PROPS = {
    "positive": arr(ref("VectorInput")),
    "negative": arr(ref("VectorInput")),
    "strategy": ref("RecommendStrategy"),
    "using": nullable(STR),
    "lookup_from": desc("Only null; a value is refused with 400: not supported.", NULL),
    **COMMON_SEARCH,
}
schema("RecommendRequest", obj(RECOMMEND_PROPS, example={"positive": [1], "negative": [2], "limit": 2}))
schema("RecommendRequestBatch", obj({"searches": arr(ref("RecommendRequest")), "shard_key": IGNORED_SHARD_KEY},
                                    required=["searches"], example={"searches": [{"positive": [1], "limit": 2}]}))
DISCOVER_PROPS = {
    "target": nullable(ref("VectorInput")),
    "context": CONTEXT,
    "using": nullable(STR),
    "lookup_from": desc("Only null; a value is refused with 400: not supported.", NULL),
    **{k: v for k, v in COMMON_SEARCH.items() if k != "score_threshold"},
}
schema("DiscoverRequest", obj(DISCOVER_PROPS, description="Without target: a context search over the pairs.",
                              example={"target": 1, "context": [{"positive": 2, "negative": 3}], "limit": 2}))
schema("DiscoverRequestBatch", obj({"searches": arr(ref("DiscoverRequest")), "shard_key": IGNORED_SHARD_KEY},
                                   required=["searches"],
                                   example={"searches": [{"target": 1, "context": [{"positive": 2, "negative": 3}]}]}))
schema("WithLookup", obj({"collection": STR, "with_payload": ref("WithPayloadInterface"),
                          "with_vectors": ref("WithVector"), "with_vector": ref("WithVector")},
                         required=["collection"]))
GROUP_PROPS = {
    "group_by": desc("A payload key (JSON path); one group per distinct string or integer value.", STR),
    "group_size": desc("Hits per group (query/groups: default 3).", UINT),
    "limit": desc("Groups (query/groups: default 10).", UINT),
    "with_lookup": {"anyOf": [STR, ref("WithLookup")]},
    "filter": nullable(ref("Filter")),
    "params": nullable(ref("SearchParams")),
    "score_threshold": nullable(NUM),
    "with_payload": ref("WithPayloadInterface"),
    "with_vector": ref("WithVector"),
    "shard_key": IGNORED_SHARD_KEY,
}
schema("SearchGroupsRequest", obj({
    "vector": {"anyOf": [ref("DenseVector"), ref("NamedVector")]}, **GROUP_PROPS,
}, required=["vector", "group_by", "group_size", "limit"],
    example={"vector": [0.1, 0.2, 0.3, 0.4], "group_by": "city", "group_size": 2, "limit": 2}))
schema("QueryGroupsRequest", obj({
    "query": {"anyOf": [ref("DenseVector"), ref("ExtendedPointId"), obj({"nearest": {"anyOf": [ref("DenseVector"), ref("ExtendedPointId")]}}, required=["nearest"])]},
    "using": nullable(STR),
    "prefetch": desc("Only null; a value is refused with 400: not supported with groups.", NULL),
    "lookup_from": desc("Only null; a value is refused with 400: not supported.", NULL),
    **GROUP_PROPS,
}, required=["query", "group_by"], example={"query": [0.1, 0.2, 0.3, 0.4], "group_by": "city", "group_size": 2}))
schema("GroupId", {"anyOf": [STR, {"type": "integer"}]})
schema("PointGroup", obj({"id": ref("GroupId"), "hits": arr(ref("ScoredPoint")), "lookup": nullable(ref("Record"))},
                         required=["id", "hits"], strict=True))
schema("GroupsResult", obj({"groups": arr(ref("PointGroup"))}, required=["groups"], strict=True))

# ---------------------------------------------------------------------------------------------------
# Scroll, count, facet, matrix
# ---------------------------------------------------------------------------------------------------
schema("OrderBy", obj({
    "key": STR,
    "direction": {"type": "string", "enum": ["asc", "desc"]},
    "start_from": {"anyOf": [NUM, STR]},
}, required=["key"]))
schema("ScrollRequest", obj({
    "offset": nullable(ref("ExtendedPointId")),
    "limit": desc("Default 10.", UINT),
    "filter": nullable(ref("Filter")),
    "with_payload": ref("WithPayloadInterface"),
    "with_vector": ref("WithVector"),
    "order_by": {"anyOf": [STR, ref("OrderBy")], "description": "Needs an integer, float or datetime payload index."},
    "shard_key": IGNORED_SHARD_KEY,
}, example={"limit": 2, "with_payload": True}))
schema("ScrollResult", obj({"points": arr(ref("Record")), "next_page_offset": nullable(ref("ExtendedPointId"))},
                           required=["points"], strict=True))
schema("CountRequest", obj({"filter": nullable(ref("Filter")), "exact": BOOL, "shard_key": IGNORED_SHARD_KEY},
                           example={"filter": {"must": [{"key": "city", "match": {"value": "Berlin"}}]}, "exact": True}))
schema("CountResult", obj({"count": UINT}, required=["count"], strict=True))
schema("FacetRequest", obj({
    "key": desc("Needs a keyword, uuid, integer or bool payload index.", STR),
    "filter": nullable(ref("Filter")), "limit": desc("Default 10.", UINT), "exact": BOOL,
    "shard_key": IGNORED_SHARD_KEY,
}, required=["key"], example={"key": "city", "limit": 5}))
schema("FacetValueHit", obj({"value": {"anyOf": [STR, {"type": "integer"}, BOOL]}, "count": UINT},
                            required=["value", "count"], strict=True))
schema("FacetResponse", obj({"hits": arr(ref("FacetValueHit"))}, required=["hits"], strict=True))
schema("SearchMatrixRequest", obj({
    "filter": nullable(ref("Filter")),
    "sample": desc("Points sampled, 2 to 1000 (default 10).", UINT),
    "limit": desc("Neighbours per sampled point (default 3).", UINT),
    "using": nullable(STR),
    "shard_key": IGNORED_SHARD_KEY,
}, example={"sample": 3, "limit": 1}))
schema("SearchMatrixPair", obj({"a": ref("ExtendedPointId"), "b": ref("ExtendedPointId"), "score": NUM},
                               required=["a", "b", "score"], strict=True))
schema("SearchMatrixPairsResponse", obj({"pairs": arr(ref("SearchMatrixPair"))}, required=["pairs"], strict=True))
schema("SearchMatrixOffsetsResponse", obj({
    "offsets_row": arr(UINT), "offsets_col": arr(UINT), "scores": arr(NUM), "ids": arr(ref("ExtendedPointId")),
}, required=["offsets_row", "offsets_col", "scores", "ids"], strict=True))

# ---------------------------------------------------------------------------------------------------
# Collections
# ---------------------------------------------------------------------------------------------------
schema("Distance", {"type": "string", "enum": ["Cosine", "Dot", "Euclid", "Manhattan"]})
schema("HnswConfigDiff", obj({
    "m": {"type": "integer", "minimum": 2, "maximum": 128},
    "ef_construct": {"type": "integer", "minimum": 4, "maximum": 4096},
    "full_scan_threshold": desc("KB of vectors below which a search is exact (default 10000).", UINT),
    "ef": desc("VJVector: the default search breadth (128).", UINT),
    "max_indexing_threads": desc("Accepted and ignored.", {}),
    "on_disk": desc("Accepted and ignored.", {}),
    "payload_m": desc("Accepted and ignored.", {}),
}))
schema("ScalarQuantization", obj({"scalar": obj({
    "type": {"type": "string", "const": "int8"}, "quantile": NUM, "always_ram": nullable(BOOL),
    "ranges": desc("VJVector: how the 8-bit ranges are fitted: auto (default: one global range for integer "
                   "data that fits 256 steps, such as pixels; else a range per dimension), global, "
                   "per_dimension.", {"type": "string", "enum": ["auto", "global", "per_dimension"]})})},
    required=["scalar"]))
schema("BinaryQuantization", obj({"binary": obj({"always_ram": nullable(BOOL)})}, required=["binary"]))
schema("QuantizationConfig", {"description": "Product quantization is refused (400).",
                              "anyOf": [ref("ScalarQuantization"), ref("BinaryQuantization")]})
schema("QuantizationConfigDiff", {"anyOf": [ref("ScalarQuantization"), ref("BinaryQuantization"),
                                            {"type": "string", "const": "Disabled"}]})
schema("VectorParams", obj({
    "size": {"type": "integer", "minimum": 1, "maximum": 65536},
    "distance": ref("Distance"),
    "hnsw_config": nullable(ref("HnswConfigDiff")),
    "quantization_config": nullable(ref("QuantizationConfig")),
    "on_disk": desc("Accepted; vectors are stored on disk either way.", nullable(BOOL)),
    "datatype": desc('Only "float32".', nullable(STR)),
    "multivector_config": desc("Only null; a value is refused with 400: no multivectors.", NULL),
}, required=["size", "distance"]))
schema("VectorsConfig", {"anyOf": [ref("VectorParams"), {"type": "object", "additionalProperties": ref("VectorParams")}]})
schema("SparseVectorParams", obj({
    "index": nullable(obj({"on_disk": nullable(BOOL), "full_scan_threshold": nullable(UINT),
                           "datatype": desc('Only "float32".', nullable(STR))})),
    "modifier": nullable({"type": "string", "enum": ["none", "idf"]}),
}))
STRICT_FIELDS = {
    "enabled": BOOL, "max_query_limit": UINT, "max_timeout": UINT, "unindexed_filtering_retrieve": BOOL,
    "unindexed_filtering_update": BOOL, "search_max_hnsw_ef": UINT, "search_allow_exact": BOOL,
    "search_max_oversampling": NUM, "upsert_max_batchsize": UINT, "search_max_batchsize": UINT,
    "max_collection_vector_size_bytes": UINT, "max_collection_payload_size_bytes": UINT,
    "max_points_count": UINT, "filter_max_conditions": UINT, "condition_max_size": UINT,
    "read_rate_limit": UINT, "write_rate_limit": UINT, "max_payload_index_count": UINT,
    "max_resident_memory_percent": NUM,
    "multivector_config": desc("Only null; a value is refused with 400.", NULL), "sparse_config": desc("Only null: a value is refused (400).", NULL),
}
schema("StrictModeConfig", obj({k: nullable(v) if "type" in v else v for k, v in STRICT_FIELDS.items()},
                               description="Limits on requests to the collection (docs/api.md, Strict mode)."))
schema("CreateCollection", obj({
    "vectors": ref("VectorsConfig"),
    "sparse_vectors": nullable({"type": "object", "additionalProperties": ref("SparseVectorParams")}),
    "hnsw_config": nullable(ref("HnswConfigDiff")),
    "quantization_config": nullable(ref("QuantizationConfig")),
    "shard_number": nullable(desc("Default 1; cluster mode: at most 100.", {"type": "integer", "minimum": 1, "maximum": 1024})),
    "replication_factor": nullable(desc("Cluster mode: replicas per shard, on distinct nodes.", {"type": "integer", "minimum": 1, "maximum": 16})),
    "write_consistency_factor": nullable(desc("Replicas that must hold a wait=true write.", {"type": "integer", "minimum": 1, "maximum": 16})),
    "strict_mode_config": nullable(ref("StrictModeConfig")),
    "on_disk_payload": desc("Only false is accepted.", nullable(BOOL)),
    "wal_config": desc("Accepted and ignored.", {}),
    "optimizers_config": desc("Only an empty object is accepted.", {}),
    "init_from": desc("Only null; a value is refused with 400: not supported.", NULL),
    "sharding_method": desc("Accepted and ignored.", {}),
    "payload_schema": nullable(desc("Payload indexes to create, by key (the shape a stored config carries).",
                                    {"type": "object", "additionalProperties": ref("PayloadFieldSchema")})),
}, example={"vectors": {"size": 4, "distance": "Cosine"}, "sparse_vectors": {"sparse": {"modifier": "idf"}}}))
schema("UpdateCollection", obj({
    "strict_mode_config": nullable(ref("StrictModeConfig")),
    "vectors": nullable({"type": "object", "additionalProperties": obj({
        "hnsw_config": nullable(ref("HnswConfigDiff")),
        "quantization_config": nullable(ref("QuantizationConfigDiff")),
        "on_disk": desc("Only null; a value is refused with 400.", NULL)})}),
    "hnsw_config": nullable(ref("HnswConfigDiff")),
    "quantization_config": nullable(ref("QuantizationConfigDiff")),
    "optimizers_config": desc("Null or empty only (400 otherwise).", {}),
    "params": desc("Null or empty only (400 otherwise).", {}),
    "sparse_vectors": desc("Null or empty only (400 otherwise).", {}),
    "metadata": desc("Null or empty only (400 otherwise).", {}),
}, description="A config diff: the fields given replace the stored ones.",
    example={"hnsw_config": {"ef": 64}}))
schema("CollectionDescription", obj({"name": STR}, required=["name"], strict=True))
schema("CollectionsResponse", obj({"collections": arr(ref("CollectionDescription"))}, required=["collections"], strict=True))
schema("CollectionExistence", obj({"exists": BOOL}, required=["exists"], strict=True))
schema("CollectionStatus", {"type": "string", "enum": ["green", "yellow", "grey", "red"]})
schema("PayloadIndexInfo", obj({"data_type": ref("PayloadSchemaType"), "params": nullable(ref("TextIndexParams")), "points": UINT},
                                required=["data_type"], strict=True))
schema("CollectionParams", obj({
    "vectors": ref("VectorsConfig"),
    "shard_number": UINT, "replication_factor": UINT, "write_consistency_factor": UINT,
    "on_disk_payload": BOOL,
    "sparse_vectors": {"type": "object", "additionalProperties": ref("SparseVectorParams")},
}, required=["shard_number", "replication_factor", "write_consistency_factor"], strict=True))
schema("CollectionConfig", obj({
    "params": ref("CollectionParams"),
    "hnsw_config": obj({"m": UINT, "ef_construct": UINT, "full_scan_threshold": UINT,
                        "max_indexing_threads": UINT, "on_disk": BOOL},
                       required=["m", "ef_construct", "full_scan_threshold"]),
    "optimizer_config": obj({"indexing_threshold": UINT, "flush_interval_sec": UINT},
                            description="Zeros: VJVector has no optimizers; returned so Qdrant clients read it."),
    "wal_config": obj({"wal_capacity_mb": UINT, "wal_segments_ahead": UINT},
                      description="Zeros: returned so Qdrant clients read it."),
    "quantization_config": nullable(ref("QuantizationConfig")),
    "strict_mode_config": ref("StrictModeConfig"),
}, required=["params", "hnsw_config"], strict=True))
schema("CollectionInfo", obj({
    "status": ref("CollectionStatus"),
    "optimizer_status": {},
    "vectors_count": nullable(UINT),
    "indexed_vectors_count": nullable(UINT),
    "points_count": nullable(UINT),
    "segments_count": UINT,
    "config": ref("CollectionConfig"),
    "payload_schema": {"type": "object", "additionalProperties": ref("PayloadIndexInfo")},
}, required=["status", "config", "payload_schema"], strict=True))
schema("PayloadSchemaType", {"type": "string", "enum": ["keyword", "integer", "float", "bool", "uuid", "datetime", "text"]})
schema("TextIndexParams", obj({
    "type": {"type": "string", "const": "text"},
    "tokenizer": {"type": "string", "enum": ["word", "whitespace", "prefix", "multilingual"]},
    "lowercase": BOOL,
    "min_token_len": {"type": "integer", "minimum": 0, "maximum": 1024},
    "max_token_len": {"type": "integer", "minimum": 0, "maximum": 1024},
    "stopwords": {"anyOf": [STR, obj({"languages": arr(STR), "custom": arr(STR)})]},
    "stemmer": obj({"type": {"type": "string", "const": "snowball"}, "language": STR}, required=["type", "language"]),
    "phrase_matching": BOOL,
    "ascii_folding": desc("Only false.", {"type": "boolean", "const": False}),
    "on_disk": desc("Only false.", {"type": "boolean", "const": False}),
}, required=["type"], description="A full-text index (docs/api.md, Full-text index)."))
schema("PayloadFieldSchema", {"anyOf": [
    ref("PayloadSchemaType"),
    ref("TextIndexParams"),
    {"type": "object", "required": ["type"], "properties": {
        "type": {"type": "string", "enum": ["keyword", "integer", "float", "bool", "uuid", "datetime"]}},
     "description": "Qdrant's params object of the other types: only `type` is read, other params are ignored."},
]})
schema("CreateFieldIndex", obj({"field_name": STR, "field_schema": ref("PayloadFieldSchema")},
                               required=["field_name", "field_schema"],
                               example={"field_name": "city", "field_schema": "keyword"}))
MORE_EXAMPLES_LATE = {"CreateFieldIndex": {
    "text": ("A full-text index", {"field_name": "note", "field_schema": {
        "type": "text", "tokenizer": "word", "lowercase": True, "min_token_len": 2, "stopwords": "english",
        "stemmer": {"type": "snowball", "language": "english"}, "phrase_matching": True}}),
    "integer": ("An integer index (for order_by, facet)", {"field_name": "price", "field_schema": {"type": "integer"}}),
}}

# ---------------------------------------------------------------------------------------------------
# Aliases, snapshots, cluster
# ---------------------------------------------------------------------------------------------------
schema("AliasOperations", {"anyOf": [
    obj({"create_alias": obj({"collection_name": STR, "alias_name": STR}, required=["collection_name", "alias_name"])},
        required=["create_alias"]),
    obj({"delete_alias": obj({"alias_name": STR}, required=["alias_name"])}, required=["delete_alias"]),
    obj({"rename_alias": obj({"old_alias_name": STR, "new_alias_name": STR},
                             required=["old_alias_name", "new_alias_name"])}, required=["rename_alias"]),
]})
schema("ChangeAliasesOperation", obj({"actions": arr(ref("AliasOperations"), maxItems=4096)}, required=["actions"],
                                     description="Applied in order, atomically.",
                                     example={"actions": [{"create_alias": {"collection_name": "openapi_test",
                                                                            "alias_name": "openapi_alias"}}]}))
schema("AliasDescription", obj({"alias_name": STR, "collection_name": STR}, required=["alias_name", "collection_name"], strict=True))
schema("CollectionsAliasesResponse", obj({"aliases": arr(ref("AliasDescription"))}, required=["aliases"], strict=True))
schema("SnapshotDescription", obj({
    "name": STR,
    "creation_time": nullable(desc("YYYY-MM-DDTHH:MM:SS, UTC", STR)),
    "size": UINT,
    "checksum": nullable(desc("sha256, hex", STR)),
}, required=["name", "size"], strict=True))
schema("SnapshotPriority", {"type": "string", "enum": ["replica", "snapshot", "no_sync"]})
schema("SnapshotRecover", obj({
    "location": desc("http(s)://... or file://<path inside data_dir/snapshots>", STR),
    "priority": nullable(ref("SnapshotPriority")),
    "checksum": nullable(desc("sha256, hex", STR)),
    "api_key": nullable(STR),
}, required=["location"], example={"location": "file:///var/lib/vjvector/snapshots/openapi_test/openapi_test-2026-01-01-00-00-00.snapshot"}))
schema("BackupCreate", obj({
    "to": desc("Where to store the backup: file:///path, /path (a directory of the node's machine) or "
               "s3://bucket/prefix (settings backup.s3.*).", STR),
}, required=["to"], example={"to": "file:///var/backups/vjvector"}))
schema("BackupResult", obj({
    "id": desc("The backup's id (vjvector backup list|verify|prune, vjvector restore --backup).", STR),
    "target": STR,
    "collections": UINT, "files": UINT, "points": UINT,
    "bytes": desc("Of every file of the backup.", UINT),
    "chunks": UINT,
    "chunks_uploaded": desc("Chunks the target did not hold already.", UINT),
    "bytes_uploaded": desc("Their bytes.", UINT),
    "seconds": NUM,
}, required=["id", "target", "collections", "bytes", "bytes_uploaded"], strict=True))
schema("ClusterStatus", obj({
    "status": {"type": "string", "enum": ["disabled", "enabled"]},
    "peer_id": {}, "peers": ANY_OBJ, "etcd": ANY_OBJ,
}, required=["status"], strict=False))
schema("ShardInfo", obj({"shard_id": UINT, "points_count": UINT, "state": STR, "peer_id": {}}, required=["shard_id"], strict=False))
schema("CollectionClusterInfo", obj({
    "peer_id": UINT, "shard_count": UINT,
    "local_shards": arr(ref("ShardInfo")), "remote_shards": arr(ref("ShardInfo")), "shard_transfers": arr({}),
    "node_id": STR, "shards": desc("Cluster mode: per shard its term, primary and replicas.", {}),
}, required=["peer_id", "shard_count", "local_shards", "remote_shards", "shard_transfers"], strict=True))
schema("RebalanceMove", obj({"collection": STR, "shard_id": UINT, "from": STR, "to": STR, "replaced_dead": BOOL},
                            strict=True))
schema("RebalanceResult", obj({"moves": arr(ref("RebalanceMove"))}, required=["moves"], strict=True))
schema("VersionInfo", obj({"title": STR, "version": desc("The Qdrant API version followed.", STR),
                           "vjvector_version": STR}, required=["title", "version"], strict=True))

# ---------------------------------------------------------------------------------------------------
# VJVector: keys, roles, tenants
# ---------------------------------------------------------------------------------------------------
schema("Access", {"type": "string", "enum": ["read", "write", "manage", "admin"]})
schema("Grant", obj({"collections": desc("A collection name or glob pattern (*).", STR), "access": ref("Access")},
                    required=["collections", "access"]))
schema("ApiKeyCreate", obj({
    "role": desc("A role's name; or give grants.", STR),
    "grants": arr(ref("Grant")),
    "collections": arr(STR),
    "expires_at": desc("Unix seconds.", UINT),
    "name": STR, "description": STR,
    "tenant": desc("Makes a key of this tenant.", STR),
}, example={"name": "openapi-reader", "role": "reader"}))
schema("ApiKey", obj({
    "id": STR, "name": nullable(STR), "description": nullable(STR), "role": nullable(STR),
    "grants": arr(ref("Grant")), "collections": {}, "created_at": UINT, "expires_at": nullable(UINT),
    "expired": BOOL, "tenant": nullable(STR),
    "key": desc("The secret, returned once at create.", STR),
}, required=["id"], strict=True))
schema("ApiKeysResponse", obj({"keys": arr(ref("ApiKey"))}, required=["keys"], strict=True))
schema("Role", obj({"name": STR, "builtin": BOOL, "grants": arr(ref("Grant"))}, required=["name", "grants"], strict=True))
schema("RolesResponse", obj({"roles": arr(ref("Role"))}, required=["roles"], strict=True))
schema("RolePut", obj({"grants": arr(ref("Grant"))}, required=["grants"],
                      example={"grants": [{"collections": "openapi_*", "access": "read"}]}))
schema("TenantQuotas", obj({k: desc("0 = unlimited", UINT) for k in ("max_collections", "max_points", "read_per_s", "write_per_s")}))
schema("TenantCreate", obj({"id": desc("1-32 of [a-z0-9_-]", {"type": "string", "pattern": "^[a-z0-9_-]{1,32}$"}),
                            "quotas": ref("TenantQuotas")}, required=["id"],
                           example={"id": "openapi-tenant", "quotas": {"max_collections": 2}}))
schema("Tenant", obj({"id": STR, "created_at": UINT, "quotas": ref("TenantQuotas")}, required=["id"], strict=True))
schema("TenantsResponse", obj({"tenants": arr(ref("Tenant"))}, required=["tenants"], strict=True))
schema("TenantUsage", obj({"tenant": STR, "collections": UINT, "points": UINT, "vector_bytes": UINT,
                           "quotas": ref("TenantQuotas")}, required=["tenant"], strict=True))
schema("TenantDeleted", obj({"deleted_collections": arr(STR), "revoked_keys": UINT}, strict=True))

# ---------------------------------------------------------------------------------------------------
# Envelopes
# ---------------------------------------------------------------------------------------------------
schema("ErrorResponse", obj({
    "status": obj({"error": STR}, required=["error"], strict=True),
    "time": NUM,
    "result": {"type": "null"},
}, required=["status"], strict=True, description="Every error: the message names the problem."))

# ---------------------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------------------
PARAMETERS = {
    "wait": {"name": "wait", "in": "query", "required": False, "schema": {"type": "boolean"},
             "description": "true: answer once the write is durable (fsynced) and visible to queries."},
    "ordering": {"name": "ordering", "in": "query", "required": False,
                 "schema": {"type": "string", "enum": ["weak", "medium", "strong"]},
                 "description": "Accepted and ignored: each shard's writes go through its primary in log order."},
    "timeout": {"name": "timeout", "in": "query", "required": False, "schema": {"type": "number", "exclusiveMinimum": 0},
                "description": "Seconds before the request is abandoned (capped at limits.max_timeout_s)."},
    "consistency": {"name": "consistency", "in": "query", "required": False,
                    "schema": {"anyOf": [{"type": "integer", "minimum": 1},
                                         {"type": "string", "enum": ["majority", "quorum", "all", "primary"]}]},
                    "description": "Read consistency: how many replicas of each shard the read asks (cluster mode)."},
    "read_consistency": {"name": "read_consistency", "in": "query", "required": False, "deprecated": True,
                         "schema": {"type": "string"}, "description": "VJVector's earlier name of consistency."},
    "collection_name": {"name": "name", "in": "path", "required": True, "schema": {"type": "string"},
                        "description": "A collection name, or an alias of one (except for create and delete)."},
    "snapshot_wait": {"name": "wait", "in": "query", "required": False, "schema": {"type": "boolean"},
                      "description": "true (default): answer with the finished snapshot; false: 202 at once."},
}


def p(name):
    return {"$ref": f"#/components/parameters/{name}"}


def path_param(name, description, schema_=None):
    return {"name": name, "in": "path", "required": True, "schema": schema_ or {"type": "string"},
            "description": description}


def query_param(name, schema_, description):
    return {"name": name, "in": "query", "required": False, "schema": schema_, "description": description}


# ---------------------------------------------------------------------------------------------------
# Operations: (method, path, permission, scope, operationId, tag, summary, extra)
# extra: params (list), body (schema name or schema), result (schema of "result"), content (a non-JSON
# answer: {media type: schema}), status (success codes), description.
# ---------------------------------------------------------------------------------------------------
WRITE = [p("wait"), p("ordering"), p("timeout")]
READ = [p("consistency"), p("read_consistency"), p("timeout")]
NAME = [p("collection_name")]
TRUE = {"type": "boolean"}

OPERATIONS = [
    # Service
    ("GET", "/", "public", "node", "root", "Service", "The service's title and versions", {"result": ref("VersionInfo"), "bare": True}),
    ("GET", "/livez", "public", "node", "livez", "Service", "Liveness probe: 200 while the process runs",
     {"content": {"text/plain": STR}}),
    ("GET", "/readyz", "public", "node", "readyz", "Service",
     "Readiness probe: 200 once every collection is loaded, 503 before and while draining",
     {"content": {"text/plain": STR}, "also": {"503": "Not ready"}}),
    ("GET", "/healthz", "public", "node", "healthz", "Service", "Health check", {"content": {"text/plain": STR}}),
    ("GET", "/metrics", "read", "node", "metrics", "Service",
     "Prometheus metrics (text format; public with security.metrics_public)",
     {"content": {"text/plain": STR}}),
    ("GET", "/openapi.json", "public", "node", "openapi", "Service", "This document",
     {"content": {"application/json": ANY_OBJ}}),
    ("GET", "/dashboard", "public", "node", "dashboard", "Service", "The web console's page (docs/dashboard.md)",
     {"content": {"text/html": STR}}),
    ("GET", "/dashboard/{file}", "public", "node", "dashboard_file", "Service",
     "One of the web console's static files; 404 for any other name",
     {"params": [path_param("file", "A file name of the console, e.g. app.js")],
      "content": {"text/javascript": STR, "text/css": STR, "text/html": STR}}),
    # Cluster
    ("GET", "/cluster", "read", "node", "cluster_status", "Cluster",
     "The cluster's status: disabled on a standalone node", {"result": ref("ClusterStatus")}),
    ("POST", "/cluster/rebalance", "admin", "node", "cluster_rebalance", "Cluster",
     "Moves shard replicas onto the least loaded nodes (cluster mode; 404 on a standalone node)",
     {"params": [query_param("replace_dead", {"type": "boolean"}, "First replace the replicas of nodes that are gone.")],
      "result": ref("RebalanceResult"), "also": {"404": "Standalone node"}}),
    # Collections
    ("GET", "/collections", "read", "any_collection", "get_collections", "Collections",
     "The collections the caller may see", {"result": ref("CollectionsResponse")}),
    ("GET", "/collections/{name}", "read", "collection", "get_collection", "Collections",
     "A collection's status, counts, config and payload indexes", {"params": NAME, "result": ref("CollectionInfo")}),
    ("PUT", "/collections/{name}", "manage", "collection", "create_collection", "Collections",
     "Creates a collection (409 when the name is taken)",
     {"params": NAME + [p("timeout")], "body": "CreateCollection", "result": TRUE, "also": {"409": "Name taken"}}),
    ("DELETE", "/collections/{name}", "manage", "collection", "delete_collection", "Collections",
     "Deletes a collection and its aliases; false when there is none", {"params": NAME + [p("timeout")], "result": TRUE}),
    ("PATCH", "/collections/{name}", "manage", "collection", "update_collection", "Collections",
     "Changes strict mode, HNSW and quantization settings",
     {"params": NAME + [p("timeout")], "body": "UpdateCollection", "result": TRUE}),
    ("GET", "/collections/{name}/exists", "read", "collection", "collection_exists", "Collections",
     "Whether the collection exists", {"params": NAME, "result": ref("CollectionExistence")}),
    ("PUT", "/collections/{name}/index", "manage", "collection", "create_field_index", "Indexes",
     "Creates a payload index", {"params": NAME + WRITE, "body": "CreateFieldIndex", "result": ref("UpdateResult")}),
    ("DELETE", "/collections/{name}/index/{field_name}", "manage", "collection", "delete_field_index", "Indexes",
     "Deletes a payload index",
     {"params": NAME + [path_param("field_name", "The indexed payload key")] + WRITE, "result": ref("UpdateResult")}),
    ("GET", "/collections/{name}/cluster", "read", "collection", "collection_cluster_info", "Cluster",
     "Where the collection's shards are", {"params": NAME, "result": ref("CollectionClusterInfo")}),
    # Aliases
    ("POST", "/collections/aliases", "manage", "node", "update_aliases", "Aliases",
     "Creates, deletes and renames aliases, all or none", {"params": [p("timeout")], "body": "ChangeAliasesOperation", "result": TRUE}),
    ("GET", "/aliases", "read", "any_collection", "get_collections_aliases", "Aliases",
     "Every alias of the collections the caller may read", {"result": ref("CollectionsAliasesResponse")}),
    ("GET", "/collections/{name}/aliases", "read", "collection", "get_collection_aliases", "Aliases",
     "The aliases of one collection", {"params": NAME, "result": ref("CollectionsAliasesResponse")}),
    # Points
    ("PUT", "/collections/{name}/points", "write", "collection", "upsert_points", "Points",
     "Inserts or replaces points", {"params": NAME + WRITE, "body": "PointInsertOperations", "result": ref("UpdateResult")}),
    ("POST", "/collections/{name}/points", "read", "collection", "get_points", "Points",
     "Points by id", {"params": NAME + READ, "body": "PointRequest", "result": arr(ref("Record"))}),
    ("GET", "/collections/{name}/points/{id}", "read", "collection", "get_point", "Points",
     "One point by id (404 when absent)",
     {"params": NAME + [path_param("id", "A point id: an integer or a UUID")] + READ, "result": ref("Record")}),
    ("POST", "/collections/{name}/points/delete", "write", "collection", "delete_points", "Points",
     "Deletes points by id or filter", {"params": NAME + WRITE, "body": "PointsSelector", "result": ref("UpdateResult")}),
    ("POST", "/collections/{name}/points/payload", "write", "collection", "set_payload", "Points",
     "Merges into the payload of points", {"params": NAME + WRITE, "body": "SetPayload", "result": ref("UpdateResult")}),
    ("PUT", "/collections/{name}/points/payload", "write", "collection", "overwrite_payload", "Points",
     "Replaces the payload of points", {"params": NAME + WRITE, "body": "SetPayload", "result": ref("UpdateResult")}),
    ("POST", "/collections/{name}/points/payload/delete", "write", "collection", "delete_payload", "Points",
     "Deletes payload keys of points", {"params": NAME + WRITE, "body": "DeletePayload", "result": ref("UpdateResult")}),
    ("POST", "/collections/{name}/points/payload/clear", "write", "collection", "clear_payload", "Points",
     "Removes the whole payload of points", {"params": NAME + WRITE, "body": "PointsSelector", "result": ref("UpdateResult")}),
    ("PUT", "/collections/{name}/points/vectors", "write", "collection", "update_vectors", "Points",
     "Replaces named vectors of existing points (404 for an unknown id)",
     {"params": NAME + WRITE, "body": "UpdateVectors", "result": ref("UpdateResult")}),
    ("POST", "/collections/{name}/points/vectors/delete", "write", "collection", "delete_vectors", "Points",
     "Removes named vectors from points", {"params": NAME + WRITE, "body": "DeleteVectors", "result": ref("UpdateResult")}),
    ("POST", "/collections/{name}/points/batch", "write", "collection", "batch_update", "Points",
     "Several point operations, checked first, then applied in order",
     {"params": NAME + WRITE, "body": "UpdateOperations", "result": arr(ref("UpdateResult"))}),
    ("POST", "/collections/{name}/points/scroll", "read", "collection", "scroll_points", "Points",
     "Pages through points in id order (or by order_by)",
     {"params": NAME + READ, "body": "ScrollRequest", "optional_body": True, "result": ref("ScrollResult")}),
    ("POST", "/collections/{name}/points/count", "read", "collection", "count_points", "Points",
     "Counts the points that match a filter",
     {"params": NAME + READ, "body": "CountRequest", "optional_body": True, "result": ref("CountResult")}),
    # Search
    ("POST", "/collections/{name}/points/query", "read", "collection", "query_points", "Search",
     "The universal query: nearest, recommend, discover, context, fusion, mmr, with prefetches",
     {"params": NAME + READ, "body": "QueryRequest", "result": ref("QueryResponse")}),
    ("POST", "/collections/{name}/points/query/batch", "read", "collection", "query_batch_points", "Search",
     "Several queries", {"params": NAME + READ, "body": "QueryRequestBatch", "result": arr(ref("QueryResponse"))}),
    ("POST", "/collections/{name}/points/query/groups", "read", "collection", "query_points_groups", "Search",
     "Query results grouped by a payload key", {"params": NAME + READ, "body": "QueryGroupsRequest", "result": ref("GroupsResult")}),
    ("POST", "/collections/{name}/points/search", "read", "collection", "search_points", "Search",
     "Nearest points to a vector", {"params": NAME + READ, "body": "SearchRequest", "result": arr(ref("ScoredPoint"))}),
    ("POST", "/collections/{name}/points/search/batch", "read", "collection", "search_batch_points", "Search",
     "Several searches", {"params": NAME + READ, "body": "SearchRequestBatch", "result": arr(arr(ref("ScoredPoint")))}),
    ("POST", "/collections/{name}/points/search/groups", "read", "collection", "search_point_groups", "Search",
     "Search results grouped by a payload key", {"params": NAME + READ, "body": "SearchGroupsRequest", "result": ref("GroupsResult")}),
    ("POST", "/collections/{name}/points/recommend", "read", "collection", "recommend_points", "Search",
     "Points like the positive examples and unlike the negative ones",
     {"params": NAME + READ, "body": "RecommendRequest", "result": arr(ref("ScoredPoint"))}),
    ("POST", "/collections/{name}/points/recommend/batch", "read", "collection", "recommend_batch_points", "Search",
     "Several recommends", {"params": NAME + READ, "body": "RecommendRequestBatch", "result": arr(arr(ref("ScoredPoint")))}),
    ("POST", "/collections/{name}/points/discover", "read", "collection", "discover_points", "Search",
     "Discovery (target and context pairs) or context search",
     {"params": NAME + READ, "body": "DiscoverRequest", "result": arr(ref("ScoredPoint"))}),
    ("POST", "/collections/{name}/points/discover/batch", "read", "collection", "discover_batch_points", "Search",
     "Several discovers", {"params": NAME + READ, "body": "DiscoverRequestBatch", "result": arr(arr(ref("ScoredPoint")))}),
    ("POST", "/collections/{name}/points/search/matrix/pairs", "read", "collection", "search_matrix_pairs", "Search",
     "Nearest neighbours among a sample of points, as pairs",
     {"params": NAME + READ, "body": "SearchMatrixRequest", "optional_body": True, "result": ref("SearchMatrixPairsResponse")}),
    ("POST", "/collections/{name}/points/search/matrix/offsets", "read", "collection", "search_matrix_offsets", "Search",
     "Nearest neighbours among a sample of points, as a sparse matrix",
     {"params": NAME + READ, "body": "SearchMatrixRequest", "optional_body": True, "result": ref("SearchMatrixOffsetsResponse")}),
    ("POST", "/collections/{name}/facet", "read", "collection", "facet", "Search",
     "Counts of each value of an indexed payload key", {"params": NAME + READ, "body": "FacetRequest", "result": ref("FacetResponse")}),
    # Snapshots
    ("POST", "/collections/{name}/snapshots", "manage", "collection", "create_snapshot", "Snapshots",
     "Snapshots a collection (standalone node; 501 in cluster mode)",
     {"params": NAME + [p("snapshot_wait")], "result": ref("SnapshotDescription"), "also": {"202": "Accepted (wait=false)"}}),
    ("GET", "/collections/{name}/snapshots", "read", "collection", "list_snapshots", "Snapshots",
     "The collection's snapshots, newest first", {"params": NAME, "result": arr(ref("SnapshotDescription"))}),
    ("PUT", "/collections/{name}/snapshots/recover", "manage", "collection", "recover_from_snapshot", "Snapshots",
     "Creates or replaces the collection from a snapshot at a location",
     {"params": NAME + [p("wait")], "body": "SnapshotRecover", "result": TRUE}),
    ("POST", "/collections/{name}/snapshots/upload", "manage", "collection", "recover_from_uploaded_snapshot", "Snapshots",
     "Creates or replaces the collection from an uploaded snapshot (multipart field `snapshot`)",
     {"params": NAME + [p("wait"), query_param("priority", ref("SnapshotPriority"), "Snapshot priority"),
                        query_param("checksum", STR, "The file's sha256, hex")],
      "multipart": True, "result": TRUE}),
    ("GET", "/collections/{name}/snapshots/{snapshot_name}", "read", "collection", "get_snapshot", "Snapshots",
     "Downloads a snapshot file",
     {"params": NAME + [path_param("snapshot_name", "A snapshot's name (*.snapshot)")],
      "content": {"application/octet-stream": {"type": "string", "contentMediaType": "application/octet-stream"}}}),
    ("DELETE", "/collections/{name}/snapshots/{snapshot_name}", "manage", "collection", "delete_snapshot", "Snapshots",
     "Deletes a snapshot", {"params": NAME + [path_param("snapshot_name", "A snapshot's name")] + [p("wait")], "result": TRUE}),
    ("POST", "/snapshots", "admin", "node", "create_full_snapshot", "Snapshots",
     "Snapshots every collection", {"params": [p("snapshot_wait")], "result": ref("SnapshotDescription"),
                                    "also": {"202": "Accepted (wait=false)"}}),
    ("GET", "/snapshots", "admin", "node", "list_full_snapshots", "Snapshots",
     "The full snapshots", {"result": arr(ref("SnapshotDescription"))}),
    ("GET", "/snapshots/{snapshot_name}", "admin", "node", "get_full_snapshot", "Snapshots",
     "Downloads a full snapshot",
     {"params": [path_param("snapshot_name", "A snapshot's name")],
      "content": {"application/octet-stream": {"type": "string", "contentMediaType": "application/octet-stream"}}}),
    ("DELETE", "/snapshots/{snapshot_name}", "admin", "node", "delete_full_snapshot", "Snapshots",
     "Deletes a full snapshot", {"params": [path_param("snapshot_name", "A snapshot's name"), p("wait")], "result": TRUE}),
    # VJVector: backups
    ("POST", "/vjvector/backups", "admin", "node", "create_backup", "Backups",
     "Backs up every collection of the node (incremental, content-addressed; docs/backup.md)",
     {"body": "BackupCreate", "result": ref("BackupResult"),
      "also": {"429": "A backup is running already", "501": "Cluster mode: not supported yet"}}),
    # VJVector: keys, roles, tenants (404 unless security is on)
    ("POST", "/vjvector/keys", "admin", "node", "create_api_key", "Security",
     "Creates an API key; the answer holds its secret, once", {"body": "ApiKeyCreate", "result": ref("ApiKey")}),
    ("GET", "/vjvector/keys", "admin", "node", "list_api_keys", "Security",
     "The API keys (without secrets)", {"result": ref("ApiKeysResponse")}),
    ("DELETE", "/vjvector/keys/{id}", "admin", "node", "revoke_api_key", "Security",
     "Revokes an API key", {"params": [path_param("id", "The key's id")], "result": TRUE}),
    ("GET", "/vjvector/roles", "admin", "node", "list_roles", "Security",
     "The roles, built-in and custom", {"result": ref("RolesResponse")}),
    ("PUT", "/vjvector/roles/{name}", "admin", "node", "put_role", "Security",
     "Creates or replaces a custom role", {"params": [path_param("name", "The role's name")], "body": "RolePut",
                                           "result": ref("Role")}),
    ("DELETE", "/vjvector/roles/{name}", "admin", "node", "delete_role", "Security",
     "Deletes a custom role", {"params": [path_param("name", "The role's name")], "result": TRUE}),
    ("POST", "/vjvector/tenants", "admin", "node", "create_tenant", "Tenants",
     "Creates a tenant (409 when the id is taken)", {"body": "TenantCreate", "result": ref("Tenant")}),
    ("GET", "/vjvector/tenants", "admin", "node", "list_tenants", "Tenants",
     "The tenants, by id", {"result": ref("TenantsResponse")}),
    ("GET", "/vjvector/tenants/{tenant}", "admin", "node", "get_tenant", "Tenants",
     "One tenant", {"params": [path_param("tenant", "The tenant's id")], "result": ref("Tenant")}),
    ("GET", "/vjvector/tenants/{tenant}/usage", "admin", "node", "tenant_usage", "Tenants",
     "A tenant's collections, points and estimated vector bytes, counted now",
     {"params": [path_param("tenant", "The tenant's id")], "result": ref("TenantUsage")}),
    ("DELETE", "/vjvector/tenants/{tenant}", "admin", "node", "delete_tenant", "Tenants",
     "Deletes a tenant (409 while it owns collections, unless force=true)",
     {"params": [path_param("tenant", "The tenant's id"),
                 query_param("force", {"type": "boolean"}, "Also delete its collections and revoke its keys.")],
      "result": ref("TenantDeleted")}),
]

TAGS = [
    ("Service", "The service's identity, probes, metrics, this document and the web console."),
    ("Collections", "Collections: create, inspect, configure, delete."),
    ("Indexes", "Payload indexes."),
    ("Aliases", "Collection aliases."),
    ("Points", "Writing, reading and paging through points."),
    ("Search", "Search, query, recommend, discover, groups, facet and the search matrix."),
    ("Snapshots", "Collection and full snapshots (standalone node; docs/backup.md)."),
    ("Backups", "VJVector's node backups to a directory or S3-compatible storage (docs/backup.md)."),
    ("Cluster", "Cluster status and shard placement."),
    ("Security", "VJVector's API keys and roles (docs/security.md); 404 unless security is enabled."),
    ("Tenants", "VJVector's tenants (docs/tenancy.md); 404 unless security is enabled."),
]


def envelope(result, status="ok"):
    return {"type": "object", "required": ["result", "status", "time"], "additionalProperties": False, "properties": {
        "result": result,
        "status": {"type": "string", "enum": [status]},
        "time": {"type": "number", "description": "Seconds the request took."},
    }}


ERROR_RESPONSES = {
    "400": "Malformed or invalid input; the message names the field",
    "401": "No valid credentials (security on)",
    "403": "The credentials lack the permission",
    "404": "Unknown collection, point, alias, snapshot or endpoint",
    "413": "Body larger than http.max_body_bytes",
    "429": "Rate limited (Retry-After says when to retry)",
    "503": "Not ready, or too few replicas answered",
}


# More request examples, by body schema: the media type then lists `examples` (the schema's own example
# first, as "default"). test_openapi.py sends every one of them to a live node, in this order, and each
# must be served; so they show, and keep true, what the shapes accept.
Q = [0.1, 0.2, 0.3, 0.4]
MORE_EXAMPLES = {
    "PointInsertOperations": {
        "named_and_sparse": ("Named vectors: the unnamed dense one is \"\"", {"points": [
            {"id": 4, "vector": {"": [0.3, 0.1, 0.4, 0.1], "sparse": {"indices": [1, 7], "values": [1.0, 2.0]}},
             "payload": {"city": "Paris", "price": 40, "created": "2024-03-01T10:00:00Z", "tags": ["a", "b"]}}]}),
        "document": ("A sparse vector from text (BM25)", {"points": [
            {"id": 5, "vector": {"": [0.9, 0.1, 0.1, 0.1], "sparse": {"text": "Berlin is big", "model": "qdrant/bm25"}},
             "payload": {"city": "Berlin", "price": 50}}]}),
        "batch": ("Column form", {"batch": {"ids": [6, "7f3c5bd0-8e0a-4c1e-9a57-0d7d3f1b9a11"],
                                            "vectors": [[0.1, 0.1, 0.1, 0.9], [0.5, 0.1, 0.3, 0.2]],
                                            "payloads": [{"city": "Rome"}, None]}}),
    },
    "QueryRequest": {
        "by_point_id_filtered": ("The point's vector as the query; filter clauses may be one condition", {
            "query": 1, "filter": {"must": [{"key": "city", "match": {"any": ["Berlin", "Paris"]}}],
                                   "must_not": {"has_id": [3]}}, "limit": 2}),
        "hybrid_rrf": ("Dense and sparse prefetches fused by reciprocal rank", {
            "prefetch": [{"query": Q, "limit": 5},
                         {"query": {"indices": [1, 7], "values": [1.0, 1.0]}, "using": "sparse", "limit": 5}],
            "query": {"fusion": "rrf"}, "limit": 3}),
        "bm25_text": ("A sparse query from text", {
            "query": {"text": "berlin", "model": "qdrant/bm25"}, "using": "sparse", "limit": 2}),
        "recommend": ("Recommend by examples", {
            "query": {"recommend": {"positive": [1], "negative": [2], "strategy": "best_score"}}, "limit": 2}),
        "mmr": ("Maximal marginal relevance", {
            "query": {"nearest": Q, "mmr": {"diversity": 0.5, "candidates_limit": 10}}, "limit": 2}),
        "discover": ("Discovery", {"query": {"discover": {"target": 1, "context": [{"positive": 2, "negative": 3}]}},
                                   "limit": 2}),
        "filter_only": ("No query: points in id order", {
            "filter": {"should": [{"key": "price", "range": {"gte": 10, "lt": 45}},
                                  {"key": "created", "range": {"gte": "2024-01-01T00:00:00Z"}}],
                       "min_should": {"conditions": [{"is_empty": {"key": "tags"}}, {"has_vector": "sparse"}],
                                      "min_count": 1}},
            "with_payload": {"include": ["city"]}, "with_vector": ["sparse"]}),
    },
    "SearchRequest": {
        "named_sparse": ("A named sparse vector", {"vector": {"name": "sparse", "vector": {"indices": [1, 7], "values": [1.0, 1.0]}},
                                                   "limit": 2}),
        "params": ("Search params and a threshold", {"vector": Q, "limit": 2, "score_threshold": 0.1,
                                                     "params": {"hnsw_ef": 64, "exact": False}, "with_payload": {"exclude": ["tags"]}}),
    },
    "ScrollRequest": {
        "order_by": ("By an indexed number, largest first (needs an integer, float or datetime index)", {
            "order_by": {"key": "price", "direction": "desc"}, "limit": 3, "with_payload": False}),
        "filtered": ("Filtered, with nested conditions", {
            "filter": {"must": [{"should": [{"key": "city", "match": {"value": "Berlin"}},
                                            {"key": "tags", "values_count": {"gte": 1}}]},
                                {"is_null": {"key": "missing"}}]} , "limit": 10, "offset": 1}),
    },
    "CountRequest": {
        "text_match": ("Full-text conditions without an index: substrings", {
            "filter": {"should": [{"key": "city", "match": {"text": "erl"}}, {"key": "city", "match": {"except": ["Rome"]}}]},
            "exact": True}),
    },
    "RecommendRequest": {
        "average_vector": ("Vectors and ids as examples", {"positive": [1, Q], "strategy": "average_vector", "limit": 2}),
    },
    "DiscoverRequest": {
        "context_only": ("No target: a context search", {"context": [{"positive": 1, "negative": 2}], "limit": 2}),
    },
}


MORE_EXAMPLES.update(MORE_EXAMPLES_LATE)


LEGACY_SEARCH = {"search_points", "search_batch_points", "search_point_groups", "recommend_points",
                 "recommend_batch_points", "discover_points", "discover_batch_points"}


ERROR_COMPONENTS = {f"E{code}": {"description": text, "content": {"application/json": {"schema": ref("ErrorResponse")}}}
                    for code, text in ERROR_RESPONSES.items()}
for code in ("429", "503"):
    ERROR_COMPONENTS[f"E{code}"]["headers"] = {"Retry-After": {
        "description": "Seconds to wait before retrying (on a refusal for load or a rate limit).",
        "schema": {"type": "integer", "minimum": 0}}}


def operation(method, path, permission, scope, op_id, tag, summary, extra):
    op = {"tags": [tag], "summary": summary, "operationId": op_id,
          "x-vjvector-permission": permission, "x-vjvector-scope": scope}
    if op_id in LEGACY_SEARCH:
        op["deprecated"] = True
        op["description"] = ("Qdrant's earlier search API, served for the clients that still call it (Qdrant's "
                             "current document lists only /points/query); /points/query does the same and more.")
    if extra.get("params"):
        op["parameters"] = extra["params"]
    if "body" in extra:
        body_ref = ref(extra["body"])
        example = SCHEMAS[extra["body"]].get("example")
        media = {"schema": body_ref}
        more = MORE_EXAMPLES.get(extra["body"])
        if more:
            media["examples"] = {"default": {"summary": "A simple request", "value": example}}
            for key, (summary_, value) in more.items():
                media["examples"][key] = {"summary": summary_, "value": value}
        elif example is not None:
            media["example"] = example
        op["requestBody"] = {"required": not extra.get("optional_body", False),
                             "content": {"application/json": media}}
    if extra.get("multipart"):
        op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["snapshot"],
            "properties": {"snapshot": {"type": "string", "contentMediaType": "application/octet-stream"}}}}}}
    responses = {}
    if "content" in extra:
        responses["200"] = {"description": "OK", "content": {m: {"schema": s} for m, s in extra["content"].items()}}
    else:
        result = extra.get("result", {})
        sch = result if extra.get("bare") else envelope(result)
        responses["200"] = {"description": "OK", "content": {"application/json": {"schema": sch}}}
    for code, text in extra.get("also", {}).items():
        responses[code] = {"description": text}
        if int(code) >= 400:
            responses[code]["content"] = {"application/json": {"schema": ref("ErrorResponse")}}
        elif code == "202":
            responses[code]["content"] = {"application/json": {"schema": envelope({"type": "null"}, "accepted")}}
    if tag == "Snapshots":
        responses["501"] = {"description": "Cluster mode: snapshots are not supported yet (docs/backup.md)",
                            "content": {"application/json": {"schema": ref("ErrorResponse")}}}
    if permission != "public":
        for code, text in ERROR_RESPONSES.items():
            responses.setdefault(code, {"$ref": f"#/components/responses/E{code}"})
    else:
        responses.setdefault("404", {"$ref": "#/components/responses/E404"})
    op["responses"] = responses
    if permission == "public":
        op["security"] = []
    return op


def build():
    paths = {}
    seen = set()
    for method, path, permission, scope, op_id, tag, summary, extra in OPERATIONS:
        assert (method, path) not in seen, (method, path)
        assert op_id not in {o.get("operationId") for item in paths.values() for o in item.values()}, op_id
        seen.add((method, path))
        paths.setdefault(path, {})[method.lower()] = operation(method, path, permission, scope, op_id, tag, summary, extra)
    missing = PENDING - set(SCHEMAS)
    assert not missing, f"declared but not defined: {missing}"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "VJVector REST API",
            "version": QDRANT_API_VERSION,
            "description": (
                "VJVector's REST API: Qdrant's API (the same paths, bodies, filter syntax and response "
                "envelope; `version` is the Qdrant API version followed) and VJVector's own /vjvector/... "
                "routes. Request bodies are strict: unknown fields are refused with 400; a field given as null is "
                "the same as a field left out. Every JSON answer "
                "is an envelope {result, status, time}; errors are {status: {error}, time}. "
                "`x-vjvector-permission` on each operation is the access it needs (public, read, write, "
                "manage, admin) and `x-vjvector-scope` what the grant must cover: the collection named in "
                "the path, any collection, or the whole node (`*`). docs/api.md has the details."),
        },
        "servers": [{"url": "http://localhost:6333"}],
        "tags": [{"name": n, "description": d} for n, d in TAGS],
        "security": [{"api-key": []}, {"bearer": []}, {}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "api-key": {"type": "apiKey", "in": "header", "name": "api-key",
                            "description": "An API key (security.api_key, a managed key)."},
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "Authorization: Bearer <API key, Qdrant JWT or OIDC token>."},
            },
            "parameters": PARAMETERS,
            "responses": ERROR_COMPONENTS,
            "schemas": SCHEMAS,
        },
    }


def render():
    return json.dumps(build(), indent=1, ensure_ascii=False) + "\n"


def main():
    text = render()
    if "--check" in sys.argv[1:]:
        with open(OUTPUT, encoding="utf-8") as f:
            if f.read() != text:
                print(f"{OUTPUT} is stale: run python3 {os.path.relpath(__file__)}", file=sys.stderr)
                return 1
        return 0
    with open(OUTPUT, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
