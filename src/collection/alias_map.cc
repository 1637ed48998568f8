#include "collection/alias_map.h"

#include <boost/json.hpp>

#include "collection/collection_config.h"
#include "core/payload.h"

namespace vj {
namespace json = boost::json;

namespace {

constexpr int64_t kFormat = 1;

Status ActionError(size_t index, AliasAction::Kind kind, const Status& status) {
  return Status(status.code(), "actions[" + std::to_string(index) + "] (" + std::string(AliasActionName(kind)) +
                                   "): " + std::string(status.message()));
}

Status ValidAliasName(const std::string& name, const char* field) {
  Status valid = ValidateCollectionName(name);
  if (valid.ok()) return valid;
  // "collection name must ..." reads wrong for an alias: say which field.
  std::string message(valid.message());
  if (message.rfind("collection name", 0) == 0) message.replace(0, 15, field);
  return absl::InvalidArgumentError(message);
}

}  // namespace

std::string_view AliasActionName(AliasAction::Kind kind) {
  switch (kind) {
    case AliasAction::Kind::kCreate: return "create_alias";
    case AliasAction::Kind::kDelete: return "delete_alias";
    case AliasAction::Kind::kRename: return "rename_alias";
  }
  return "unknown";
}

Status AliasMap::Apply(const std::vector<AliasAction>& actions,
                       const std::function<bool(const std::string&)>& collection_exists) {
  // Applied to a copy, which replaces this map only when every action succeeded.
  std::map<std::string, std::string, std::less<>> next = aliases_;
  for (size_t i = 0; i < actions.size(); ++i) {
    const AliasAction& a = actions[i];
    auto fail = [&](const Status& s) { return ActionError(i, a.kind, s); };
    switch (a.kind) {
      case AliasAction::Kind::kCreate: {
        if (Status s = ValidAliasName(a.alias, "alias_name"); !s.ok()) return fail(s);
        if (!collection_exists(a.collection)) {
          return fail(absl::NotFoundError("Collection `" + a.collection + "` doesn't exist!"));
        }
        if (collection_exists(a.alias)) {
          return fail(absl::AlreadyExistsError("alias_name `" + a.alias + "` is the name of a collection"));
        }
        next[a.alias] = a.collection;
        break;
      }
      case AliasAction::Kind::kDelete:
        if (next.erase(a.alias) == 0) return fail(absl::NotFoundError("Alias `" + a.alias + "` doesn't exist!"));
        break;
      case AliasAction::Kind::kRename: {
        auto old = next.find(a.alias);
        if (old == next.end()) return fail(absl::NotFoundError("Alias `" + a.alias + "` doesn't exist!"));
        if (a.new_alias == a.alias) break;
        if (Status s = ValidAliasName(a.new_alias, "new_alias_name"); !s.ok()) return fail(s);
        if (next.count(a.new_alias) != 0) {
          return fail(absl::AlreadyExistsError("Alias `" + a.new_alias + "` already exists!"));
        }
        if (collection_exists(a.new_alias)) {
          return fail(absl::AlreadyExistsError("new_alias_name `" + a.new_alias + "` is the name of a collection"));
        }
        std::string target = std::move(old->second);
        next.erase(old);
        next.emplace(a.new_alias, std::move(target));
        break;
      }
    }
    if (next.size() > kMaxAliases) {
      return fail(absl::InvalidArgumentError("more than " + std::to_string(kMaxAliases) + " aliases"));
    }
  }
  aliases_ = std::move(next);
  return absl::OkStatus();
}

std::optional<std::string> AliasMap::Resolve(std::string_view alias) const {
  auto it = aliases_.find(alias);
  if (it == aliases_.end()) return std::nullopt;
  return it->second;
}

std::vector<AliasEntry> AliasMap::List() const {
  std::vector<AliasEntry> out;
  out.reserve(aliases_.size());
  for (const auto& [alias, collection] : aliases_) out.push_back({alias, collection});
  return out;
}

size_t AliasMap::RemoveCollection(std::string_view collection) {
  return std::erase_if(aliases_, [&](const auto& entry) { return entry.second == collection; });
}

std::string AliasMap::Serialize() const {
  json::object aliases;
  for (const auto& [alias, collection] : aliases_) aliases[alias] = collection;
  return json::serialize(json::object{{"format", kFormat}, {"aliases", std::move(aliases)}});
}

StatusOr<AliasMap> AliasMap::Parse(std::string_view bytes, const std::string& where) {
  auto corrupt = [&](const std::string& why) { return absl::DataLossError(where + ": " + why); };
  StatusOr<json::value> parsed = ParseJson(bytes, 4);
  if (!parsed.ok()) return corrupt(std::string(parsed.status().message()));
  const json::object* root = parsed->if_object();
  if (root == nullptr) return corrupt("expected a JSON object");
  const json::value* format = root->if_contains("format");
  if (format == nullptr || !format->is_int64() || format->as_int64() != kFormat) {
    return corrupt("unknown format (expected \"format\": " + std::to_string(kFormat) + ")");
  }
  const json::value* aliases = root->if_contains("aliases");
  if (aliases == nullptr || !aliases->is_object()) return corrupt("\"aliases\" must be an object");
  if (aliases->as_object().size() > kMaxAliases) return corrupt("more than " + std::to_string(kMaxAliases) + " aliases");
  AliasMap map;
  for (const auto& [alias, collection] : aliases->as_object()) {
    if (!collection.is_string()) return corrupt("alias `" + std::string(alias) + "` names no collection");
    const std::string target(collection.as_string());
    if (!ValidateCollectionName(alias).ok() || !ValidateCollectionName(target).ok()) {
      return corrupt("alias `" + std::string(alias) + "` -> `" + target + "`: not a valid name");
    }
    map.aliases_.emplace(std::string(alias), target);
  }
  return map;
}

}  // namespace vj
