// The official Qdrant gRPC client (@qdrant/js-client-grpc) against a VJVector cluster, driven by
// tests/e2e/test_cluster_grpc.py: each step goes to a different node's gRPC port, so writes are
// forwarded to shard primaries and reads fan out over the peers. Prints one JSON object.
// Env: VJ_GRPC_URLS (comma-separated http://127.0.0.1:PORT, one per node), VJ_COLLECTION.
import { QdrantClient } from '@qdrant/js-client-grpc';

const urls = process.env.VJ_GRPC_URLS.split(',');
const collectionName = process.env.VJ_COLLECTION;
const nodes = urls.map((url) => new QdrantClient({ url, checkCompatibility: false, timeout: 30_000 }));

const id = (n) => ({ pointIdOptions: { case: 'num', value: BigInt(n) } });
const dense = (data) => ({ vectorsOptions: { case: 'vector', value: { vector: { case: 'dense', value: { data } } } } });
const vectorOf = (i) => [Math.cos(i), Math.sin(i), (i % 7) / 7, 1];
const ids = (points) => points.map((p) => Number(p.id.pointIdOptions.value));

const out = {};
// Upserts through every node in turn: each node forwards the points of the shards it is not primary of.
for (let batch = 0; batch < 3; batch += 1) {
  const points = [];
  for (let i = batch * 40; i < (batch + 1) * 40; i += 1) {
    points.push({ id: id(i), vectors: dense(vectorOf(i)), payload: { n: { kind: { case: 'integerValue', value: BigInt(i) } } } });
  }
  const r = await nodes[batch % nodes.length].api('points').upsert({ collectionName, wait: true, points });
  out[`upsert_${batch}`] = r.result?.status;
}
out.counts = [];
for (const node of nodes) {
  out.counts.push(Number((await node.api('points').count({ collectionName, exact: true })).result.count));
}
out.search = [];
for (const node of nodes) {
  const r = await node.api('points').search({ collectionName, vector: vectorOf(17.5), limit: 5n });
  out.search.push(r.result.map((p) => ({ id: Number(p.id.pointIdOptions.value), score: p.score })));
}
const deleted = await nodes[1].api('points').delete({
  collectionName,
  wait: true,
  points: { pointsSelectorOneOf: { case: 'points', value: { ids: [...Array(10).keys()].map(id) } } },
});
out.delete = deleted.result?.status;
const scrolled = await nodes[2].api('points').scroll({ collectionName, limit: 1000 });
out.scroll_ids = ids(scrolled.result).sort((a, b) => a - b);
const got = await nodes[0].api('points').get({ collectionName, ids: [id(5), id(50), id(119)] });
out.get_ids = ids(got.result).sort((a, b) => a - b);
console.log(JSON.stringify(out));
