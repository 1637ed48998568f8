#include "text/bm25.h"

#include <cmath>
#include <cstring>
#include <map>

#include "text/stopwords.h"

namespace vj::text {

uint32_t MurmurHash3_32(std::string_view data, uint32_t seed) {
  constexpr uint32_t c1 = 0xcc9e2d51, c2 = 0x1b873593;
  auto rotl = [](uint32_t x, int r) { return (x << r) | (x >> (32 - r)); };
  const size_t nblocks = data.size() / 4;
  uint32_t h = seed;
  for (size_t i = 0; i < nblocks; ++i) {
    uint32_t k;
    std::memcpy(&k, data.data() + i * 4, 4);  // little-endian, as the reference on x86
    k *= c1;
    k = rotl(k, 15);
    k *= c2;
    h ^= k;
    h = rotl(h, 13);
    h = h * 5 + 0xe6546b64;
  }
  const auto* tail = reinterpret_cast<const unsigned char*>(data.data() + nblocks * 4);
  uint32_t k = 0;
  switch (data.size() & 3) {
    case 3: k ^= static_cast<uint32_t>(tail[2]) << 16; [[fallthrough]];
    case 2: k ^= static_cast<uint32_t>(tail[1]) << 8; [[fallthrough]];
    case 1:
      k ^= tail[0];
      k *= c1;
      k = rotl(k, 15);
      k *= c2;
      h ^= k;
  }
  h ^= static_cast<uint32_t>(data.size());
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

uint32_t Bm25Encoder::TokenIndex(std::string_view token) {
  const auto h = static_cast<int32_t>(MurmurHash3_32(token, 0));
  // |INT32_MIN| is 2^31, which a uint32 holds.
  return h < 0 ? static_cast<uint32_t>(-static_cast<int64_t>(h)) : static_cast<uint32_t>(h);
}

StatusOr<Bm25Encoder> Bm25Encoder::Create(const Bm25Options& options) {
  if (!(options.k >= 0) || !std::isfinite(options.k)) return absl::InvalidArgumentError("bm25 k must be >= 0");
  if (!(options.b >= 0 && options.b <= 1)) return absl::InvalidArgumentError("bm25 b must be in [0, 1]");
  if (!(options.avg_len > 0) || !std::isfinite(options.avg_len)) {
    return absl::InvalidArgumentError("bm25 avg_len must be > 0");
  }
  TextIndexParams params;
  params.tokenizer = TokenizerKind::kWord;
  params.lowercase = true;
  params.max_token_len = options.max_token_len;
  if (options.stopwords) {
    if (BuiltInStopwords(options.language) == nullptr) {
      return absl::InvalidArgumentError("bm25: no built-in stop words for \"" + options.language + "\"");
    }
    params.stopword_languages.push_back(options.language);
  }
  if (options.stem) params.stemmer_language = options.language;
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<const Tokenizer> tokenizer, Tokenizer::Create(params));
  return Bm25Encoder(options, std::move(tokenizer));
}

std::vector<std::string> Bm25Encoder::Tokens(std::string_view text) const {
  std::vector<std::string> tokens;
  tokenizer_->Words(text, &tokens);
  return tokens;
}

SparseVector Bm25Encoder::EncodeDocument(std::string_view text) const {
  const std::vector<std::string> tokens = Tokens(text);
  std::map<uint32_t, uint32_t> tf;  // ordered: the indices come out ascending
  for (const std::string& t : tokens) ++tf[TokenIndex(t)];
  const double doc_len = static_cast<double>(tokens.size());
  const double k = options_.k, b = options_.b;
  const double norm = k * (1.0 - b + b * doc_len / options_.avg_len);
  SparseVector out;
  for (const auto& [index, count] : tf) {
    out.indices.push_back(index);
    out.values.push_back(static_cast<float>(count * (k + 1.0) / (count + norm)));
  }
  return out;
}

SparseVector Bm25Encoder::EncodeQuery(std::string_view text) const {
  std::map<uint32_t, bool> seen;
  for (const std::string& t : Tokens(text)) seen[TokenIndex(t)] = true;
  SparseVector out;
  for (const auto& [index, unused] : seen) {
    out.indices.push_back(index);
    out.values.push_back(1.0f);
  }
  return out;
}

}  // namespace vj::text
