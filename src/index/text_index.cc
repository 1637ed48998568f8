#include "index/text_index.h"

#include <algorithm>

namespace vj {

void TextIndex::Add(uint32_t id, const std::vector<std::string_view>& values) {
  std::vector<std::string> words;
  std::vector<std::string> terms;
  std::vector<WordSequence> sequences;
  const bool keep = tokenizer_->params().phrase_matching || values.size() > 1;
  for (std::string_view value : values) {
    words.clear();
    tokenizer_->Words(value, &words);
    tokenizer_->DocumentTerms(words, &terms);
    if (!keep) continue;
    WordSequence& seq = sequences.emplace_back();
    seq.reserve(words.size());
    for (std::string& w : words) {
      auto [it, inserted] = word_ids_.try_emplace(w, static_cast<uint32_t>(words_.size()));
      if (inserted) words_.push_back(std::move(w));
      seq.push_back(it->second);
    }
  }
  for (const std::string& t : terms) postings_[t].add(id);
  if (keep) sequences_[id] = std::move(sequences);
}

void TextIndex::Remove(uint32_t id, const std::vector<std::string_view>& values) {
  std::vector<std::string> words;
  std::vector<std::string> terms;
  for (std::string_view value : values) {
    words.clear();
    tokenizer_->Words(value, &words);
    tokenizer_->DocumentTerms(words, &terms);
  }
  for (const std::string& t : terms) {
    auto it = postings_.find(t);
    if (it == postings_.end()) continue;
    it->second.remove(id);
    if (it->second.isEmpty()) postings_.erase(it);
  }
  sequences_.erase(id);
}

const roaring::Roaring* TextIndex::Postings(const std::string& term) const {
  auto it = postings_.find(term);
  return it == postings_.end() ? nullptr : &it->second;
}

uint64_t TextIndex::TermCardinality(const std::string& term) const {
  const roaring::Roaring* p = Postings(term);
  return p == nullptr ? 0 : p->cardinality();
}

bool TextIndex::Verify(uint32_t id, text::TextQueryKind kind, const std::vector<std::string>& tokens) const {
  auto it = sequences_.find(id);
  if (it == sequences_.end()) return true;  // one string, no positions kept: the postings are exact
  std::vector<std::string> words;
  for (const WordSequence& seq : it->second) {
    words.clear();
    for (uint32_t w : seq) words.push_back(words_[w]);
    if (text::TokensMatch(*tokenizer_, kind, tokens, words)) return true;
  }
  return false;
}

roaring::Roaring TextIndex::Answer(text::TextQueryKind kind, std::string_view query) const {
  std::vector<std::string> tokens;
  tokenizer_->QueryTokens(query, &tokens);
  roaring::Roaring out;
  if (tokens.empty()) return out;
  if (kind == text::TextQueryKind::kAny) {
    // A point matches when one of its strings holds one token: the union of postings is exact.
    for (const std::string& t : tokens) {
      if (const roaring::Roaring* p = Postings(t)) out |= *p;
    }
    return out;
  }
  // Intersect, rarest first, so the running set shrinks fast.
  std::vector<const roaring::Roaring*> lists;
  for (const std::string& t : tokens) {
    const roaring::Roaring* p = Postings(t);
    if (p == nullptr) return out;
    lists.push_back(p);
  }
  std::sort(lists.begin(), lists.end(),
            [](const roaring::Roaring* a, const roaring::Roaring* b) { return a->cardinality() < b->cardinality(); });
  out = *lists[0];
  for (size_t i = 1; i < lists.size() && !out.isEmpty(); ++i) out &= *lists[i];
  if (sequences_.empty()) return out;
  roaring::Roaring verified;
  for (uint32_t id : out) {
    if (Verify(id, kind, tokens)) verified.add(id);
  }
  return verified;
}

bool TextIndex::Contains(text::TextQueryKind kind, const std::vector<std::string>& tokens, uint32_t id) const {
  if (tokens.empty()) return false;
  if (kind == text::TextQueryKind::kAny) {
    for (const std::string& t : tokens) {
      const roaring::Roaring* p = Postings(t);
      if (p != nullptr && p->contains(id)) return true;
    }
    return false;
  }
  for (const std::string& t : tokens) {
    const roaring::Roaring* p = Postings(t);
    if (p == nullptr || !p->contains(id)) return false;
  }
  return Verify(id, kind, tokens);
}

size_t TextIndex::memory_bytes() const {
  size_t bytes = sizeof(*this);
  for (const auto& [t, r] : postings_) bytes += t.capacity() + sizeof(r) + r.getSizeInBytes() + 32;
  for (const std::string& w : words_) bytes += w.capacity() + sizeof(w) + 24;
  for (const auto& [id, seqs] : sequences_) {
    bytes += 32;
    for (const WordSequence& s : seqs) bytes += sizeof(s) + s.capacity() * sizeof(uint32_t);
  }
  return bytes;
}

}  // namespace vj
