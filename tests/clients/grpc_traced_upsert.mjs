// One upsert over VJVector's gRPC port with the official client (@qdrant/js-client-grpc), sent with a
// W3C traceparent header; driven by tests/e2e/test_tracing.py, which checks that the call's spans
// continue the caller's trace. Env: VJ_GRPC_URL (http://127.0.0.1:PORT), VJ_COLLECTION, VJ_TRACEPARENT.
import { QdrantClient } from '@qdrant/js-client-grpc';

const client = new QdrantClient({
  url: process.env.VJ_GRPC_URL,
  checkCompatibility: false,
  timeout: 30_000,
  headers: { traceparent: process.env.VJ_TRACEPARENT },
});
const id = (n) => ({ pointIdOptions: { case: 'num', value: BigInt(n) } });
const dense = (data) => ({ vectorsOptions: { case: 'vector', value: { vector: { case: 'dense', value: { data } } } } });
const answer = await client.api('points').upsert({
  collectionName: process.env.VJ_COLLECTION,
  wait: true,
  points: [{ id: id(101), vectors: dense([0, 1, 0, 0]), payload: {} }],
});
console.log(JSON.stringify({ status: answer.result?.status }));
