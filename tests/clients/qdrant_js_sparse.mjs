// Sparse vectors through the official Qdrant JS client (@qdrant/js-client-rest, pinned in package.json):
// create a collection with a dense and a sparse vector (idf modifier), upsert named sparse vectors,
// query by a sparse vector, a hybrid rrf query over a sparse and a dense prefetch, retrieve with
// vectors, read the config back, delete the collection.
// Environment: VJ_URL, VJ_API_KEY, VJ_COLLECTION (default js-sparse). Exit 0 when every step answered as
// Qdrant would; 1 with the error otherwise.
import { QdrantClient } from "@qdrant/js-client-rest";

const url = process.env.VJ_URL;
const apiKey = process.env.VJ_API_KEY;
const name = process.env.VJ_COLLECTION || "js-sparse";
if (!url) {
  console.error("VJ_URL is not set");
  process.exit(2);
}

function check(cond, what) {
  if (!cond) throw new Error("unexpected answer: " + what);
}

async function main() {
  const client = new QdrantClient({ url, apiKey, checkCompatibility: false });
  check((await client.createCollection(name, {
    vectors: { dense: { size: 2, distance: "Dot" } },
    sparse_vectors: { text: { modifier: "idf", index: { on_disk: false } } },
  })) === true, "createCollection");
  const info = await client.getCollection(name);
  check(info.config.params.sparse_vectors.text.modifier === "idf", "config " + JSON.stringify(info.config.params));
  const up = await client.upsert(name, {
    wait: true,
    points: [
      { id: 1, vector: { dense: [1, 0], text: { indices: [10, 20], values: [1.0, 1.0] } } },
      { id: 2, vector: { dense: [0, 1], text: { indices: [20], values: [2.0] } } },
      { id: 3, vector: { dense: [1, 1], text: { indices: [30, 10], values: [0.5, 3.0] } } },
    ],
  });
  check(up.status === "completed", "upsert " + JSON.stringify(up));
  // idf over 3 points: index 10 is in 2 of them, 20 in 2, 30 in 1.
  const idf = (n) => Math.log((3 - n + 0.5) / (n + 0.5) + 1);
  const q = await client.query(name, { query: { indices: [10], values: [1.0] }, using: "text", limit: 5 });
  check(q.points.map((p) => p.id).join() === "3,1" && Math.abs(q.points[0].score - 3 * idf(2)) < 1e-4,
        "sparse query " + JSON.stringify(q));
  const s = await client.search(name, { vector: { name: "text", vector: { indices: [20], values: [1] } }, limit: 1 });
  check(s.length === 1 && s[0].id === 2, "sparse search " + JSON.stringify(s));
  const fused = await client.query(name, {
    prefetch: [
      { query: { indices: [30], values: [1.0] }, using: "text", limit: 2 },
      { query: [1, 1], using: "dense", limit: 2 },
    ],
    query: { fusion: "rrf" }, limit: 3,
  });
  // Point 3 is first in both lists: 1/2 + 1/2.
  check(fused.points[0].id === 3 && Math.abs(fused.points[0].score - 1.0) < 1e-6, "rrf " + JSON.stringify(fused));
  const got = await client.retrieve(name, { ids: [3], with_vector: true });
  check(JSON.stringify(got[0].vector.text) === JSON.stringify({ indices: [10, 30], values: [3, 0.5] }),
        "retrieve " + JSON.stringify(got));
  check((await client.deleteCollection(name)) === true, "deleteCollection");
  console.log("qdrant js sparse ok");
}

main().then(() => process.exit(0), (err) => {
  const status = err && err.status ? " status=" + err.status : "";
  console.error((err && err.stack ? err.stack : String(err)) + status);
  process.exit(1);
});
