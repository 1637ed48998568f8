// The OpenAPI 3.1 document of the public REST API (src/api/openapi/openapi.json, written by
// src/api/openapi/make_openapi.py), embedded into the binary at build time by src/api/embed_files.cmake
// and served at GET /openapi.json (handlers_openapi.cc). tests/e2e/test_openapi.py checks it against the
// route table and calls every operation it lists.
// Thread-safety: immutable data and pure functions.
#pragma once

#include <span>
#include <string_view>

#include "api/dashboard_assets.h"

namespace vj {

// The embedded files of src/api/openapi/ that are served (generated source, openapi_assets.cc in the
// build directory): openapi.json.
std::span<const DashboardAsset> OpenApiAssets();

// The document's bytes (JSON); empty if the build embedded none.
std::string_view OpenApiDocument();

}  // namespace vj
