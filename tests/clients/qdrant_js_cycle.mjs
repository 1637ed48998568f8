// One collection's life through the official Qdrant JS client (@qdrant/js-client-rest, pinned in
// package.json): create, upsert, query (plain, and plans with prefetch + fusion, recommend, mmr), search,
// recommend, search groups, query groups, scroll with order_by, facet, the search matrix, delete points,
// delete the collection; on a collection with named vectors: updateVectors, deleteVectors, batchUpdate,
// updateCollection, collectionClusterInfo.
// Environment: VJ_URL (http(s)://host:port), VJ_API_KEY, VJ_COLLECTION (default js-cycle).
// Exit 0 when every step answered as Qdrant would; 1 with the error otherwise (the HTTP status, when the
// server refused, is printed as "status=NNN").
import { QdrantClient } from "@qdrant/js-client-rest";

const url = process.env.VJ_URL;
const apiKey = process.env.VJ_API_KEY;
const name = process.env.VJ_COLLECTION || "js-cycle";
if (!url) {
  console.error("VJ_URL is not set");
  process.exit(2);
}

function check(cond, what) {
  if (!cond) throw new Error("unexpected answer: " + what);
}

async function main() {
  const client = new QdrantClient({ url, apiKey, checkCompatibility: false });
  check((await client.createCollection(name, { vectors: { size: 4, distance: "Dot" } })) === true,
        "createCollection");
  const points = [
    { id: 1, vector: [1, 0, 0, 0], payload: { kind: "a", rank: 5 } },
    { id: 2, vector: [0, 1, 0, 0], payload: { kind: "b", rank: 1 } },
    { id: 3, vector: [0, 0, 1, 0], payload: { kind: "a", rank: 5 } },
  ];
  const up = await client.upsert(name, { wait: true, points });
  check(up.status === "completed", "upsert status " + JSON.stringify(up));

  const q = await client.query(name, { query: [0, 1, 0, 0], limit: 2, with_payload: true });
  check(q.points.length === 2 && q.points[0].id === 2 && q.points[0].payload.kind === "b",
        "query " + JSON.stringify(q));
  const s = await client.search(name, { vector: [0, 0, 1, 0], limit: 1,
                                        filter: { must: [{ key: "kind", match: { value: "a" } }] } });
  check(s.length === 1 && s[0].id === 3, "search " + JSON.stringify(s));

  // The Query API's plans: two prefetches fused by RRF (Qdrant's k = 2: 1 / (rank + 2)), a recommend
  // query, maximal marginal relevance, and the older recommend endpoint.
  const fused = await client.query(name, {
    prefetch: [{ query: [1, 0.5, 0, 0], limit: 2 }, { query: [0, 0.2, 1, 0], limit: 2 }],
    query: { fusion: "rrf" }, limit: 3,
  });
  check(fused.points.map((p) => p.id).join() === "2,1,3" && Math.abs(fused.points[0].score - 2 / 3) < 1e-6,
        "rrf query " + JSON.stringify(fused));
  const reco = await client.query(name, {
    query: { recommend: { positive: [[0, 1, 0.5, 0]], strategy: "best_score" } }, limit: 2,
  });
  check(reco.points.map((p) => p.id).join() === "2,3" && Math.abs(reco.points[0].score - 0.75) < 1e-6,
        "recommend query " + JSON.stringify(reco));
  const diverse = await client.query(name, {
    query: { nearest: [1, 1, 1, 0], mmr: { diversity: 0.5, candidates_limit: 3 } }, limit: 2,
  });
  check(diverse.points.map((p) => p.id).join() === "1,2", "mmr query " + JSON.stringify(diverse));
  const old = await client.recommend(name, { positive: [1], negative: [3], limit: 1, with_payload: true });
  check(old.length === 1 && old[0].id === 2 && old[0].payload.kind === "b", "recommend " + JSON.stringify(old));
  await client.createPayloadIndex(name, { field_name: "kind", field_schema: "keyword", wait: true });
  await client.createPayloadIndex(name, { field_name: "rank", field_schema: "integer", wait: true });
  const sg = await client.searchPointGroups(name, { vector: [1, 0, 1, 0], group_by: "kind", group_size: 2,
                                                    limit: 2 });
  check(sg.groups.length === 2 && sg.groups[0].id === "a" && sg.groups[0].hits.length === 2 &&
        sg.groups[1].id === "b", "searchPointGroups " + JSON.stringify(sg));
  const qg = await client.queryGroups(name, { query: [0, 1, 0, 0], group_by: "rank", group_size: 1, limit: 1,
                                              with_payload: true });
  check(qg.groups.length === 1 && qg.groups[0].id === 1 && qg.groups[0].hits[0].payload.kind === "b",
        "queryGroups " + JSON.stringify(qg));
  const ordered = await client.scroll(name, { order_by: { key: "rank", direction: "desc" }, limit: 3 });
  check(ordered.points.map((p) => p.id).join() === "1,3,2" && ordered.points[0].order_value === 5,
        "scroll order_by " + JSON.stringify(ordered));
  const facet = await client.facet(name, { key: "kind", exact: true });
  check(facet.hits.length === 2 && facet.hits[0].value === "a" && facet.hits[0].count === 2,
        "facet " + JSON.stringify(facet));
  const pairs = await client.searchMatrixPairs(name, { sample: 3, limit: 1 });
  check(pairs.pairs.length === 3 && pairs.pairs.every((p) => p.a !== p.b), "searchMatrixPairs " + JSON.stringify(pairs));

  const del = await client.delete(name, { wait: true, points: [1, 2] });
  check(del.status === "completed", "delete " + JSON.stringify(del));
  const count = await client.count(name, { exact: true });
  check(count.count === 1, "count after delete " + JSON.stringify(count));

  // Live changes on a collection with named vectors: update and delete vectors, a batch of mixed
  // operations, PATCH, and the collection's cluster info.
  const nv = name + "-nv";
  check((await client.createCollection(nv, { vectors: { img: { size: 2, distance: "Euclid" },
                                                          txt: { size: 2, distance: "Dot" } } })) === true,
        "createCollection named");
  await client.upsert(nv, { wait: true, points: [
    { id: 1, vector: { img: [1, 0], txt: [1, 0] }, payload: { n: 1 } },
    { id: 2, vector: { img: [2, 0], txt: [0, 1] }, payload: { n: 2 } },
  ] });
  const uv = await client.updateVectors(nv, { wait: true, points: [{ id: 1, vector: { img: [50, 0] } }] });
  check(uv.status === "completed", "updateVectors " + JSON.stringify(uv));
  const near = await client.query(nv, { query: [49, 0], using: "img", limit: 1 });
  check(near.points[0].id === 1, "query after updateVectors " + JSON.stringify(near));
  const dv = await client.deleteVectors(nv, { wait: true, points: [2], vector: ["img"] });
  check(dv.status === "completed", "deleteVectors " + JSON.stringify(dv));
  const [p2] = await client.retrieve(nv, { ids: [2], with_vector: true });
  check(p2.vector.img === undefined && p2.vector.txt.length === 2, "point 2 after deleteVectors " + JSON.stringify(p2));
  const batch = await client.batchUpdate(nv, { wait: true, operations: [
    { upsert: { points: [{ id: 3, vector: { img: [3, 0], txt: [1, 1] }, payload: {} }] } },
    { set_payload: { payload: { tag: "x" }, points: [3] } },
    { update_vectors: { points: [{ id: 3, vector: { txt: [5, 5] } }] } },
    { delete_vectors: { points: [3], vector: ["img"] } },
    { delete: { points: [1] } },
  ] });
  check(Array.isArray(batch) && batch.length === 5 && batch.every((r) => r.status === "completed"),
        "batchUpdate " + JSON.stringify(batch));
  const [p3] = await client.retrieve(nv, { ids: [3], with_vector: true, with_payload: true });
  check(p3.payload.tag === "x" && p3.vector.img === undefined && p3.vector.txt[0] === 5,
        "point 3 after batchUpdate " + JSON.stringify(p3));
  check((await client.count(nv, { exact: true })).count === 2, "count after batchUpdate");
  check((await client.updateCollection(nv, { strict_mode_config: { enabled: true, max_query_limit: 50 } })) === true,
        "updateCollection");
  const info = await client.getCollection(nv);
  check(info.config.strict_mode_config && info.config.strict_mode_config.max_query_limit === 50,
        "strict mode after updateCollection " + JSON.stringify(info.config.strict_mode_config));
  check((await client.updateCollection(nv, { hnsw_config: { m: 32 },
                                             quantization_config: { scalar: { type: "int8" } } })) === true,
        "updateCollection hnsw_config");
  const patched = await client.getCollection(nv);
  check(patched.config.hnsw_config.m === 32 && patched.config.quantization_config.scalar.type === "int8",
        "config after updateCollection " + JSON.stringify(patched.config));
  let refused = false;
  try {
    await client.updateCollection(nv, { optimizers_config: { indexing_threshold: 0 } });
  } catch (e) {
    refused = (e.status ?? (e.response && e.response.status)) === 400;
  }
  check(refused, "updateCollection optimizers_config.indexing_threshold should be refused with 400");
  const cluster = await client.collectionClusterInfo(nv);
  check(Number.isInteger(cluster.peer_id) && cluster.shard_count === 1 && cluster.local_shards.length === 1 &&
        cluster.local_shards[0].points_count === 2 && cluster.local_shards[0].state === "Active" &&
        Array.isArray(cluster.shard_transfers), "collectionClusterInfo " + JSON.stringify(cluster));
  check((await client.deleteCollection(nv)) === true, "deleteCollection named");

  check((await client.deleteCollection(name)) === true, "deleteCollection");
  const { collections } = await client.getCollections();
  check(!collections.some((c) => c.name === name), "collection still listed");
  console.log("qdrant js cycle ok");
}

main().catch((e) => {
  const status = e && (e.status ?? (e.response && e.response.status));
  console.error(`qdrant js cycle failed: status=${status ?? "none"} ${e && e.message ? e.message : e}`);
  if (e && e.cause) console.error("cause:", e.cause.message || e.cause);
  process.exit(1);
});
