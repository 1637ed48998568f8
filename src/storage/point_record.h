// PointRecord: everything stored about one point, and Mutation: one entry of a shard's mutation log.
// The binary encoding carries a format version and a CRC32C checksum; decoding untrusted or corrupt bytes
// returns DataLoss, never crashes. Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/payload.h"
#include "core/point_id.h"
#include "core/sparse_vector.h"
#include "core/status.h"

namespace vj {

// Named dense vectors; the unnamed (default) vector has the name "".
using NamedVectors = std::map<std::string, std::vector<float>>;

struct PointRecord {
  PointId id;
  NamedVectors vectors;
  Payload payload;
  // Named sparse vectors, canonical (core/sparse_vector.h).
  NamedSparseVectors sparse;
};

// The log records each point's resulting state, so applying a mutation is idempotent (replicas and
// restarts can replay safely).
struct Mutation {
  enum class Kind : uint8_t { kUpsert = 1, kDelete = 2 };
  Kind kind = Kind::kUpsert;
  PointRecord record;  // for kDelete only record.id is meaningful
};

struct LoggedMutation {
  uint64_t sequence = 0;
  Mutation mutation;
};

std::string EncodePointRecord(const PointRecord& record);
StatusOr<PointRecord> DecodePointRecord(std::string_view bytes);
std::string EncodeMutation(const Mutation& mutation);
StatusOr<Mutation> DecodeMutation(std::string_view bytes);

}  // namespace vj
