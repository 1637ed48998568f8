// The JSON bodies the benchmarks send: vectors written as clients write float32 values (shortest
// round-trip form, std::to_chars).
#pragma once

#include <charconv>
#include <cstddef>
#include <string>

namespace vj::bench {

// Appends `[v0,v1,...]`.
inline void AppendVector(std::string& out, const float* v, size_t dim) {
  char buf[32];
  out.push_back('[');
  for (size_t i = 0; i < dim; ++i) {
    if (i) out.push_back(',');
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v[i]);
    out.append(buf, end);
  }
  out.push_back(']');
}

// A /points/query body: {"query": [...], "limit": k}.
inline std::string QueryBody(const float* v, size_t dim, size_t limit) {
  std::string body = "{\"query\": ";
  AppendVector(body, v, dim);
  return body + ", \"limit\": " + std::to_string(limit) + "}";
}

}  // namespace vj::bench
