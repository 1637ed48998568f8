#include "api/inference.h"

#include <absl/strings/ascii.h>

#include <optional>

#include "core/json_fields.h"
#include "text/bm25.h"

namespace vj {
namespace {

namespace json = boost::json;

constexpr char kBm25Model[] = "qdrant/bm25";

StatusOr<text::Bm25Options> ParseOptions(const json::value* v, const std::string& where) {
  text::Bm25Options options;
  if (v == nullptr || v->is_null()) return options;
  VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(*v, where));
  VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"language", "k", "b", "avg_len"}, where));
  if (const json::value* language = FindField(*obj, "language")) {
    VJ_ASSIGN_OR_RETURN(std::string name, ReadString(*language, where + ".language"));
    name = absl::AsciiStrToLower(name);
    if (name == "none") {
      options.stem = false;
      options.stopwords = false;
    } else {
      options.language = std::move(name);
    }
  }
  if (const json::value* k = FindField(*obj, "k")) {
    VJ_ASSIGN_OR_RETURN(double value, ReadNumber(*k, where + ".k"));
    options.k = static_cast<float>(value);
  }
  if (const json::value* b = FindField(*obj, "b")) {
    VJ_ASSIGN_OR_RETURN(double value, ReadNumber(*b, where + ".b"));
    options.b = static_cast<float>(value);
  }
  if (const json::value* avg_len = FindField(*obj, "avg_len")) {
    VJ_ASSIGN_OR_RETURN(double value, ReadNumber(*avg_len, where + ".avg_len"));
    options.avg_len = static_cast<float>(value);
  }
  return options;
}

// The encoder for `options`: the default one is built once; others per request (a tokenizer and a
// stemmer: microseconds).
StatusOr<std::optional<text::Bm25Encoder>> EncoderFor(const json::value* options_json, const std::string& where,
                                                      const text::Bm25Encoder** shared) {
  static const StatusOr<text::Bm25Encoder> kDefault = text::Bm25Encoder::Create(text::Bm25Options{});
  if (options_json == nullptr || options_json->is_null()) {
    if (!kDefault.ok()) return kDefault.status();
    *shared = &*kDefault;
    return std::optional<text::Bm25Encoder>();
  }
  VJ_ASSIGN_OR_RETURN(text::Bm25Options options, ParseOptions(options_json, where));
  StatusOr<text::Bm25Encoder> made = text::Bm25Encoder::Create(options);
  if (!made.ok()) return absl::InvalidArgumentError(where + ": " + std::string(made.status().message()));
  return std::optional<text::Bm25Encoder>(std::move(*made));
}

}  // namespace

bool IsInferenceDocument(const json::object& object) { return object.contains("text"); }

StatusOr<SparseVector> InferSparseVector(const json::object& document, const std::string& where,
                                         InferenceSide side, size_t max_nnz) {
  VJ_RETURN_IF_ERROR(CheckKnownFields(document, {"text", "model", "options"}, where));
  VJ_ASSIGN_OR_RETURN(std::string text, ReadString(*FindField(document, "text"), where + ".text"));
  const json::value* model_json = FindField(document, "model");
  if (model_json == nullptr) return absl::InvalidArgumentError(where + ".model: missing (this node serves qdrant/bm25)");
  VJ_ASSIGN_OR_RETURN(std::string model, ReadString(*model_json, where + ".model"));
  if (absl::AsciiStrToLower(model) != kBm25Model) {
    return absl::InvalidArgumentError(where + ".model: \"" + model +
                                      "\" is not served by this node; the one model it serves is qdrant/bm25");
  }
  const text::Bm25Encoder* encoder = nullptr;
  VJ_ASSIGN_OR_RETURN(std::optional<text::Bm25Encoder> own,
                      EncoderFor(FindField(document, "options"), where + ".options", &encoder));
  if (own) encoder = &*own;
  SparseVector out = side == InferenceSide::kDocument ? encoder->EncodeDocument(text) : encoder->EncodeQuery(text);
  VJ_RETURN_IF_ERROR(ValidateSparseVector(out, max_nnz, where));
  CanonicalizeSparseVector(&out);
  return out;
}

}  // namespace vj
