// BackupTarget on S3-compatible object storage (backup_target.h): path-style requests
// (<endpoint>/<bucket>/<prefix>/<key>) signed with SigV4 (sigv4.h), sent with the cluster's HttpClient
// (Boost.Beast; http and https, the server verified against the system's CAs).
#include <algorithm>
#include <ctime>

#include "backup/backup_target.h"
#include "backup/sigv4.h"
#include "cluster/http_client.h"

namespace vj {
namespace {

using Query = std::vector<std::pair<std::string, std::string>>;

std::string AmzDate() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &tm);
  return text;
}

// The text of the first <tag>...</tag> at or after `from`, XML entities decoded; npos in *end when none.
std::string XmlElement(const std::string& xml, const std::string& tag, size_t from, size_t* end) {
  const std::string open = "<" + tag + ">";
  const std::string close = "</" + tag + ">";
  const size_t a = xml.find(open, from);
  const size_t b = a == std::string::npos ? std::string::npos : xml.find(close, a);
  if (b == std::string::npos) {
    *end = std::string::npos;
    return "";
  }
  *end = b + close.size();
  std::string raw = xml.substr(a + open.size(), b - a - open.size());
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '&') {
      out.push_back(raw[i]);
      continue;
    }
    static constexpr std::pair<std::string_view, char> kEntities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    bool done = false;
    for (const auto& [entity, c] : kEntities) {
      if (raw.compare(i, entity.size(), entity) == 0) {
        out.push_back(c);
        i += entity.size() - 1;
        done = true;
        break;
      }
    }
    if (!done) out.push_back('&');
  }
  return out;
}

class S3Target final : public BackupTarget {
 public:
  S3Target(HttpUrl endpoint, std::string scheme, std::string bucket, std::string prefix, S3Settings s3)
      : endpoint_(std::move(endpoint)),
        scheme_(std::move(scheme)),
        bucket_(std::move(bucket)),
        prefix_(std::move(prefix)),
        credentials_{s3.access_key_id, s3.secret_access_key, s3.region, "s3"},
        client_(Options()) {}

  std::string Describe() const override { return "s3://" + bucket_ + (prefix_.empty() ? "" : "/" + prefix_); }

  Status Put(const std::string& key, std::string_view bytes) override {
    VJ_ASSIGN_OR_RETURN(HttpResult result, Send("PUT", ObjectPath(key), {}, bytes));
    if (result.status / 100 != 2) return Failure("PUT", key, result);
    return absl::OkStatus();
  }

  StatusOr<std::string> Get(const std::string& key) override {
    VJ_ASSIGN_OR_RETURN(HttpResult result, Send("GET", ObjectPath(key), {}, {}));
    if (result.status == 404) return absl::NotFoundError("backup target: no object " + key);
    if (result.status / 100 != 2) return Failure("GET", key, result);
    return std::move(result.body);
  }

  StatusOr<std::vector<std::string>> List(const std::string& prefix) override {
    std::vector<std::string> keys;
    const std::string full = prefix_.empty() ? prefix : prefix_ + "/" + prefix;
    std::string token;
    for (;;) {
      Query query = {{"list-type", "2"}, {"prefix", full}};
      if (!token.empty()) query.emplace_back("continuation-token", token);
      VJ_ASSIGN_OR_RETURN(HttpResult result, Send("GET", "/" + UriEncode(bucket_, false), query, {}));
      if (result.status / 100 != 2) return Failure("LIST", prefix, result);
      // ListObjectsV2 has <Key> elements only in its <Contents> entries.
      for (size_t at = 0;;) {
        std::string key = XmlElement(result.body, "Key", at, &at);
        if (at == std::string::npos) break;
        if (!prefix_.empty()) key = key.substr(std::min(key.size(), prefix_.size() + 1));
        keys.push_back(std::move(key));
      }
      size_t end = 0;
      const std::string truncated = XmlElement(result.body, "IsTruncated", 0, &end);
      token = XmlElement(result.body, "NextContinuationToken", 0, &end);
      if (truncated != "true" || token.empty()) break;
    }
    std::sort(keys.begin(), keys.end());
    return keys;
  }

  Status Delete(const std::string& key) override {
    VJ_ASSIGN_OR_RETURN(HttpResult result, Send("DELETE", ObjectPath(key), {}, {}));
    if (result.status / 100 != 2 && result.status != 404) return Failure("DELETE", key, result);
    return absl::OkStatus();
  }

 private:
  static HttpClientOptions Options() {
    HttpClientOptions options;
    options.request_timeout = std::chrono::milliseconds(120'000);
    options.max_response_bytes = 256ull << 20;
    return options;
  }

  std::string ObjectPath(const std::string& key) const {
    return "/" + UriEncode(bucket_, false) + "/" + UriEncode(prefix_.empty() ? key : prefix_ + "/" + key, true);
  }

  StatusOr<HttpResult> Send(std::string_view method, const std::string& encoded_path, const Query& query,
                            std::string_view body) {
    const std::string amz_date = AmzDate();
    const std::string payload = Sha256Hex(body);
    const std::string host = endpoint_.host + ":" + std::to_string(endpoint_.port);  // as HttpClient sends it
    SigV4Request request;
    request.method = std::string(method);
    request.encoded_path = encoded_path;
    request.query = query;
    request.headers = {{"host", host}, {"x-amz-content-sha256", payload}, {"x-amz-date", amz_date}};
    request.payload_sha256 = payload;
    HttpHeaders headers = {{"x-amz-content-sha256", payload},
                           {"x-amz-date", amz_date},
                           {"Authorization", SigV4Authorization(request, credentials_, amz_date)}};
    if (!body.empty()) headers.emplace_back("Content-Type", "application/octet-stream");
    std::string target = request.encoded_path;
    // The query in canonical order and encoding, so that what is sent is what was signed.
    Query encoded;
    for (const auto& [name, value] : query) encoded.emplace_back(UriEncode(name, false), UriEncode(value, false));
    std::sort(encoded.begin(), encoded.end());
    for (size_t i = 0; i < encoded.size(); ++i) target += (i == 0 ? "?" : "&") + encoded[i].first + "=" + encoded[i].second;
    // A minute plus a second per MiB, so that big blobs on slow links are not cut off.
    const auto timeout = std::chrono::milliseconds(60'000 + (body.size() >> 20) * 1000);
    auto result = client_.Send(method, scheme_ + "://" + host + target, body, headers, timeout);
    if (!result.ok()) {
      return absl::UnavailableError("backup target " + Describe() + ": " + std::string(method) + " failed: " +
                                    StatusMessage(result.status()));
    }
    return result;
  }

  Status Failure(std::string_view what, const std::string& key, const HttpResult& result) const {
    size_t end = 0;
    const std::string code = XmlElement(result.body, "Code", 0, &end);
    const std::string message = XmlElement(result.body, "Message", 0, &end);
    std::string text = "backup target " + Describe() + ": " + std::string(what) + " " + key + " answered HTTP " +
                       std::to_string(result.status);
    if (!code.empty()) text += " " + code;
    if (!message.empty()) text += ": " + message.substr(0, 300);
    if (result.status == 404) return absl::NotFoundError(text);
    if (result.status == 403 || result.status == 401) return absl::PermissionDeniedError(text);
    return absl::UnavailableError(text);
  }

  // Fixed after construction.
  const HttpUrl endpoint_;
  const std::string scheme_;
  const std::string bucket_;
  const std::string prefix_;  // without a trailing '/'
  const SigV4Credentials credentials_;
  HttpClient client_;
};

}  // namespace

StatusOr<std::unique_ptr<BackupTarget>> NewS3Target(const std::string& bucket, const std::string& prefix,
                                                    const S3Settings& s3) {
  if (s3.endpoint.empty()) {
    return absl::InvalidArgumentError(
        "uri: an s3:// target needs an endpoint (setting backup.s3.endpoint or VJVECTOR_BACKUP_S3_ENDPOINT)");
  }
  if (s3.access_key_id.empty() || s3.secret_access_key.empty()) {
    return absl::InvalidArgumentError(
        "uri: an s3:// target needs credentials (VJVECTOR_BACKUP_S3_ACCESS_KEY_ID and "
        "VJVECTOR_BACKUP_S3_SECRET_ACCESS_KEY, or settings backup.s3.access_key_id / secret_access_key)");
  }
  auto endpoint = ParseHttpUrl(s3.endpoint);
  if (!endpoint.ok()) return absl::InvalidArgumentError("backup.s3.endpoint: " + StatusMessage(endpoint.status()));
  if (endpoint->target != "/" && !endpoint->target.empty()) {
    return absl::InvalidArgumentError("backup.s3.endpoint: must be scheme://host[:port] without a path");
  }
  return std::unique_ptr<BackupTarget>(
      std::make_unique<S3Target>(*endpoint, endpoint->tls ? "https" : "http", bucket, prefix, s3));
}

}  // namespace vj
