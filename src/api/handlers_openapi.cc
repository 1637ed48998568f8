// GET /openapi.json: the OpenAPI 3.1 document of the REST API (docs/api.md), embedded at build time. It
// describes the routes and carries no data, so the route is public, like the web console's files.
#include <string>

#include "api/handlers.h"
#include "api/openapi_document.h"

namespace vj {

std::string_view OpenApiDocument() {
  for (const DashboardAsset& asset : OpenApiAssets()) {
    if (asset.name == "openapi.json") return asset.bytes;
  }
  return {};
}

StatusOr<boost::json::value> HandleOpenApi(const Call& call) {
  const std::string_view document = OpenApiDocument();
  if (document.empty()) return absl::NotFoundError("openapi.json: this build embeds no OpenAPI document");
  Response response;
  response.status = 200;
  response.body = std::string(document);
  response.content_type = "application/json";
  // The document changes with the binary: revalidate instead of keeping a stale copy across an upgrade.
  response.headers.emplace_back("Cache-Control", "no-cache");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  *call.raw_response = std::move(response);
  return nullptr;
}

}  // namespace vj
