// An OTLP/HTTP trace receiver for the e2e tests (tests/e2e/test_tracing.py). It accepts
// POST /v1/traces with an OTLP/JSON ExportTraceServiceRequest, checks it field by field against the
// OTLP JSON mapping and against OpenTelemetry JS's own encoder (@opentelemetry/otlp-transformer: the
// request is read back into the SDK's span model and encoded again by JsonTraceSerializer; both must
// say the same), and keeps the spans it accepted. A request that fails a check is answered 400 and
// its reason kept. GET /spans answers {"spans": [...], "errors": [...], "requests": N}.
// Prints {"port": N} on its first line once it listens on 127.0.0.1.
import http from "node:http";
import { JsonTraceSerializer } from "@opentelemetry/otlp-transformer";

const spans = [];
const errors = [];
let requests = 0;

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const DIGITS = /^[0-9]+$/;

function check(condition, what) {
  if (!condition) throw new Error(what);
}

function checkValue(value, where) {
  check(value && typeof value === "object", `${where}: value is not an object`);
  const keys = Object.keys(value);
  check(keys.length === 1, `${where}: an AnyValue has exactly one field, got ${JSON.stringify(keys)}`);
  const [k] = keys;
  const v = value[k];
  if (k === "stringValue") check(typeof v === "string", `${where}: stringValue`);
  else if (k === "intValue") check(typeof v === "string" ? /^-?[0-9]+$/.test(v) : Number.isInteger(v), `${where}: intValue`);
  else if (k === "doubleValue") check(typeof v === "number" || ["NaN", "Infinity", "-Infinity"].includes(v), `${where}: doubleValue`);
  else if (k === "boolValue") check(typeof v === "boolean", `${where}: boolValue`);
  else throw new Error(`${where}: unexpected AnyValue field ${k}`);
}

function checkAttributes(attributes, where) {
  check(Array.isArray(attributes), `${where}: attributes is not an array`);
  const seen = new Set();
  for (const kv of attributes) {
    check(typeof kv.key === "string" && kv.key.length > 0, `${where}: attribute without a key`);
    check(!seen.has(kv.key), `${where}: attribute ${kv.key} twice`);
    seen.add(kv.key);
    checkValue(kv.value, `${where}.${kv.key}`);
  }
}

function checkSpan(span, where) {
  check(HEX32.test(span.traceId) && !/^0+$/.test(span.traceId), `${where}: traceId ${span.traceId}`);
  check(HEX16.test(span.spanId) && !/^0+$/.test(span.spanId), `${where}: spanId ${span.spanId}`);
  if ("parentSpanId" in span) check(HEX16.test(span.parentSpanId) && !/^0+$/.test(span.parentSpanId), `${where}: parentSpanId`);
  check(typeof span.name === "string" && span.name.length > 0, `${where}: name`);
  check(Number.isInteger(span.kind) && span.kind >= 1 && span.kind <= 5, `${where}: kind ${span.kind}`);
  check(DIGITS.test(span.startTimeUnixNano) && DIGITS.test(span.endTimeUnixNano), `${where}: times are decimal strings`);
  check(BigInt(span.endTimeUnixNano) >= BigInt(span.startTimeUnixNano), `${where}: ends before it starts`);
  check(BigInt(span.startTimeUnixNano) > 1600000000n * 1000000000n, `${where}: start is not Unix nanoseconds`);
  checkAttributes(span.attributes ?? [], `${where}.attributes`);
  check(span.status && [0, 1, 2].includes(span.status.code ?? 0), `${where}: status`);
  check(Number.isInteger(span.flags), `${where}: flags`);
}

function checkRequest(request) {
  check(Array.isArray(request.resourceSpans) && request.resourceSpans.length > 0, "resourceSpans");
  request.resourceSpans.forEach((rs, i) => {
    checkAttributes(rs.resource?.attributes, `resourceSpans[${i}].resource`);
    check(Array.isArray(rs.scopeSpans), `resourceSpans[${i}].scopeSpans`);
    rs.scopeSpans.forEach((ss, j) => {
      check(typeof ss.scope?.name === "string", `scopeSpans[${j}].scope.name`);
      check(Array.isArray(ss.spans), `scopeSpans[${j}].spans`);
      ss.spans.forEach((s, k) => checkSpan(s, `resourceSpans[${i}].scopeSpans[${j}].spans[${k}]`));
    });
  });
}

// An OTLP AnyValue as the JS value the SDK's span model holds.
function fromAnyValue(value) {
  if ("stringValue" in value) return value.stringValue;
  if ("intValue" in value) return Number(value.intValue);
  if ("doubleValue" in value) return Number(value.doubleValue);
  return value.boolValue;
}

function toObject(attributes) {
  const out = {};
  for (const kv of attributes ?? []) out[kv.key] = fromAnyValue(kv.value);
  return out;
}

function hrTime(nanos) {
  const n = BigInt(nanos);
  return [Number(n / 1000000000n), Number(n % 1000000000n)];
}

// The request read back into the SDK's ReadableSpan model.
function toReadableSpans(request) {
  const out = [];
  for (const rs of request.resourceSpans) {
    const resource = { attributes: toObject(rs.resource.attributes) };
    for (const ss of rs.scopeSpans) {
      const scope = { name: ss.scope.name, version: ss.scope.version };
      for (const s of ss.spans) {
        const traceFlags = s.flags & 0xff;
        const context = { traceId: s.traceId, spanId: s.spanId, traceFlags };
        if (s.traceState) context.traceState = { serialize: () => s.traceState };
        out.push({
          name: s.name,
          kind: s.kind - 1,
          spanContext: () => context,
          parentSpanContext: s.parentSpanId
            ? { traceId: s.traceId, spanId: s.parentSpanId, traceFlags, isRemote: (s.flags & 0x200) !== 0 }
            : undefined,
          startTime: hrTime(s.startTimeUnixNano),
          endTime: hrTime(s.endTimeUnixNano),
          status: { code: s.status?.code ?? 0, message: s.status?.message },
          attributes: toObject(s.attributes),
          links: [],
          events: [],
          duration: [0, 0],
          ended: true,
          resource,
          instrumentationScope: scope,
          droppedAttributesCount: 0,
          droppedEventsCount: 0,
          droppedLinksCount: 0,
        });
      }
    }
  }
  return out;
}

// proto3 JSON: a field at its default (0, "", [], absent) is the same as no field; numbers may be
// strings (64-bit integers).
function normalize(value) {
  if (Array.isArray(value)) return value.map(normalize);
  if (value && typeof value === "object") {
    const out = {};
    for (const key of Object.keys(value).sort()) {
      let v = value[key];
      if (key === "intValue" || key === "doubleValue") v = Number(v);
      v = normalize(v);
      const isDefault = v === undefined || v === 0 || v === "" || (Array.isArray(v) && v.length === 0) ||
                        (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0 && key !== "value");
      if (!isDefault) out[key] = v;
    }
    return out;
  }
  return value;
}

function firstDifference(a, b, path = "") {
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b)) return `${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
  if (a && typeof a === "object") {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const d = firstDifference(a[k], b[k], `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return a === b ? null : `${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

function accept(request) {
  checkRequest(request);
  const again = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(toReadableSpans(request))));
  const d = firstDifference(normalize(request), normalize(again));
  if (d) throw new Error(`differs from OpenTelemetry JS's encoding at ${d}`);
  for (const rs of request.resourceSpans) {
    const resource = toObject(rs.resource.attributes);
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) {
        spans.push({
          traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? "", name: s.name, kind: s.kind,
          attributes: toObject(s.attributes), status: s.status?.code ?? 0, resource,
          start: s.startTimeUnixNano, end: s.endTimeUnixNano,
        });
      }
    }
  }
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const answer = (status, body) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method === "GET" && req.url === "/spans") return answer(200, { spans, errors, requests });
    if (req.method !== "POST" || req.url !== "/v1/traces") return answer(404, { error: "not found" });
    requests += 1;
    try {
      check((req.headers["content-type"] ?? "").startsWith("application/json"), `Content-Type ${req.headers["content-type"]}`);
      accept(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      return answer(200, {});  // ExportTraceServiceResponse without partialSuccess
    } catch (e) {
      errors.push(String(e.message ?? e));
      return answer(400, { error: String(e.message ?? e) });
    }
  });
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});
