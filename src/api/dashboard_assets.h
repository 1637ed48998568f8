// The web console's static files (web/dashboard/), embedded into the binary at build time by
// src/api/embed_files.cmake, and how they are served (HandleDashboard, handlers_dashboard.cc).
// Thread-safety: immutable data and pure functions.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace vj {

struct DashboardAsset {
  std::string_view name;   // the file name, e.g. "app.js" (a single path segment)
  std::string_view bytes;  // the file's content
};

// Every embedded file (generated source, dashboard_assets.cc in the build directory).
std::span<const DashboardAsset> DashboardAssets();

// The embedded file of this exact name; none for any other name ("..", "a/b", "", unknown files).
std::optional<DashboardAsset> FindDashboardAsset(std::string_view name);

// The Content-Type of a file name by its extension; empty for an extension the console does not use.
std::string_view DashboardContentType(std::string_view name);

}  // namespace vj
