// Collection aliases and recreateCollection through the official Qdrant JS client
// (@qdrant/js-client-rest, pinned in package.json), with its server version check on: the client must
// not warn that the server's version is incompatible.
// Environment: VJ_URL (http(s)://host:port), VJ_API_KEY, VJ_COLLECTION (a name prefix; default js-alias).
// Exit 0 when every step answered as Qdrant would; 1 with the error otherwise.
import { QdrantClient } from "@qdrant/js-client-rest";

const url = process.env.VJ_URL;
const apiKey = process.env.VJ_API_KEY;
const prefix = process.env.VJ_COLLECTION || "js-alias";
if (!url) {
  console.error("VJ_URL is not set");
  process.exit(2);
}

const warnings = [];
const warn = console.warn;
console.warn = (...args) => {
  warnings.push(args.join(" "));
  warn(...args);
};

function check(cond, what) {
  if (!cond) throw new Error("unexpected answer: " + what);
}

function sorted(aliases) {
  return aliases.map((a) => `${a.alias_name}->${a.collection_name}`).sort().join(",");
}

async function main() {
  const client = new QdrantClient({ url, apiKey, checkCompatibility: true });
  const v1 = prefix + "-v1";
  const v2 = prefix + "-v2";
  const alias = prefix + "-prod";
  const vectors = { size: 4, distance: "Dot" };
  // recreateCollection deletes first: the first run finds nothing to delete.
  check((await client.recreateCollection(v1, { vectors })) === true, "recreateCollection (first run)");
  check((await client.recreateCollection(v1, { vectors })) === true, "recreateCollection (again)");
  check((await client.createCollection(v2, { vectors })) === true, "createCollection");
  await client.upsert(v1, { wait: true, points: [{ id: 1, vector: [1, 0, 0, 0], payload: { g: "v1" } }] });
  await client.upsert(v2, { wait: true, points: [{ id: 2, vector: [1, 0, 0, 0], payload: { g: "v2" } }] });

  check((await client.updateCollectionAliases({
    actions: [{ create_alias: { collection_name: v1, alias_name: alias } }],
  })) === true, "updateCollectionAliases create");
  let q = await client.query(alias, { query: [1, 0, 0, 0], limit: 1, with_payload: true });
  check(q.points[0].payload.g === "v1", "query through the alias " + JSON.stringify(q));

  check((await client.updateCollectionAliases({
    actions: [{ delete_alias: { alias_name: alias } }, { create_alias: { collection_name: v2, alias_name: alias } }],
  })) === true, "updateCollectionAliases switch");
  q = await client.query(alias, { query: [1, 0, 0, 0], limit: 1, with_payload: true });
  check(q.points[0].payload.g === "v2", "query after the switch " + JSON.stringify(q));

  const all = await client.getAliases();
  check(sorted(all.aliases) === `${alias}->${v2}`, "getAliases " + JSON.stringify(all));
  const of2 = await client.getCollectionAliases(v2);
  check(sorted(of2.aliases) === `${alias}->${v2}`, "getCollectionAliases " + JSON.stringify(of2));
  const of1 = await client.getCollectionAliases(v1);
  check(of1.aliases.length === 0, "getCollectionAliases of v1 " + JSON.stringify(of1));

  check((await client.updateCollectionAliases({
    actions: [{ rename_alias: { old_alias_name: alias, new_alias_name: alias + "-b" } }],
  })) === true, "updateCollectionAliases rename");
  check(sorted((await client.getAliases()).aliases) === `${alias}-b->${v2}`, "getAliases after rename");

  check((await client.deleteCollection(v2)) === true, "deleteCollection");
  check((await client.getAliases()).aliases.length === 0, "aliases of a deleted collection are gone");
  check((await client.deleteCollection(v2)) === false, "deleteCollection of a missing collection");
  check((await client.deleteCollection(v1)) === true, "deleteCollection v1");

  // The client's own version check (started by the constructor) has answered by now; its rule is:
  // same major, minor within 1.
  const info = await client.versionInfo();
  await new Promise((resolve) => setTimeout(resolve, 0));
  check(typeof info.version === "string" && info.version.startsWith("1."), "GET / version " + JSON.stringify(info));
  check(typeof info.vjvector_version === "string", "GET / vjvector_version " + JSON.stringify(info));
  const bad = warnings.filter((w) => /incompatible|server version/i.test(w));
  check(bad.length === 0, "version warnings: " + JSON.stringify(bad));
  console.log("qdrant js aliases ok");
}

main().catch((e) => {
  const status = e && (e.status ?? (e.response && e.response.status));
  console.error(`qdrant js aliases failed: status=${status ?? "none"} ${e && e.message ? e.message : e}`);
  if (e && e.data) console.error("data:", JSON.stringify(e.data));
  process.exit(1);
});
