// One collection's life through the official Qdrant JS client (@qdrant/js-client-rest, pinned in
// package.json): create, upsert, query, search, delete points, delete the collection.
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
    { id: 1, vector: [1, 0, 0, 0], payload: { kind: "a" } },
    { id: 2, vector: [0, 1, 0, 0], payload: { kind: "b" } },
    { id: 3, vector: [0, 0, 1, 0], payload: { kind: "a" } },
  ];
  const up = await client.upsert(name, { wait: true, points });
  check(up.status === "completed", "upsert status " + JSON.stringify(up));

  const q = await client.query(name, { query: [0, 1, 0, 0], limit: 2, with_payload: true });
  check(q.points.length === 2 && q.points[0].id === 2 && q.points[0].payload.kind === "b",
        "query " + JSON.stringify(q));
  const s = await client.search(name, { vector: [0, 0, 1, 0], limit: 1,
                                        filter: { must: [{ key: "kind", match: { value: "a" } }] } });
  check(s.length === 1 && s[0].id === 3, "search " + JSON.stringify(s));

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
