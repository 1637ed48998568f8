// HnswIndex snapshots: Save writes the graph, vectors and codes; Load reads them back instead of
// rebuilding. Untrusted input: any damage is DataLoss, checked before anything is used.
//
// File layout (little-endian, sizes in bytes). Version 2 adds the per-dimension SQ8 ranges (header
// field sq8_per_dimension, section `ranges`); a snapshot without them is still written as version 1,
// which older binaries read. Both versions load.
//   FileHeader (128)               fixed fields, with a CRC32C of its own first 124 bytes
//   meta      nodes * 8            NodeMeta (lock bytes written as 0)
//   records   nodes * record_bytes payload (floats or code) and level-0 ids, as in memory
//   floats    nodes * dim * 4      only when quantized: the float vectors kept apart
//   upper     upper_words * 4      for each node with level > 0, in node order: level * (1 + m) words
//   id_node   id_slots * 4         caller's id -> node or 0xffffffff
//   binary    dim * 4              only for trained binary quantization: the thresholds
//   ranges    2 * dim * 4          only for trained per-dimension SQ8 (v2): the lows, then the scales
//   footer    4                    CRC32C of everything after the header
// The file's size follows from the header, so truncation is caught before any allocation.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cmath>

#include "core/crc32c.h"
#include "core/durable_file.h"
#include "index/hnsw_graph.h"

namespace vj::hnsw {
namespace {

constexpr char kMagic[8] = {'V', 'J', 'H', 'N', 'S', 'W', '\r', '\n'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kVersionRanges = 2;  // per-dimension SQ8 ranges

struct FileHeader {
  char magic[8];
  uint32_t version;
  uint32_t metric;
  uint64_t dim;
  uint64_t m;
  uint64_t ef_construct;
  uint32_t quantization;
  uint32_t trained;
  uint64_t nodes;
  uint64_t id_slots;
  uint64_t entry;
  uint64_t upper_words;
  uint64_t record_bytes;
  float sq8_low;
  float sq8_scale;
  uint64_t replaced;
  uint32_t sq8_per_dimension;  // v2: 1 when the ranges section follows (0 in v1 files)
  uint8_t reserved[16];
  uint32_t header_crc;
};
static_assert(sizeof(FileHeader) == 128);

uint32_t ExtendCrc(uint32_t crc, const void* data, size_t n) { return ExtendCrc32c(crc, data, n); }
uint32_t Crc(const void* data, size_t n) { return Crc32c(data, n); }

Status ErrnoStatus(const std::string& what) {
  const int err = errno;
  const std::string message = what + ": " + std::strerror(err);
  if (err == ENOENT) return absl::NotFoundError(message);
  if (err == ENOSPC || err == EDQUOT) return DiskFullError(message);
  return absl::InternalError(message);
}

// Buffered writes with a running checksum, through the file seam (encrypted when the directory is).
class SnapshotWriter {
 public:
  explicit SnapshotWriter(DurableFileWriter& file) : file_(file) { buffer_.reserve(kBuffer); }
  Status Write(const void* data, size_t n) {
    crc_ = ExtendCrc(crc_, data, n);
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      const size_t take = std::min(n, kBuffer - buffer_.size());
      buffer_.insert(buffer_.end(), p, p + take);
      p += take;
      n -= take;
      if (buffer_.size() == kBuffer) VJ_RETURN_IF_ERROR(Flush());
    }
    return absl::OkStatus();
  }
  Status Flush() {
    VJ_RETURN_IF_ERROR(file_.Append(buffer_.data(), buffer_.size()));
    buffer_.clear();
    return absl::OkStatus();
  }
  uint32_t crc() const { return ~crc_; }

 private:
  static constexpr size_t kBuffer = size_t{1} << 20;
  DurableFileWriter& file_;
  std::vector<char> buffer_;
  uint32_t crc_ = 0xFFFFFFFFu;
};

class SnapshotReader {
 public:
  explicit SnapshotReader(int fd) : fd_(fd) {}
  Status Read(void* data, size_t n) {
    char* p = static_cast<char*>(data);
    for (size_t done = 0; done < n;) {
      const ssize_t r = ::read(fd_, p + done, n - done);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return ErrnoStatus("cannot read HNSW snapshot");
      if (r == 0) return absl::DataLossError("HNSW snapshot: truncated");
      done += static_cast<size_t>(r);
    }
    crc_ = ExtendCrc(crc_, data, n);
    return absl::OkStatus();
  }
  uint32_t crc() const { return ~crc_; }

 private:
  int fd_;
  uint32_t crc_ = 0xFFFFFFFFu;
};

class FileCloser {
 public:
  explicit FileCloser(int fd) : fd_(fd) {}
  ~FileCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

Status Corrupt(const std::string& what) { return absl::DataLossError("HNSW snapshot: " + what); }

}  // namespace

Status HnswIndex::Save(const std::string& path) const {
  auto writers = ExclusiveWriterLock();  // a graph at rest: no insert is half linked
  auto lock = ReadLock();
  const size_t nodes = next_node_.load(std::memory_order_acquire);
  FileHeader h{};
  std::memcpy(h.magic, kMagic, sizeof(kMagic));
  const bool ranges = quantization_ == Quantization::kScalarInt8 && Trained() && sq8_.per_dimension();
  h.version = ranges ? kVersionRanges : kVersion;
  h.sq8_per_dimension = ranges ? 1 : 0;
  h.metric = static_cast<uint32_t>(metric());
  h.dim = dim();
  h.m = m_;
  h.ef_construct = ef_construct_;
  h.quantization = static_cast<uint32_t>(quantization_);
  h.trained = Trained() ? 1 : 0;
  h.nodes = nodes;
  h.id_slots = s_.id_node.size();
  h.entry = entry_.load(std::memory_order_acquire);
  h.record_bytes = record_bytes_;
  h.sq8_low = sq8_.low();
  h.sq8_scale = sq8_.scale();
  h.replaced = replaced_.load(std::memory_order_relaxed);
  for (size_t node = 0; node < nodes; ++node) h.upper_words += size_t{s_.meta[node].level} * (1 + m_);
  h.header_crc = Crc(&h, offsetof(FileHeader, header_crc));

  VJ_ASSIGN_OR_RETURN(std::unique_ptr<DurableFileWriter> file, DurableFileWriter::Create(path));
  auto write_all = [&]() -> Status {
    VJ_RETURN_IF_ERROR(file->Append(&h, sizeof(h)));
    SnapshotWriter w(*file);
    for (size_t node = 0; node < nodes; ++node) {
      NodeMeta meta = s_.meta[node];
      meta.lock = 0;
      VJ_RETURN_IF_ERROR(w.Write(&meta, sizeof(meta)));
    }
    VJ_RETURN_IF_ERROR(w.Write(s_.records.get(), nodes * record_bytes_));
    if (quantized_) {
      for (size_t node = 0; node < nodes; ++node) {
        VJ_RETURN_IF_ERROR(w.Write(Vector(static_cast<uint32_t>(node)), dim() * sizeof(float)));
      }
    }
    for (size_t node = 0; node < nodes; ++node) {
      if (s_.meta[node].level > 0) {
        VJ_RETURN_IF_ERROR(w.Write(s_.upper.Find(static_cast<uint32_t>(node)),
                                   s_.meta[node].level * (1 + m_) * sizeof(uint32_t)));
      }
    }
    VJ_RETURN_IF_ERROR(w.Write(s_.id_node.data(), s_.id_node.size() * sizeof(uint32_t)));
    if (quantization_ == Quantization::kBinary && Trained()) {
      VJ_RETURN_IF_ERROR(w.Write(binary_.thresholds().data(), dim() * sizeof(float)));
    }
    if (ranges) {
      VJ_RETURN_IF_ERROR(w.Write(sq8_.lows().data(), dim() * sizeof(float)));
      VJ_RETURN_IF_ERROR(w.Write(sq8_.scales().data(), dim() * sizeof(float)));
    }
    const uint32_t crc = w.crc();
    VJ_RETURN_IF_ERROR(w.Write(&crc, sizeof(crc)));
    return w.Flush();
  };
  Status st = write_all();
  // What the file needs is in the page cache: writers go on while it reaches the disk.
  lock.unlock();
  writers.unlock();
  if (st.ok()) st = file->Commit();  // fsync, rename, directory fsync; on failure the .tmp goes
  return st;
}

StatusOr<std::unique_ptr<HnswIndex>> HnswIndex::Load(const std::string& path, size_t dim, Metric metric,
                                                     const HnswParams& params) {
  // The plaintext: the file itself, or its decrypted copy in memory (core/durable_file.h).
  VJ_ASSIGN_OR_RETURN(const int fd, OpenPlainFile(path));
  FileCloser closer(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus("cannot stat " + path);
  const size_t file_bytes = static_cast<size_t>(st.st_size);

  FileHeader h;
  if (file_bytes < sizeof(h)) return Corrupt("truncated header");
  if (::pread(fd, &h, sizeof(h), 0) != static_cast<ssize_t>(sizeof(h))) {
    return ErrnoStatus("cannot read " + path);
  }
  if (std::memcmp(h.magic, kMagic, sizeof(kMagic)) != 0) return Corrupt("not an HNSW snapshot");
  if (h.header_crc != Crc(&h, offsetof(FileHeader, header_crc)))
    return Corrupt("header checksum mismatch");
  if (h.version != kVersion && h.version != kVersionRanges) {
    return Corrupt("unsupported version " + std::to_string(h.version));
  }
  if (h.sq8_per_dimension > 1 || (h.sq8_per_dimension == 1 && h.version != kVersionRanges)) {
    return Corrupt("bad quantizer form");
  }
  if (h.dim != dim || h.metric != static_cast<uint32_t>(metric) ||
      h.m != std::clamp<size_t>(params.m, 2, kMaxM) ||
      h.quantization != static_cast<uint32_t>(params.quantization)) {
    return absl::FailedPreconditionError("HNSW snapshot: built with other parameters (dim " +
                                         std::to_string(h.dim) + ", m " + std::to_string(h.m) + ")");
  }
  HnswParams p = params;
  p.ef_construct = h.ef_construct;
  VJ_ASSIGN_OR_RETURN(std::unique_ptr<HnswIndex> index, Create(dim, metric, p));
  if (h.record_bytes != index->record_bytes_) return Corrupt("record size mismatch");
  if (h.nodes >= kNoNode || h.id_slots > (size_t{1} << 32)) return Corrupt("implausible sizes");
  const bool binary_tail = h.quantization == static_cast<uint32_t>(Quantization::kBinary) && h.trained;
  const bool ranges_tail = h.sq8_per_dimension == 1;
  if (ranges_tail && (h.quantization != static_cast<uint32_t>(Quantization::kScalarInt8) || !h.trained ||
                      metric == Metric::kManhattan)) {
    return Corrupt("quantizer ranges without a trained SQ8 index");
  }
  // Every section's size, in 128-bit arithmetic: corrupt counts must not wrap around.
  using U128 = unsigned __int128;
  const U128 expected = U128{sizeof(FileHeader)} + U128{h.nodes} * sizeof(NodeMeta) +
                        U128{h.nodes} * index->record_bytes_ +
                        (index->quantized_ ? U128{h.nodes} * dim * sizeof(float) : U128{0}) +
                        U128{h.upper_words} * 4 + U128{h.id_slots} * 4 +
                        U128{binary_tail ? dim * sizeof(float) : 0} +
                        U128{ranges_tail ? 2 * dim * sizeof(float) : 0} + 4;
  if (expected != file_bytes) {
    return Corrupt(expected > file_bytes ? "truncated" : "unexpected trailing bytes");
  }
  if (::lseek(fd, sizeof(FileHeader), SEEK_SET) < 0) return ErrnoStatus("cannot seek " + path);
  VJ_RETURN_IF_ERROR(index->ReadSnapshot(fd, h.nodes, h.id_slots, h.upper_words, binary_tail, ranges_tail));
  // ReadSnapshot checked the body; now the header fields it did not.
  HnswIndex& x = *index;
  if (h.trained) {
    if (h.quantization == static_cast<uint32_t>(Quantization::kScalarInt8) && !ranges_tail) {
      if (!std::isfinite(h.sq8_low) || !(h.sq8_scale > 0) || !std::isfinite(h.sq8_scale)) {
        return Corrupt("bad quantizer range");
      }
      x.sq8_ = ScalarQuantizer::FromRange(metric, dim, h.sq8_low, h.sq8_scale);
    }
    x.trained_.store(true, std::memory_order_release);
  }
  if (h.entry != kNoEntry) {
    const uint32_t node = static_cast<uint32_t>(h.entry);
    if (node >= h.nodes || (h.entry >> 32) != x.s_.meta[node].level) return Corrupt("bad entry point");
  } else if (h.nodes != 0) {
    return Corrupt("nodes without an entry point");
  }
  x.entry_.store(h.entry, std::memory_order_release);
  x.replaced_.store(h.replaced, std::memory_order_relaxed);
  return index;
}

// Reads the sections after the header into freshly sized arrays, checks the footer checksum, then
// checks that every id and count is in range, so that no later search can read out of bounds.
Status HnswIndex::ReadSnapshot(int fd, size_t nodes, size_t id_slots, size_t expected_upper_words,
                               bool binary_thresholds, bool sq8_ranges) {
  EnsureCapacity(std::max<size_t>(nodes, 1), id_slots);
  auto lock = WriteLock();
  SnapshotReader r(fd);
  VJ_RETURN_IF_ERROR(r.Read(s_.meta.data(), nodes * sizeof(NodeMeta)));
  size_t upper_words = 0;
  for (size_t node = 0; node < nodes; ++node) {
    NodeMeta& meta = s_.meta[node];
    if (meta.level > kMaxLevel || meta.hidden > 1 || meta.count0 > m0_)
      return Corrupt("bad node fields");
    meta.lock = 0;
    upper_words += size_t{meta.level} * (1 + m_);
  }
  if (upper_words != expected_upper_words) return Corrupt("upper-level sizes disagree");
  VJ_RETURN_IF_ERROR(r.Read(s_.records.get(), nodes * record_bytes_));
  if (quantized_) {
    for (size_t node = 0; node < nodes; ++node) {
      VJ_RETURN_IF_ERROR(r.Read(MutableVector(static_cast<uint32_t>(node)), dim() * sizeof(float)));
    }
  }
  for (size_t node = 0; node < nodes; ++node) {
    const size_t words = size_t{s_.meta[node].level} * (1 + m_);
    if (words == 0) continue;
    // A fresh index under resize_mu_ exclusively: nothing else adds blocks or reads them.
    uint32_t* block = s_.upper.AddReserving(static_cast<uint32_t>(node), words);
    VJ_RETURN_IF_ERROR(r.Read(block, words * sizeof(uint32_t)));
  }
  s_.id_node.assign(id_slots, kNoNode);
  VJ_RETURN_IF_ERROR(r.Read(s_.id_node.data(), id_slots * sizeof(uint32_t)));
  std::vector<float> thresholds;
  if (binary_thresholds) {
    thresholds.resize(dim());
    VJ_RETURN_IF_ERROR(r.Read(thresholds.data(), dim() * sizeof(float)));
  }
  std::vector<float> lows, scales;
  if (sq8_ranges) {
    lows.resize(dim());
    scales.resize(dim());
    VJ_RETURN_IF_ERROR(r.Read(lows.data(), dim() * sizeof(float)));
    VJ_RETURN_IF_ERROR(r.Read(scales.data(), dim() * sizeof(float)));
  }
  const uint32_t body_crc = r.crc();
  uint32_t stored_crc;
  VJ_RETURN_IF_ERROR(r.Read(&stored_crc, sizeof(stored_crc)));
  if (stored_crc != body_crc) return Corrupt("checksum mismatch");

  // A valid checksum over a crafted file must not crash either: check every reference.
  for (size_t node = 0; node < nodes; ++node) {
    const NodeMeta& meta = s_.meta[node];
    const uint32_t* links = Links(static_cast<uint32_t>(node), 0);
    for (uint32_t i = 0; i < meta.count0; ++i) {
      if (links[i] >= nodes) return Corrupt("neighbour id out of range");
    }
    for (int l = 1; l <= meta.level; ++l) {
      const uint32_t n = *UpperList(static_cast<uint32_t>(node), l);
      if (n > m_) return Corrupt("neighbour count out of range");
      const uint32_t* ids = Links(static_cast<uint32_t>(node), l);
      for (uint32_t i = 0; i < n; ++i) {
        if (ids[i] >= nodes || s_.meta[ids[i]].level < l) return Corrupt("upper neighbour out of range");
      }
    }
    if (!meta.hidden && (meta.id >= s_.id_node.size() || s_.id_node[meta.id] != node)) {
      return Corrupt("visible node not mapped by its id");
    }
  }
  size_t live = 0;
  for (size_t id = 0; id < s_.id_node.size(); ++id) {
    const uint32_t node = s_.id_node[id];
    if (node == kNoNode) continue;
    if (node >= nodes || s_.meta[node].id != id || s_.meta[node].hidden) return Corrupt("bad id map");
    ++live;
  }
  if (!thresholds.empty()) binary_ = BinaryQuantizer::FromThresholds(std::move(thresholds));
  if (sq8_ranges) {
    for (size_t i = 0; i < dim(); ++i) {
      if (!std::isfinite(lows[i]) || !std::isfinite(scales[i]) || !(scales[i] > 0)) {
        return Corrupt("bad quantizer ranges");
      }
    }
    sq8_ = ScalarQuantizer::FromRanges(metric(), std::move(lows), std::move(scales));
  }
  next_node_.store(static_cast<uint32_t>(nodes), std::memory_order_release);
  live_count_.store(live, std::memory_order_relaxed);
  return absl::OkStatus();
}

}  // namespace vj::hnsw
