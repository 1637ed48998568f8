#include "api/fast_body.h"

#include <boost/json/basic_parser_impl.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <variant>

#include "api/handlers.h"
#include "core/json_parse_handler.h"

namespace vj {
namespace json = boost::json;
namespace {

// The keys on the way to a vector slot; repeated ones (in the root or the slot's object) send the body
// to the ordinary path.
enum class Key : uint8_t { kOther = 0, kQuery = 1, kNearest = 2, kVector = 4 };

Key Classify(std::string_view key) {
  if (key == "query") return Key::kQuery;
  if (key == "nearest") return Key::kNearest;
  if (key == "vector") return Key::kVector;
  return Key::kOther;
}

// ParseJson's handler (so the tree and every number are ParseJson's), except at the vector slot: the
// numbers of that array go to `vector` and the tree gets [0.0]. `fallback` tells a body the fast path
// does not take from malformed JSON (both stop the parse).
class SlotHandler : public PreciseJsonHandler {
 public:
  explicit SlotHandler(json::storage_ptr stack) : PreciseJsonHandler(std::move(stack)) { frames_.reserve(16); }
  void set_slot(BodyVectorSlot slot) { slot_ = slot; }

  bool fallback = false;
  std::optional<std::vector<float>> vector;

  bool on_object_begin(json::error_code& ec) {
    if (extracting_) return Bail(ec);
    frames_.push_back(Frame{true});
    return true;
  }
  bool on_object_end(std::size_t n, json::error_code& ec) {
    frames_.pop_back();
    return PreciseJsonHandler::on_object_end(n, ec);
  }
  bool on_array_begin(json::error_code& ec) {
    if (extracting_) return Bail(ec);  // a multi-vector's rows: the ordinary decoder's message
    if (AtSlot()) {
      if (vector) return Bail(ec);
      extracting_ = true;
      vector.emplace();
      vector->reserve(1024);
      return true;
    }
    frames_.push_back(Frame{false});
    return true;
  }
  bool on_array_end(std::size_t n, json::error_code& ec) {
    if (extracting_) {
      extracting_ = false;
      if (vector->empty()) return Bail(ec);  // "an empty vector" and the like, worded by the decoder
      st.push_double(0.0);
      st.push_array(1);
      return true;
    }
    frames_.pop_back();
    return PreciseJsonHandler::on_array_end(n, ec);
  }
  bool on_key_part(json::string_view s, std::size_t n, json::error_code& ec) {
    key_.append(s.data(), s.size());
    return PreciseJsonHandler::on_key_part(s, n, ec);
  }
  bool on_key(json::string_view s, std::size_t n, json::error_code& ec) {
    key_.append(s.data(), s.size());
    const Key key = Classify(key_);
    key_.clear();
    Frame& frame = frames_.back();
    frame.key = key;
    if (key != Key::kOther && frames_.size() <= 2) {
      const auto bit = static_cast<uint8_t>(key);
      if ((frame.seen & bit) != 0) return Bail(ec);
      frame.seen |= bit;
    }
    return PreciseJsonHandler::on_key(s, n, ec);
  }
  bool on_string_part(json::string_view s, std::size_t n, json::error_code& ec) {
    if (extracting_) return Bail(ec);
    return PreciseJsonHandler::on_string_part(s, n, ec);
  }
  bool on_string(json::string_view s, std::size_t n, json::error_code& ec) {
    if (extracting_) return Bail(ec);
    return PreciseJsonHandler::on_string(s, n, ec);
  }
  bool on_int64(int64_t i, json::string_view s, json::error_code& ec) {
    if (!extracting_) return PreciseJsonHandler::on_int64(i, s, ec);
    number_.clear();
    return Append(static_cast<double>(i), ec);
  }
  bool on_uint64(uint64_t u, json::string_view s, json::error_code& ec) {
    if (!extracting_) return PreciseJsonHandler::on_uint64(u, s, ec);
    number_.clear();
    return Append(static_cast<double>(u), ec);
  }
  bool on_double(double d, json::string_view s, json::error_code& ec) {
    if (!extracting_) return PreciseJsonHandler::on_double(d, s, ec);
    double value = 0;
    if (!ReadDouble(s, &value, ec)) return false;
    return Append(value, ec);
  }
  bool on_bool(bool b, json::error_code& ec) {
    if (extracting_) return Bail(ec);
    return PreciseJsonHandler::on_bool(b, ec);
  }
  bool on_null(json::error_code& ec) {
    if (extracting_) return Bail(ec);
    return PreciseJsonHandler::on_null(ec);
  }

 private:
  struct Frame {
    bool object = false;
    Key key = Key::kOther;  // the current key (objects)
    uint8_t seen = 0;       // the interesting keys seen so far (objects)
  };

  bool Bail(json::error_code& ec) {
    fallback = true;
    ec = json::error::syntax;
    return false;
  }
  // As ParseFloatVector converts; out of float range goes to the ordinary decoder for its message.
  bool Append(double d, json::error_code& ec) {
    constexpr double kMax = std::numeric_limits<float>::max();
    if (!std::isfinite(d) || d > kMax || d < -kMax) return Bail(ec);
    vector->push_back(static_cast<float>(d));
    return true;
  }
  // Whether an array starting now is the value at the slot: the root object's key, or that key's
  // object's key, with nothing but objects on the way.
  bool AtSlot() const {
    const Key top = slot_ == BodyVectorSlot::kQuery ? Key::kQuery : Key::kVector;
    const Key inner = slot_ == BodyVectorSlot::kQuery ? Key::kNearest : Key::kVector;
    if (frames_.empty() || !frames_[0].object || frames_[0].key != top) return false;
    if (frames_.size() == 1) return true;
    return frames_.size() == 2 && frames_[1].object && frames_[1].key == inner;
  }

  BodyVectorSlot slot_ = BodyVectorSlot::kQuery;
  bool extracting_ = false;
  std::vector<Frame> frames_;
  std::string key_;  // the key being read, across parts
};

bool IsStandIn(const VectorInput& input) {
  return !input.id && !input.sparse && input.vector.size() == 1 && input.vector[0] == 0.0f;
}

Status StandInMissing(const char* where) {
  return absl::InternalError(std::string("fast body decoding: the vector's stand-in is not at ") + where);
}

}  // namespace

std::optional<FastBody> TryDecodeFastBody(std::string_view text, size_t max_depth, BodyVectorSlot slot,
                                          JsonBodyMemory* memory) {
  json::parse_options opts;  // as ParseJson's
  opts.max_depth = max_depth;
  opts.allow_invalid_utf8 = false;
  const json::storage_ptr storage = memory != nullptr ? memory->storage() : json::storage_ptr();
  json::basic_parser<SlotHandler> parser(opts, storage);
  SlotHandler& handler = parser.handler();
  handler.set_slot(slot);
  handler.st.reset(storage);
  json::error_code ec;
  size_t n = 0;
  if (memory != nullptr) memory->BeginStrict();
  try {
    n = parser.write_some(false, text.data(), text.size(), ec);
  } catch (const std::exception&) {  // over the memory budget too: the ordinary path says so
    if (memory != nullptr) memory->EndStrict();
    return std::nullopt;
  }
  if (memory != nullptr) memory->EndStrict();
  if (ec || n < text.size()) return std::nullopt;
  json::value value = handler.st.release();
  json::object* object = value.if_object();
  if (object == nullptr) return std::nullopt;
  FastBody body;
  body.json = std::move(*object);
  body.vector = std::move(handler.vector);
  return body;
}

StatusOr<FastBody> DecodeBody(const Call& call, BodyVectorSlot slot, bool optional) {
  if (call.options.fast_body) {
    if (std::optional<FastBody> fast = TryDecodeFastBody(call.request.body, call.options.max_json_depth, slot,
                                                               call.request.json_memory.get())) {
      return std::move(*fast);
    }
  }
  FastBody body;
  VJ_ASSIGN_OR_RETURN(body.json, optional ? call.OptionalBody() : call.Body());
  return body;
}

Status RestoreVector(FastBody* body, QueryPlan* plan) {
  if (!body->vector) return absl::OkStatus();
  auto* nearest = std::get_if<NearestOp>(&plan->root.op);
  if (nearest == nullptr || !IsStandIn(nearest->target)) return StandInMissing("the query's nearest target");
  nearest->target.vector = std::move(*body->vector);
  body->vector.reset();
  return absl::OkStatus();
}

Status RestoreVector(FastBody* body, QueryRequest* request) {
  if (!body->vector) return absl::OkStatus();
  if (request->vector.size() != 1 || request->vector[0] != 0.0f) return StandInMissing("the search's vector");
  request->vector = std::move(*body->vector);
  body->vector.reset();
  return absl::OkStatus();
}

}  // namespace vj
