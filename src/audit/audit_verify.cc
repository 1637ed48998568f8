#include "audit/audit_verify.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <boost/json.hpp>

#include "audit/audit_record.h"

namespace vj {
namespace {

namespace fs = std::filesystem;

std::optional<uint64_t> SeqOf(const boost::json::object& o) {
  const auto* seq = o.if_contains("seq");
  if (seq == nullptr) return std::nullopt;
  if (seq->is_uint64()) return seq->get_uint64();
  if (seq->is_int64() && seq->get_int64() > 0) return static_cast<uint64_t>(seq->get_int64());
  return std::nullopt;
}

std::string StringField(const boost::json::object& o, const char* name) {
  const auto* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// The seq of a file's first record, or nullopt.
std::optional<uint64_t> FirstSeq(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(line, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return SeqOf(v.get_object());
}

}  // namespace

AuditVerifyResult VerifyAuditFiles(const std::vector<std::string>& files, const std::string& hmac_key) {
  AuditVerifyResult r;
  const ChainHasher hasher(hmac_key);
  std::string prev_hash;   // of the last good record; empty before the first
  std::string prev_where;  // "file:line" of it
  uint64_t prev_seq = 0;
  std::string last_action;
  auto fail = [&r](const std::string& file, uint64_t line, std::string reason) {
    r.ok = false;
    r.file = file;
    r.line = line;
    r.reason = std::move(reason);
    return r;
  };
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return fail(file, 0, "cannot open the file");
    std::stringstream content;
    content << in.rdbuf();
    const std::string text = content.str();
    ++r.files;
    uint64_t line_number = 0;
    size_t start = 0;
    while (start < text.size()) {
      ++line_number;
      const size_t end = text.find('\n', start);
      if (end == std::string::npos) {
        return fail(file, line_number, "the file ends in the middle of a record (truncated, or still being written)");
      }
      const std::string_view line = std::string_view(text).substr(start, end - start);
      start = end + 1;
      if (line.empty()) return fail(file, line_number, "an empty line where a record should be");
      boost::system::error_code ec;
      boost::json::value v = boost::json::parse(line, ec);
      if (ec || !v.is_object()) return fail(file, line_number, "not a JSON record");
      const boost::json::object& o = v.get_object();
      const size_t tail = kHashFieldPrefix.size() + kHashHexLength + 2;
      if (line.size() < tail || line.substr(line.size() - tail, kHashFieldPrefix.size()) != kHashFieldPrefix ||
          line.substr(line.size() - 2) != "\"}") {
        return fail(file, line_number, "no hash at the end of the record");
      }
      const std::string_view body = line.substr(0, line.size() - tail);
      const std::string_view hash = line.substr(line.size() - 2 - kHashHexLength, kHashHexLength);
      const std::optional<uint64_t> seq = SeqOf(o);
      if (!seq) return fail(file, line_number, "no seq number");
      const std::string alg = StringField(o, "alg");
      const std::string prev = StringField(o, "prev");
      if (alg != "sha256" && alg != "hmac-sha256") return fail(file, line_number, "unknown alg \"" + alg + "\"");
      if (hasher.keyed() && alg != "hmac-sha256") {
        return fail(file, line_number, "the record is not HMAC-chained but a key was given (rewritten without the key?)");
      }
      if (hasher.keyed() || alg == "sha256") {
        if (hasher.Hash(body) != hash) {
          return fail(file, line_number,
                      hasher.keyed() ? "the HMAC does not match the record's content (edited, or another key)"
                                     : "the hash does not match the record's content (the record was edited)");
        }
      } else {
        r.hashes_checked = false;
      }
      if (prev_hash.empty()) {
        r.first_seq = *seq;
        r.from_genesis = *seq == 1;
        if (*seq == 1 && prev != kGenesisHash) {
          return fail(file, line_number, "seq 1 does not start from the genesis hash");
        }
      } else {
        if (prev != prev_hash) {
          std::string why = "prev does not match the hash of the record before it (" + prev_where +
                            "): a record before this one was deleted, inserted or reordered";
          if (line_number == 1) why += ", or a file before this one is missing or out of order";
          return fail(file, line_number, why);
        }
        if (*seq != prev_seq + 1) {
          return fail(file, line_number,
                      "seq " + std::to_string(*seq) + " follows seq " + std::to_string(prev_seq) +
                          " (records missing or reordered)");
        }
      }
      prev_hash = std::string(hash);
      prev_seq = *seq;
      prev_where = file + ":" + std::to_string(line_number);
      last_action = StringField(o, "action");
      ++r.records;
      r.last_seq = *seq;
    }
  }
  r.ends_with_stop = last_action == "audit.stop";
  return r;
}

StatusOr<std::vector<std::string>> AuditFilesInOrder(const std::vector<std::string>& arguments) {
  std::vector<std::string> out;
  for (const std::string& argument : arguments) {
    std::error_code ec;
    if (!fs::is_directory(argument, ec)) {
      if (!fs::exists(argument, ec)) return absl::NotFoundError(argument + ": no such file or directory");
      out.push_back(argument);
      continue;
    }
    std::vector<std::pair<std::pair<uint64_t, std::string>, std::string>> found;
    for (const auto& entry : fs::directory_iterator(argument, ec)) {
      if (!entry.is_regular_file()) continue;
      const std::string path = entry.path().string();
      const uint64_t seq = FirstSeq(path).value_or(std::numeric_limits<uint64_t>::max());
      found.push_back({{seq, entry.path().filename().string()}, path});
    }
    if (ec) return absl::FailedPreconditionError(argument + ": " + ec.message());
    std::sort(found.begin(), found.end());
    for (auto& [key, path] : found) out.push_back(std::move(path));
  }
  if (out.empty()) return absl::InvalidArgumentError("no audit files given");
  return out;
}

StatusOr<std::string> ReadAuditKeyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot read the HMAC key file " + path);
  std::stringstream content;
  content << in.rdbuf();
  std::string key = content.str();
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ' || key.back() == '\t')) {
    key.pop_back();
  }
  if (key.size() < 16) return absl::InvalidArgumentError("the HMAC key file " + path + " holds fewer than 16 bytes");
  return key;
}

std::string DescribeAuditVerifyResult(const AuditVerifyResult& r) {
  if (!r.ok) {
    return "BROKEN: " + r.file + ":" + std::to_string(r.line) + ": " + r.reason + " (" + std::to_string(r.records) +
           " records before it verified)";
  }
  std::string out = "OK: " + std::to_string(r.records) + " records in " + std::to_string(r.files) +
                    (r.files == 1 ? " file" : " files");
  if (r.records == 0) return out;
  out += ", seq " + std::to_string(r.first_seq) + ".." + std::to_string(r.last_seq);
  out += r.from_genesis ? " (from the first record)"
                        : " (starts at seq " + std::to_string(r.first_seq) +
                              ": older records were rotated away or not given, and are not checked)";
  out += r.hashes_checked ? "; every hash checked" : "; HMAC records: links checked, hashes not (give --hmac-key-file)";
  out += r.ends_with_stop ? "; ends with a clean shutdown (audit.stop)"
                          : "; does not end with audit.stop (the node is running, stopped uncleanly, or the end "
                            "was cut off)";
  return out;
}

}  // namespace vj
