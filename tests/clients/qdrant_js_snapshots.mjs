// Snapshots through the official Qdrant JS client (@qdrant/js-client-rest): createSnapshot,
// listSnapshots, recoverSnapshot (file:// of the node's own snapshot, into a new collection, with its
// checksum), deleteSnapshot, and the full-node createFullSnapshot, listFullSnapshots, deleteFullSnapshot.
// Environment: VJ_URL, VJ_API_KEY, VJ_DATA_DIR (the node's data directory), VJ_COLLECTION.
// Exit 0 when every step answered as Qdrant would; 1 with the error otherwise ("status=NNN").
import { QdrantClient } from "@qdrant/js-client-rest";

const url = process.env.VJ_URL;
const apiKey = process.env.VJ_API_KEY;
const dataDir = process.env.VJ_DATA_DIR;
const name = process.env.VJ_COLLECTION || "js-snap";
if (!url || !dataDir) {
  console.error("VJ_URL and VJ_DATA_DIR must be set");
  process.exit(2);
}

function check(cond, what) {
  if (!cond) throw new Error("unexpected answer: " + what);
}

async function main() {
  const client = new QdrantClient({ url, apiKey, checkCompatibility: false });
  await client.createCollection(name, { vectors: { size: 4, distance: "Dot" } });
  const points = [
    { id: 1, vector: [1, 0, 0, 0], payload: { kind: "a" } },
    { id: 2, vector: [0, 1, 0, 0], payload: { kind: "b" } },
  ];
  await client.upsert(name, { wait: true, points });

  const snap = await client.createSnapshot(name, { wait: true });
  check(snap && snap.name.endsWith(".snapshot") && snap.size > 0 && /^[0-9a-f]{64}$/.test(snap.checksum),
        "createSnapshot " + JSON.stringify(snap));
  const listed = await client.listSnapshots(name);
  check(listed.some((s) => s.name === snap.name && s.checksum === snap.checksum), "listSnapshots " + JSON.stringify(listed));

  const restored = name + "-restored";
  const ok = await client.recoverSnapshot(restored, {
    location: `file://${dataDir}/snapshots/${name}/${snap.name}`, priority: "snapshot", checksum: snap.checksum });
  check(ok === true, "recoverSnapshot " + JSON.stringify(ok));
  const got = await client.retrieve(restored, { ids: [1, 2], with_payload: true, with_vector: true });
  check(got.length === 2 && got.find((p) => p.id === 2).payload.kind === "b", "restored points " + JSON.stringify(got));

  check((await client.deleteSnapshot(name, snap.name)) === true, "deleteSnapshot");
  check(!(await client.listSnapshots(name)).some((s) => s.name === snap.name), "snapshot still listed");

  const full = await client.createFullSnapshot({ wait: true });
  check(full && full.name.endsWith(".snapshot"), "createFullSnapshot " + JSON.stringify(full));
  check((await client.listFullSnapshots()).some((s) => s.name === full.name), "listFullSnapshots");
  check((await client.deleteFullSnapshot(full.name)) === true, "deleteFullSnapshot");
  check((await client.listFullSnapshots()).length === 0, "full snapshot still listed");
  console.log("qdrant js snapshots ok");
}

main().catch((e) => {
  const status = e && (e.status ?? (e.response && e.response.status));
  console.error(`qdrant js snapshots failed: status=${status ?? "none"} ${e && e.message ? e.message : e}`);
  if (e && e.data) console.error("data:", JSON.stringify(e.data));
  process.exit(1);
});
