#include "cluster/etcd_client.h"

#include <algorithm>
#include <charconv>
#include <exception>
#include <thread>

#include <boost/json.hpp>

#include "core/payload.h"

namespace vj {

namespace json = boost::json;

namespace {

constexpr char kBase64Chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64Encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
    out += kBase64Chars[(n >> 18) & 63];
    out += kBase64Chars[(n >> 12) & 63];
    out += kBase64Chars[(n >> 6) & 63];
    out += kBase64Chars[n & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t n = uint32_t(uint8_t(in[i])) << 16;
    out += kBase64Chars[(n >> 18) & 63];
    out += kBase64Chars[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t n = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8);
    out += kBase64Chars[(n >> 18) & 63];
    out += kBase64Chars[(n >> 12) & 63];
    out += kBase64Chars[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

StatusOr<std::string> Base64Decode(std::string_view in) {
  std::string out;
  out.reserve(in.size() / 4 * 3);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+' || c == '-') v = 62;
    else if (c == '/' || c == '_') v = 63;
    else return absl::InternalError("etcd: malformed base64 in response");
    buffer = (buffer << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((buffer >> bits) & 0xff);
    }
  }
  return out;
}

// etcd's gateway writes int64 as strings ("12"), omits zero values, and sometimes writes plain numbers.
int64_t JsonInt(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  if (v->is_string()) {
    const json::string& s = v->as_string();
    int64_t n = 0;
    std::from_chars(s.data(), s.data() + s.size(), n);
    return n;
  }
  return 0;
}

bool JsonBool(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  return v != nullptr && v->is_bool() && v->as_bool();
}

const json::object* JsonObject(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  return v != nullptr && v->is_object() ? &v->as_object() : nullptr;
}

StatusOr<std::string> JsonBytes(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr) return std::string();
  if (!v->is_string()) return absl::InternalError("etcd: field '" + std::string(key) + "' is not a string");
  return Base64Decode(std::string_view(v->as_string().data(), v->as_string().size()));
}

StatusOr<KeyValue> ParseKeyValue(const json::object& obj) {
  KeyValue kv;
  VJ_ASSIGN_OR_RETURN(kv.key, JsonBytes(obj, "key"));
  VJ_ASSIGN_OR_RETURN(kv.value, JsonBytes(obj, "value"));
  kv.create_revision = JsonInt(obj, "create_revision");
  kv.mod_revision = JsonInt(obj, "mod_revision");
  kv.version = JsonInt(obj, "version");
  kv.lease = JsonInt(obj, "lease");
  return kv;
}

StatusOr<std::vector<KeyValue>> ParseKvs(const json::object& obj) {
  std::vector<KeyValue> kvs;
  const json::value* v = obj.if_contains("kvs");
  if (v == nullptr) return kvs;
  if (!v->is_array()) return absl::InternalError("etcd: 'kvs' is not an array");
  for (const json::value& item : v->as_array()) {
    if (!item.is_object()) return absl::InternalError("etcd: a kv is not an object");
    VJ_ASSIGN_OR_RETURN(KeyValue kv, ParseKeyValue(item.as_object()));
    kvs.push_back(std::move(kv));
  }
  return kvs;
}

int64_t HeaderRevision(const json::object& obj) {
  const json::object* header = JsonObject(obj, "header");
  return header == nullptr ? 0 : JsonInt(*header, "revision");
}

StatusOr<json::object> ParseObject(std::string_view text) {
  auto parsed = ParseJson(text);
  if (!parsed.ok() || !parsed->is_object()) {
    return absl::InternalError("etcd: malformed gateway response: " + std::string(text.substr(0, 200)));
  }
  return std::move(parsed->as_object());
}

// An etcd/gateway error ({"error": "...", "message": "...", "code": N} or, inside a stream,
// {"error": {"grpc_code": N, "message": "..."}}) as a Status with the same code.
Status EtcdError(const json::object& obj, int http_status) {
  int64_t code = JsonInt(obj, "code");
  std::string message;
  if (const json::value* m = obj.if_contains("message"); m != nullptr && m->is_string()) {
    message = std::string(m->as_string());
  }
  if (const json::object* err = JsonObject(obj, "error")) {
    code = JsonInt(*err, "grpc_code");
    if (const json::value* m = err->if_contains("message"); m != nullptr && m->is_string()) {
      message = std::string(m->as_string());
    }
  } else if (const json::value* e = obj.if_contains("error"); message.empty() && e && e->is_string()) {
    message = std::string(e->as_string());
  }
  if (message.empty()) message = "HTTP " + std::to_string(http_status);
  if (code <= 0 || code > 16) return absl::InternalError("etcd: " + message);
  return Status(static_cast<absl::StatusCode>(code), "etcd: " + message);
}

json::object RangeRequest(const std::string& key, bool prefix) {
  json::object req;
  req["key"] = Base64Encode(prefix && key.empty() ? std::string(1, '\0') : key);
  if (prefix) req["range_end"] = Base64Encode(PrefixRangeEnd(key));
  return req;
}

json::object OpRequest(const TxnOp& op) {
  json::object wrapper;
  switch (op.kind) {
    case TxnOp::Kind::kPut: {
      json::object put;
      put["key"] = Base64Encode(op.key);
      put["value"] = Base64Encode(op.value);
      if (op.lease != 0) put["lease"] = std::to_string(op.lease);
      wrapper["request_put"] = std::move(put);
      break;
    }
    case TxnOp::Kind::kDelete:
    case TxnOp::Kind::kDeletePrefix:
      wrapper["request_delete_range"] = RangeRequest(op.key, op.kind == TxnOp::Kind::kDeletePrefix);
      break;
    case TxnOp::Kind::kGet:
    case TxnOp::Kind::kGetPrefix:
      wrapper["request_range"] = RangeRequest(op.key, op.kind == TxnOp::Kind::kGetPrefix);
      break;
  }
  return wrapper;
}

// Sleeps for `d` unless `stop` becomes true first.
void SleepUnlessStopped(std::chrono::milliseconds d, const std::atomic<bool>& stop) {
  auto until = std::chrono::steady_clock::now() + d;
  while (!stop.load() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::min(std::chrono::milliseconds(50),
                                         std::chrono::duration_cast<std::chrono::milliseconds>(
                                             until - std::chrono::steady_clock::now()) +
                                             std::chrono::milliseconds(1)));
  }
}

}  // namespace

std::string PrefixRangeEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    if (static_cast<uint8_t>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<uint8_t>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

TxnCompare TxnCompare::CreateRevisionEquals(std::string key, int64_t revision) {
  return TxnCompare{std::move(key), Target::kCreateRevision, revision, {}};
}
TxnCompare TxnCompare::ModRevisionEquals(std::string key, int64_t revision) {
  return TxnCompare{std::move(key), Target::kModRevision, revision, {}};
}
TxnCompare TxnCompare::VersionEquals(std::string key, int64_t version) {
  return TxnCompare{std::move(key), Target::kVersion, version, {}};
}
TxnCompare TxnCompare::ValueEquals(std::string key, std::string value) {
  return TxnCompare{std::move(key), Target::kValue, 0, std::move(value)};
}
TxnCompare TxnCompare::NothingChangedUnderPrefixSince(const std::string& prefix, int64_t revision) {
  return TxnCompare{prefix, Target::kModRevision, revision + 1, {}, PrefixRangeEnd(prefix), true};
}

TxnOp TxnOp::Put(std::string key, std::string value, int64_t lease) {
  return TxnOp{Kind::kPut, std::move(key), std::move(value), lease};
}
TxnOp TxnOp::Delete(std::string key) { return TxnOp{Kind::kDelete, std::move(key), {}, 0}; }
TxnOp TxnOp::DeletePrefix(std::string prefix) { return TxnOp{Kind::kDeletePrefix, std::move(prefix), {}, 0}; }
TxnOp TxnOp::Get(std::string key) { return TxnOp{Kind::kGet, std::move(key), {}, 0}; }
TxnOp TxnOp::GetPrefix(std::string prefix) { return TxnOp{Kind::kGetPrefix, std::move(prefix), {}, 0}; }

EtcdClient::EtcdClient(EtcdClientOptions options)
    : options_(std::move(options)),
      http_(HttpClientOptions{.connect_timeout = options_.connect_timeout,
                              .request_timeout = options_.request_timeout,
                              .tls = options_.tls,
                              .check_server_names = {}}) {}

StatusOr<std::string> EtcdClient::Call(const std::string& path, const std::string& body) {
  if (options_.endpoints.empty()) return absl::FailedPreconditionError("etcd: no endpoints configured");
  const size_t n = options_.endpoints.size();
  const size_t first = current_endpoint_.load() % n;
  Status last;
  for (size_t i = 0; i < n; ++i) {
    const size_t index = (first + i) % n;
    const std::string& endpoint = options_.endpoints[index];
    StatusOr<HttpResult> res = http_.Send("POST", endpoint + path, body);
    if (!res.ok()) {
      last = WithContext(res.status(), "etcd " + endpoint + path);
      if (absl::IsUnavailable(res.status())) continue;
      return last;
    }
    if (res->status == 200) {
      current_endpoint_.store(index);
      return std::move(res->body);
    }
    auto obj = ParseObject(res->body);
    last = obj.ok() ? EtcdError(*obj, res->status)
                    : absl::InternalError("etcd " + endpoint + path + ": HTTP " + std::to_string(res->status));
    if (!absl::IsUnavailable(last)) return last;
  }
  return last;
}

StatusOr<RangeResult> EtcdClient::Get(const std::string& key) {
  VJ_ASSIGN_OR_RETURN(std::string body, Call("/v3/kv/range", json::serialize(RangeRequest(key, false))));
  VJ_ASSIGN_OR_RETURN(json::object obj, ParseObject(body));
  RangeResult result;
  VJ_ASSIGN_OR_RETURN(result.kvs, ParseKvs(obj));
  result.revision = HeaderRevision(obj);
  return result;
}

StatusOr<RangeResult> EtcdClient::GetPrefix(const std::string& prefix) {
  VJ_ASSIGN_OR_RETURN(std::string body, Call("/v3/kv/range", json::serialize(RangeRequest(prefix, true))));
  VJ_ASSIGN_OR_RETURN(json::object obj, ParseObject(body));
  RangeResult result;
  VJ_ASSIGN_OR_RETURN(result.kvs, ParseKvs(obj));
  result.revision = HeaderRevision(obj);
  return result;
}

StatusOr<int64_t> EtcdClient::Put(const std::string& key, const std::string& value, int64_t lease) {
  json::object req = OpRequest(TxnOp::Put(key, value, lease))["request_put"].as_object();
  VJ_ASSIGN_OR_RETURN(std::string body, Call("/v3/kv/put", json::serialize(req)));
  VJ_ASSIGN_OR_RETURN(json::object obj, ParseObject(body));
  return HeaderRevision(obj);
}

StatusOr<int64_t> EtcdClient::Delete(const std::string& key) {
  VJ_ASSIGN_OR_RETURN(std::string body, Call("/v3/kv/deleterange", json::serialize(RangeRequest(key, false))));
  VJ_ASSIGN_OR_RETURN(json::object obj, ParseObject(body));
  return JsonInt(obj, "deleted");
}

StatusOr<int64_t> EtcdClient::DeletePrefix(const std::string& prefix) {
  VJ_ASSIGN_OR_RETURN(std::string body,
                      Call("/v3/kv/deleterange", json::serialize(RangeRequest(prefix, true))));
  VJ_ASSIGN_OR_RETURN(json::object obj, ParseObject(body));
  return JsonInt(obj, "deleted");
}

StatusOr<TxnResult> EtcdClient::Txn(const std::vector<TxnCompare>& compares, const std::vector<TxnOp>& success,
                                    const std::vector<TxnOp>& failure) {
  json::object req;
  json::array cmp;
  for (const TxnCompare& c : compares) {
    json::object o;
    o["key"] = Base64Encode(c.key);
    o["result"] = c.less ? "LESS" : "EQUAL";
    if (!c.range_end.empty()) o["range_end"] = Base64Encode(c.range_end);
    switch (c.target) {
      case TxnCompare::Target::kCreateRevision:
        o["target"] = "CREATE";
        o["create_revision"] = std::to_string(c.number);
        break;
      case TxnCompare::Target::kModRevision:
        o["target"] = "MOD";
        o["mod_revision"] = std::to_string(c.number);
        break;
      case TxnCompare::Target::kVersion:
        o["target"] = "VERSION";
        o["version"] = std::to_string(c.number);
        break;
      case TxnCompare::Target::kValue:
        o["target"] = "VALUE";
        o["value"] = Base64Encode(c.value);
        break;
    }
    cmp.push_back(std::move(o));
  }
  req["compare"] = std::move(cmp);
  json::array ok_ops, fail_ops;
  for (const TxnOp& op : success) ok_ops.push_back(OpRequest(op));
  for (const TxnOp& op : failure) fail_ops.push_back(OpRequest(op));
  req["success"] = std::move(ok_ops);
  req["failure"] = std::move(fail_ops);

  VJ_ASSIGN_OR_RETURN(std::string body, Call("/v3/kv/txn", json::serialize(req)));
  VJ_ASSIGN_OR_RETURN(json::object obj, ParseObject(body));
  TxnResult result;
  result.succeeded = JsonBool(obj, "succeeded");
  result.revision = HeaderRevision(obj);
  const std::vector<TxnOp>& ran = result.succeeded ? success : failure;
  const json::value* responses = obj.if_contains("responses");
  const json::array empty;
  const json::array& items = responses != nullptr && responses->is_array() ? responses->as_array() : empty;
  if (items.size() != ran.size()) {
    return absl::InternalError("etcd: txn returned " + std::to_string(items.size()) + " responses for " +
                               std::to_string(ran.size()) + " ops");
  }
  for (size_t i = 0; i < ran.size(); ++i) {
    TxnOpResult r;
    r.kind = ran[i].kind;
    if (!items[i].is_object()) return absl::InternalError("etcd: txn response is not an object");
    const json::object& item = items[i].as_object();
    if (const json::object* range = JsonObject(item, "response_range")) {
      VJ_ASSIGN_OR_RETURN(r.kvs, ParseKvs(*range));
    } else if (const json::object* del = JsonObject(item, "response_delete_range")) {
      r.deleted = JsonInt(*del, "deleted");
    }
    result.responses.push_back(std::move(r));
  }
  return result;
}

StatusOr<int64_t> EtcdClient::LeaseGrant(int64_t ttl_seconds) {
  json::object req;
  req["TTL"] = std::to_string(ttl_seconds);
  VJ_ASSIGN_OR_RETURN(std::string body, Call("/v3/lease/grant", json::serialize(req)));
  VJ_ASSIGN_OR_RETURN(json::object obj, ParseObject(body));
  if (const json::value* err = obj.if_contains("error"); err != nullptr && err->is_string() &&
                                                         !err->as_string().empty()) {
    return absl::InternalError("etcd: lease grant: " + std::string(err->as_string()));
  }
  int64_t id = JsonInt(obj, "ID");
  if (id == 0) return absl::InternalError("etcd: lease grant returned no id");
  return id;
}

StatusOr<int64_t> EtcdClient::LeaseKeepAliveOnce(int64_t lease_id) {
  json::object req;
  req["ID"] = std::to_string(lease_id);
  VJ_ASSIGN_OR_RETURN(std::string body, Call("/v3/lease/keepalive", json::serialize(req)));
  // The gateway streams: one {"result": {...}} (or {"error": {...}}) line per request.
  std::string_view text = body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  text = text.substr(0, text.find('\n'));
  VJ_ASSIGN_OR_RETURN(json::object obj, ParseObject(text));
  if (obj.contains("error")) return EtcdError(obj, 200);
  const json::object* result = JsonObject(obj, "result");
  if (result == nullptr) return absl::InternalError("etcd: keepalive returned no result");
  int64_t ttl = JsonInt(*result, "TTL");
  if (ttl <= 0) return absl::NotFoundError("etcd: lease " + std::to_string(lease_id) + " has expired");
  return ttl;
}

Status EtcdClient::LeaseRevoke(int64_t lease_id) {
  json::object req;
  req["ID"] = std::to_string(lease_id);
  return Call("/v3/lease/revoke", json::serialize(req)).status();
}

Status EtcdClient::Watch(const std::string& prefix, int64_t start_revision,
                         const std::function<void(const std::vector<WatchEvent>&)>& on_events,
                         const std::atomic<bool>& stop, const WatchOptions& watch_options) {
  if (options_.endpoints.empty()) return absl::FailedPreconditionError("etcd: no endpoints configured");
  int64_t next_revision = start_revision;
  std::chrono::milliseconds backoff = watch_options.initial_backoff;
  for (bool reconnected = false; !stop.load(); reconnected = true) {
    const size_t index = current_endpoint_.load() % options_.endpoints.size();
    json::object create = RangeRequest(prefix, true);
    if (next_revision > 0) create["start_revision"] = std::to_string(next_revision);
    json::object req;
    req["create_request"] = std::move(create);

    Status terminal;  // an answer from etcd that ends this watch
    auto on_line = [&](std::string_view line) -> bool {
      auto parsed = ParseObject(line);
      if (!parsed.ok()) {
        terminal = parsed.status();
        return false;
      }
      const json::object& obj = *parsed;
      if (obj.contains("error")) {
        terminal = EtcdError(obj, 200);
        return false;
      }
      const json::object* result = JsonObject(obj, "result");
      if (result == nullptr) return true;
      if (JsonBool(*result, "canceled")) {
        int64_t compacted = JsonInt(*result, "compact_revision");
        if (compacted > 0) {
          terminal = absl::OutOfRangeError("etcd: watch from revision " + std::to_string(next_revision) +
                                           ": compacted up to revision " + std::to_string(compacted));
        } else {
          std::string reason = "watch canceled";
          if (const json::value* r = result->if_contains("cancel_reason"); r != nullptr && r->is_string()) {
            reason = std::string(r->as_string());
          }
          terminal = absl::UnavailableError("etcd: " + reason);
        }
        return false;
      }
      if (JsonBool(*result, "created")) {
        backoff = watch_options.initial_backoff;
        const int64_t current = HeaderRevision(*result);
        if (next_revision <= 0) next_revision = current + 1;
        if (reconnected && current + 1 < next_revision) {
          // etcd lost its data (restored or recreated): revisions we already saw will be reused.
          terminal = absl::OutOfRangeError("etcd: store revision went back from " +
                                           std::to_string(next_revision - 1) + " to " + std::to_string(current));
          return false;
        }
      }
      const json::value* events = result->if_contains("events");
      if (events == nullptr || !events->is_array()) return true;
      std::vector<WatchEvent> batch;
      for (const json::value& e : events->as_array()) {
        if (!e.is_object()) continue;
        WatchEvent event;
        const json::value* type = e.as_object().if_contains("type");
        event.type = type != nullptr && type->is_string() && type->as_string() == "DELETE"
                         ? WatchEvent::Type::kDelete
                         : WatchEvent::Type::kPut;
        if (const json::object* kv = JsonObject(e.as_object(), "kv")) {
          auto parsed_kv = ParseKeyValue(*kv);
          if (!parsed_kv.ok()) {
            terminal = parsed_kv.status();
            return false;
          }
          event.kv = std::move(*parsed_kv);
        }
        // A resumed watch may repeat nothing we delivered, but be safe against duplicates.
        if (event.kv.mod_revision > 0 && event.kv.mod_revision < next_revision) continue;
        batch.push_back(std::move(event));
      }
      if (!batch.empty()) {
        next_revision = std::max(next_revision, batch.back().kv.mod_revision + 1);
        on_events(batch);
      }
      return true;
    };

    Status status = http_.Stream(options_.endpoints[index] + "/v3/watch", json::serialize(req), on_line, stop);
    if (stop.load()) return absl::OkStatus();
    if (!terminal.ok()) {
      if (!absl::IsUnavailable(terminal)) return terminal;
      status = terminal;
    } else if (status.ok()) {
      status = absl::UnavailableError("etcd: watch stream ended");
    }
    if (watch_options.on_error) watch_options.on_error(status);
    current_endpoint_.store((index + 1) % options_.endpoints.size());
    SleepUnlessStopped(backoff, stop);
    backoff = std::min(backoff * 2, watch_options.max_backoff);
  }
  return absl::OkStatus();
}

}  // namespace vj
