#include "storage/point_record.h"
#include "storage/mutation_point_id.h"

#include "core/crc32c.h"
#include "core/payload_limits.h"

#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <utility>

namespace vj {
namespace {

// Layout of an encoded PointRecord (all integers little-endian, fixed width):
//   u8  format version (kFormatVersion)
//   u8  id kind (0 = integer, 1 = UUID), then u64 or 16 UUID bytes
//   u32 vector count, then per vector: u32 name length, name bytes, u32 dim, dim x f32
//   u32 payload length, payload as JSON text (length 0 = empty object)
//   version 2 only: u32 sparse vector count, then per sparse vector: u32 name length, name bytes,
//     u32 nnz, nnz x u32 indices (strictly increasing), nnz x f32 values (finite)
//   u32 CRC32C of everything before it
// A Mutation is: u8 version, u8 kind, then the record body (delete: the id only), then the CRC32C.
// Version 1 is written whenever a record has no sparse vectors (so the bytes of such records are what
// they always were); version 2 when it has. Both are read.
constexpr uint8_t kFormatVersion = 1;
constexpr uint8_t kFormatVersionSparse = 2;
constexpr uint8_t kIdNum = 0;
constexpr uint8_t kIdUuid = 1;
constexpr size_t kCrcBytes = 4;

void PutU8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void PutBytes(std::string* out, std::string_view bytes) {
  PutU32(out, static_cast<uint32_t>(bytes.size()));
  out->append(bytes);
}

void PutFloats(std::string* out, const std::vector<float>& v) {
  PutU32(out, static_cast<uint32_t>(v.size()));
  if constexpr (std::endian::native == std::endian::little) {
    out->append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  } else {
    for (float f : v) PutU32(out, std::bit_cast<uint32_t>(f));
  }
}

void PutId(std::string* out, const PointId& id) {
  if (id.is_uuid()) {
    PutU8(out, kIdUuid);
    out->append(reinterpret_cast<const char*>(id.uuid().data()), 16);
  } else {
    PutU8(out, kIdNum);
    PutU64(out, id.num());
  }
}

// JSON has no infinity or NaN and Boost.JSON would write them as the non-JSON "Infinity"/"NaN", which
// no parser reads back; such values (only possible in payloads built in code, ParseJson rejects them)
// are stored as null so the record stays readable.
bool HasNonFinite(const boost::json::value& v) {
  if (const double* d = v.if_double()) return !std::isfinite(*d);
  if (const boost::json::array* a = v.if_array()) {
    for (const auto& e : *a) {
      if (HasNonFinite(e)) return true;
    }
  } else if (const boost::json::object* o = v.if_object()) {
    for (const auto& kv : *o) {
      if (HasNonFinite(kv.value())) return true;
    }
  }
  return false;
}

void NonFiniteToNull(boost::json::value& v) {
  if (const double* d = v.if_double(); d != nullptr && !std::isfinite(*d)) {
    v = nullptr;
  } else if (boost::json::array* a = v.if_array()) {
    for (auto& e : *a) NonFiniteToNull(e);
  } else if (boost::json::object* o = v.if_object()) {
    for (auto& kv : *o) NonFiniteToNull(kv.value());
  }
}

std::string SerializePayload(const Payload& payload) {
  if (payload.empty()) return std::string();
  // serialize() does not throw for a well-formed value (only on allocation failure).
  for (const auto& kv : payload) {
    if (HasNonFinite(kv.value())) {
      boost::json::value copy = payload;
      NonFiniteToNull(copy);
      return boost::json::serialize(copy);
    }
  }
  return boost::json::serialize(payload);
}

void PutRecordBody(std::string* out, const PointRecord& record) {
  PutId(out, record.id);
  PutU32(out, static_cast<uint32_t>(record.vectors.size()));
  for (const auto& [name, values] : record.vectors) {
    PutBytes(out, name);
    PutFloats(out, values);
  }
  PutBytes(out, SerializePayload(record.payload));
  if (record.sparse.empty()) return;
  PutU32(out, static_cast<uint32_t>(record.sparse.size()));
  for (const auto& [name, v] : record.sparse) {
    PutBytes(out, name);
    PutU32(out, static_cast<uint32_t>(v.indices.size()));
    for (uint32_t index : v.indices) PutU32(out, index);
    for (float f : v.values) PutU32(out, std::bit_cast<uint32_t>(f));
  }
}

uint8_t VersionFor(const PointRecord& record) {
  return record.sparse.empty() ? kFormatVersion : kFormatVersionSparse;
}

void AppendCrc(std::string* out) { PutU32(out, Crc32c(*out)); }

// Reads fields from untrusted bytes; every read checks the bytes remaining first.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}

  bool empty() const { return rest_.empty(); }

  Status U8(uint8_t* v) {
    if (rest_.empty()) return Truncated();
    *v = static_cast<uint8_t>(rest_[0]);
    rest_.remove_prefix(1);
    return absl::OkStatus();
  }
  Status U32(uint32_t* v) {
    if (rest_.size() < 4) return Truncated();
    uint32_t x = 0;
    for (int i = 0; i < 4; ++i) x |= static_cast<uint32_t>(static_cast<uint8_t>(rest_[i])) << (8 * i);
    rest_.remove_prefix(4);
    *v = x;
    return absl::OkStatus();
  }
  Status U64(uint64_t* v) {
    if (rest_.size() < 8) return Truncated();
    uint64_t x = 0;
    for (int i = 0; i < 8; ++i) x |= static_cast<uint64_t>(static_cast<uint8_t>(rest_[i])) << (8 * i);
    rest_.remove_prefix(8);
    *v = x;
    return absl::OkStatus();
  }
  Status Raw(size_t n, std::string_view* v) {
    if (rest_.size() < n) return Truncated();
    *v = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return absl::OkStatus();
  }
  Status Bytes(std::string_view* v) {
    uint32_t n = 0;
    VJ_RETURN_IF_ERROR(U32(&n));
    return Raw(n, v);
  }
  Status Floats(std::vector<float>* v) {
    uint32_t dim = 0;
    VJ_RETURN_IF_ERROR(U32(&dim));
    // Checked before allocating, so a corrupt length cannot ask for gigabytes.
    std::string_view raw;
    VJ_RETURN_IF_ERROR(Raw(static_cast<size_t>(dim) * sizeof(float), &raw));
    v->resize(dim);
    if constexpr (std::endian::native == std::endian::little) {
      if (dim > 0) std::memcpy(v->data(), raw.data(), raw.size());
    } else {
      for (uint32_t i = 0; i < dim; ++i) {
        uint32_t x = 0;
        for (int b = 0; b < 4; ++b) {
          x |= static_cast<uint32_t>(static_cast<uint8_t>(raw[i * 4 + b])) << (8 * b);
        }
        (*v)[i] = std::bit_cast<float>(x);
      }
    }
    return absl::OkStatus();
  }

 private:
  static Status Truncated() { return absl::DataLossError("point record: truncated field"); }

  std::string_view rest_;
};

Status ReadId(Reader& in, PointId* id) {
  uint8_t kind = 0;
  VJ_RETURN_IF_ERROR(in.U8(&kind));
  if (kind == kIdNum) {
    uint64_t n = 0;
    VJ_RETURN_IF_ERROR(in.U64(&n));
    *id = PointId::Num(n);
    return absl::OkStatus();
  }
  if (kind == kIdUuid) {
    std::string_view raw;
    VJ_RETURN_IF_ERROR(in.Raw(16, &raw));
    std::array<uint8_t, 16> bytes;
    std::memcpy(bytes.data(), raw.data(), 16);
    *id = PointId::FromUuidBytes(bytes);
    return absl::OkStatus();
  }
  return absl::DataLossError("point record: unknown id kind " + std::to_string(kind));
}

Status ReadSparse(Reader& in, PointRecord* record) {
  uint32_t count = 0;
  VJ_RETURN_IF_ERROR(in.U32(&count));
  for (uint32_t i = 0; i < count; ++i) {
    std::string_view name;
    VJ_RETURN_IF_ERROR(in.Bytes(&name));
    uint32_t nnz = 0;
    VJ_RETURN_IF_ERROR(in.U32(&nnz));
    if (nnz > kMaxSparseNnzHardLimit) {
      return absl::DataLossError("point record: sparse vector of " + std::to_string(nnz) + " entries");
    }
    // Checked before allocating, so a corrupt count cannot ask for gigabytes.
    std::string_view raw;
    VJ_RETURN_IF_ERROR(in.Raw(static_cast<size_t>(nnz) * 8, &raw));
    Reader fields(raw);
    SparseVector v;
    v.indices.resize(nnz);
    v.values.resize(nnz);
    for (uint32_t j = 0; j < nnz; ++j) VJ_RETURN_IF_ERROR(fields.U32(&v.indices[j]));
    for (uint32_t j = 0; j < nnz; ++j) {
      uint32_t bits = 0;
      VJ_RETURN_IF_ERROR(fields.U32(&bits));
      v.values[j] = std::bit_cast<float>(bits);
      if (!std::isfinite(v.values[j])) return absl::DataLossError("point record: non-finite sparse value");
      if (j > 0 && v.indices[j] <= v.indices[j - 1]) {
        return absl::DataLossError("point record: sparse indices not strictly increasing");
      }
    }
    if (!record->sparse.emplace(std::string(name), std::move(v)).second) {
      return absl::DataLossError("point record: duplicate sparse vector name");
    }
  }
  return absl::OkStatus();
}

Status ReadRecordBody(Reader& in, PointRecord* record, uint8_t version) {
  VJ_RETURN_IF_ERROR(ReadId(in, &record->id));
  uint32_t count = 0;
  VJ_RETURN_IF_ERROR(in.U32(&count));
  for (uint32_t i = 0; i < count; ++i) {
    std::string_view name;
    VJ_RETURN_IF_ERROR(in.Bytes(&name));
    std::vector<float> values;
    VJ_RETURN_IF_ERROR(in.Floats(&values));
    if (!record->vectors.emplace(std::string(name), std::move(values)).second) {
      return absl::DataLossError("point record: duplicate vector name");
    }
  }
  std::string_view payload_text;
  VJ_RETURN_IF_ERROR(in.Bytes(&payload_text));
  record->payload.clear();
  if (payload_text.size() > kMaxPayloadBytes) {
    return absl::DataLossError("point record: payload of " + std::to_string(payload_text.size()) +
                               " bytes is over the " + std::to_string(kMaxPayloadBytes) + "-byte limit");
  }
  if (!payload_text.empty()) {
    // The writers refuse payloads over the same limits (core/payload_limits.h), so this refuses only
    // records that no current writer produced.
    StatusOr<boost::json::value> parsed = ParseJson(payload_text, kMaxPayloadDepth);
    if (!parsed.ok()) {
      return absl::DataLossError("point record: bad payload: " + std::string(parsed.status().message()));
    }
    if (!parsed->is_object()) return absl::DataLossError("point record: payload is not an object");
    record->payload = std::move(parsed->get_object());
  }
  if (version == kFormatVersionSparse) return ReadSparse(in, record);
  return absl::OkStatus();
}

// Verifies the trailing checksum and the version byte (returned in *version); returns a Reader over the
// fields in between.
StatusOr<Reader> OpenChecked(std::string_view bytes, const char* what, uint8_t* version) {
  if (bytes.size() < 1 + kCrcBytes) {
    return absl::DataLossError(std::string(what) + ": too short (" + std::to_string(bytes.size()) +
                               " bytes)");
  }
  std::string_view body = bytes.substr(0, bytes.size() - kCrcBytes);
  Reader crc_reader(bytes.substr(body.size()));
  uint32_t stored = 0;
  VJ_RETURN_IF_ERROR(crc_reader.U32(&stored));
  if (stored != Crc32c(body)) return absl::DataLossError(std::string(what) + ": checksum mismatch");
  *version = static_cast<uint8_t>(body[0]);
  if (*version != kFormatVersion && *version != kFormatVersionSparse) {
    return absl::DataLossError(std::string(what) + ": unsupported format version " + std::to_string(*version));
  }
  return Reader(body.substr(1));
}

Status ExpectEnd(const Reader& in, const char* what) {
  if (!in.empty()) return absl::DataLossError(std::string(what) + ": trailing bytes");
  return absl::OkStatus();
}

}  // namespace

std::string EncodePointRecord(const PointRecord& record) {
  std::string out;
  PutU8(&out, VersionFor(record));
  PutRecordBody(&out, record);
  AppendCrc(&out);
  return out;
}

StatusOr<PointRecord> DecodePointRecord(std::string_view bytes) {
  uint8_t version = 0;
  VJ_ASSIGN_OR_RETURN(Reader in, OpenChecked(bytes, "point record", &version));
  PointRecord record;
  VJ_RETURN_IF_ERROR(ReadRecordBody(in, &record, version));
  VJ_RETURN_IF_ERROR(ExpectEnd(in, "point record"));
  return record;
}

std::string EncodeMutation(const Mutation& mutation) {
  std::string out;
  PutU8(&out, mutation.kind == Mutation::Kind::kDelete ? kFormatVersion : VersionFor(mutation.record));
  PutU8(&out, static_cast<uint8_t>(mutation.kind));
  if (mutation.kind == Mutation::Kind::kDelete) {
    PutId(&out, mutation.record.id);
  } else {
    PutRecordBody(&out, mutation.record);
  }
  AppendCrc(&out);
  return out;
}

StatusOr<Mutation> DecodeMutation(std::string_view bytes) {
  uint8_t version = 0;
  VJ_ASSIGN_OR_RETURN(Reader in, OpenChecked(bytes, "mutation", &version));
  Mutation mutation;
  uint8_t kind = 0;
  VJ_RETURN_IF_ERROR(in.U8(&kind));
  if (kind == static_cast<uint8_t>(Mutation::Kind::kDelete)) {
    mutation.kind = Mutation::Kind::kDelete;
    VJ_RETURN_IF_ERROR(ReadId(in, &mutation.record.id));
  } else if (kind == static_cast<uint8_t>(Mutation::Kind::kUpsert)) {
    mutation.kind = Mutation::Kind::kUpsert;
    VJ_RETURN_IF_ERROR(ReadRecordBody(in, &mutation.record, version));
  } else {
    return absl::DataLossError("mutation: unknown kind " + std::to_string(kind));
  }
  VJ_RETURN_IF_ERROR(ExpectEnd(in, "mutation"));
  return mutation;
}

StatusOr<PointId> DecodeMutationPointId(std::string_view bytes) {
  uint8_t version = 0;
  VJ_ASSIGN_OR_RETURN(Reader in, OpenChecked(bytes, "mutation", &version));
  uint8_t kind = 0;
  VJ_RETURN_IF_ERROR(in.U8(&kind));
  if (kind != static_cast<uint8_t>(Mutation::Kind::kDelete) && kind != static_cast<uint8_t>(Mutation::Kind::kUpsert)) {
    return absl::DataLossError("mutation: unknown kind " + std::to_string(kind));
  }
  PointId id;
  VJ_RETURN_IF_ERROR(ReadId(in, &id));
  return id;
}

}  // namespace vj
