// The official Qdrant gRPC client (@qdrant/js-client-grpc) against VJVector's gRPC port, driven by
// tests/e2e/test_grpc_client.py: a create / upsert / query / search / scroll / count / get / delete cycle
// whose answers the test compares with the REST port's, then refusals. Prints one JSON object.
// Env: VJ_GRPC_URL (https://127.0.0.1:PORT), VJ_API_KEY (read-write), VJ_READ_KEY (read-only),
// VJ_COLLECTION, VJ_STEP ("cycle", "refuse_and_delete", "rate_limited" or "cleanup").
import { QdrantClient, ConnectError, toDenseVector } from '@qdrant/js-client-grpc';

const url = process.env.VJ_GRPC_URL;
const collectionName = process.env.VJ_COLLECTION;
const client = (apiKey) => new QdrantClient({ url, apiKey, checkCompatibility: false, timeout: 30_000 });
const rw = client(process.env.VJ_API_KEY);

const id = (n) => ({ pointIdOptions: { case: 'num', value: BigInt(n) } });
const dense = (data) => ({ vector: { case: 'dense', value: { data } } });
const str = (s) => ({ kind: { case: 'stringValue', value: s } });
const int = (n) => ({ kind: { case: 'integerValue', value: BigInt(n) } });
const withPayload = { selectorOptions: { case: 'enable', value: true } };
const red = {
  must: [{ conditionOneOf: { case: 'field', value: { key: 'color', match: { matchValue: { case: 'keyword', value: 'red' } } } } }],
};
const vectorOf = (i) => [Math.cos(i), Math.sin(i), (i % 5) / 5, 1];
const query = vectorOf(2.5);

// Plain JSON of points: ids, scores, payloads, vectors.
function fromValue(v) {
  const k = v.kind;
  switch (k.case) {
    case 'integerValue': return Number(k.value);
    case 'structValue': return Object.fromEntries(Object.entries(k.value.fields).map(([a, b]) => [a, fromValue(b)]));
    case 'listValue': return k.value.values.map(fromValue);
    case 'nullValue': case undefined: return null;
    default: return k.value;
  }
}
const plain = (points) => points.map((p) => {
  const out = { id: Number(p.id.pointIdOptions.value), payload: Object.fromEntries(Object.entries(p.payload).map(([a, b]) => [a, fromValue(b)])) };
  if (p.score !== undefined) out.score = p.score;
  if (p.vectors?.vectorsOptions?.case === 'vector') out.vector = toDenseVector(p.vectors.vectorsOptions.value)?.data;
  return out;
});

async function refusal(promise) {
  try {
    await promise;
    return 'OK';
  } catch (e) {
    if (e instanceof ConnectError) {
      // The client turns RESOURCE_EXHAUSTED with retry-after metadata into its own error, which its
      // transport then wraps (code Unknown) when the two copies of @connectrpc/connect differ: unwrap it.
      const inner = e.cause?.name === 'QdrantClientResourceExhaustedError' ? e.cause : e;
      return { code: inner.code, message: inner.rawMessage, retry_after: inner.retry_after };
    }
    throw e;
  }
}

async function cycle() {
  const out = {};
  out.health = (await rw.api('service').healthCheck({})).version;
  out.create = (await rw.api('collections').create({
    collectionName,
    vectorsConfig: { config: { case: 'params', value: { size: 4n, distance: 1 /* Cosine */ } } },
  })).result;
  out.exists = (await rw.api('collections').collectionExists({ collectionName })).result.exists;
  const points = [];
  for (let i = 0; i < 30; i++) {
    points.push({ id: id(i), vectors: { vectorsOptions: { case: 'vector', value: dense(vectorOf(i)) } },
                  payload: { color: str(i % 3 === 0 ? 'red' : 'blue'), n: int(i) } });
  }
  const upsert = await rw.api('points').upsert({ collectionName, wait: true, points });
  out.upsert_status = upsert.result.status;  // 2 = Completed
  const p = rw.api('points');
  out.query = plain((await p.query({
    collectionName, query: { variant: { case: 'nearest', value: { variant: { case: 'dense', value: { data: query } } } } },
    filter: red, limit: 5n, withPayload,
  })).result);
  out.search = plain((await p.search({ collectionName, vector: query, filter: red, limit: 5n, withPayload })).result);
  const scroll = await p.scroll({ collectionName, filter: red, limit: 4, withPayload });
  out.scroll = plain(scroll.result);
  out.scroll_next = scroll.nextPageOffset ? Number(scroll.nextPageOffset.pointIdOptions.value) : null;
  out.count = Number((await p.count({ collectionName, filter: red, exact: true })).result.count);
  out.get = plain((await p.get({ collectionName, ids: [id(3), id(4)], withPayload,
                                 withVectors: { selectorOptions: { case: 'enable', value: true } } })).result);
  out.list = (await rw.api('collections').list({})).collections.map((c) => c.name);
  return out;
}

async function refuseAndDelete() {
  const out = {};
  const p = rw.api('points');
  const points = [0, 1].map((i) => ({ id: id(i), vectors: { vectorsOptions: { case: 'vector', value: dense(vectorOf(i)) } } }));
  // Refusals: the server must stay up and nothing may change.
  const ro = client(process.env.VJ_READ_KEY);
  const bearer = new QdrantClient({ url, checkCompatibility: false, headers: { authorization: `Bearer ${process.env.VJ_API_KEY}` } });
  out.bearer_count = Number((await bearer.api('points').count({ collectionName, exact: true })).result.count);
  out.read_only_count = Number((await ro.api('points').count({ collectionName, exact: true })).result.count);
  out.read_only_upsert = await refusal(ro.api('points').upsert({ collectionName, wait: true, points: [points[0]] }));
  out.no_key = await refusal(client(undefined).api('collections').list({}));
  out.wrong_key = await refusal(client('not-the-key').api('points').count({ collectionName }));
  out.bad_dimension = await refusal(p.upsert({ collectionName, wait: true, points: [
    { id: id(99), vectors: { vectorsOptions: { case: 'vector', value: dense([1, 2]) } } }] }));
  out.nan_vector = await refusal(p.search({ collectionName, vector: [NaN, 1, 1, 1], limit: 3n }));
  out.bad_key = await refusal(p.count({ collectionName, filter: { must: [{ conditionOneOf: { case: 'isEmpty', value: { key: 'a..b' } } }] } }));
  out.unsupported_field = await refusal(p.upsert({ collectionName, wait: true, points: [points[1]], updateFilter: red }));
  const cols = rw.api('collections');
  const params = (size) => ({ config: { case: 'params', value: { size, distance: 1 } } });
  out.create_again = await refusal(cols.create({ collectionName, vectorsConfig: params(4n) }));
  out.create_zero_size = await refusal(cols.create({ collectionName: collectionName + '-zero', vectorsConfig: params(0n) }));
  out.create_reserved_name = await refusal(cols.create({ collectionName: collectionName + '-size', vectorsConfig: {
    config: { case: 'paramsMap', value: { map: { size: { size: 4n, distance: 1 } } } } } }));
  out.reserved_name_exists = (await cols.collectionExists({ collectionName: collectionName + '-size' })).result.exists;
  out.zero_size_exists = (await cols.collectionExists({ collectionName: collectionName + '-zero' })).result.exists;
  out.missing_collection = await refusal(p.count({ collectionName: collectionName + '-missing' }));
  out.count_after_refusals = Number((await p.count({ collectionName, exact: true })).result.count);

  const del = await p.delete({ collectionName, wait: true,
                               points: { pointsSelectorOneOf: { case: 'points', value: { ids: [id(0), id(3)] } } } });
  out.delete_status = del.result.status;
  out.count_after_delete = Number((await p.count({ collectionName, filter: red, exact: true })).result.count);
  return out;
}

// A node with a write rate limit of one request and no refill to speak of: creating the collection takes
// the token, the upsert that follows is refused with the time to wait.
async function rateLimited() {
  const out = {};
  out.create = (await rw.api('collections').create({
    collectionName, vectorsConfig: { config: { case: 'params', value: { size: 4n, distance: 1 } } } })).result;
  out.upsert = await refusal(rw.api('points').upsert({ collectionName, wait: true, points: [
    { id: id(1), vectors: { vectorsOptions: { case: 'vector', value: dense(vectorOf(1)) } } }] }));
  out.count = Number((await rw.api('points').count({ collectionName, exact: true })).result.count);
  return out;
}

async function cleanup() {
  const out = {};
  out.delete_collection = (await rw.api('collections').delete({ collectionName })).result;
  out.exists_after = (await rw.api('collections').collectionExists({ collectionName })).result.exists;
  return out;
}

const step = { cycle, refuse_and_delete: refuseAndDelete, rate_limited: rateLimited, cleanup }[process.env.VJ_STEP];
step().then((out) => { console.log(JSON.stringify(out)); }, (e) => { console.error(e); process.exit(1); });
