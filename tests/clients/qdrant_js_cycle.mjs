// One collection's life through the official Qdrant JS client (@qdrant/js-client-rest, pinned in
// package.json): create, upsert, query, search, search groups, query groups, scroll with order_by, facet,
// the search matrix, delete points, delete the collection.
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
