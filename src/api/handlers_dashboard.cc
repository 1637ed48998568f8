// GET /dashboard and /dashboard/{file}: the web console's static files (docs/dashboard.md). They carry
// no data, so the routes are public; every call the page makes goes through the normal authorization.
#include <string>

#include "api/dashboard_assets.h"
#include "api/handlers.h"

namespace vj {
namespace {

// Scripts, styles and data only from this node: no inline script or style, no plugins, no framing, no
// form posts; fetch() only to the node itself (the REST API).
constexpr char kContentSecurityPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

void AddSecurityHeaders(Response& response) {
  response.headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("X-Frame-Options", "DENY");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  response.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  response.headers.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
}

StatusOr<boost::json::value> Serve(const Call& call, std::string_view name) {
  const std::optional<DashboardAsset> asset = FindDashboardAsset(name);
  const std::string_view content_type = DashboardContentType(name);
  if (!asset || content_type.empty()) {
    return absl::NotFoundError("dashboard: no file \"" + std::string(name.substr(0, 64)) + "\"");
  }
  Response response;
  response.status = 200;
  response.body = std::string(asset->bytes);
  response.content_type = std::string(content_type);
  // The files change with the binary: the browser revalidates (refetches) instead of keeping a stale
  // copy across an upgrade. They are small.
  response.headers.emplace_back("Cache-Control", "no-cache");
  AddSecurityHeaders(response);
  *call.raw_response = std::move(response);
  return nullptr;
}

}  // namespace

std::optional<DashboardAsset> FindDashboardAsset(std::string_view name) {
  for (const DashboardAsset& asset : DashboardAssets()) {
    if (asset.name == name) return asset;
  }
  return std::nullopt;
}

std::string_view DashboardContentType(std::string_view name) {
  if (EndsWith(name, ".html")) return "text/html; charset=utf-8";
  if (EndsWith(name, ".js")) return "text/javascript; charset=utf-8";
  if (EndsWith(name, ".css")) return "text/css; charset=utf-8";
  if (EndsWith(name, ".svg")) return "image/svg+xml";
  if (EndsWith(name, ".png")) return "image/png";
  return "";
}

StatusOr<boost::json::value> HandleDashboard(const Call& call) { return Serve(call, "index.html"); }

StatusOr<boost::json::value> HandleDashboardFile(const Call& call) { return Serve(call, call.params.at(0)); }

}  // namespace vj
