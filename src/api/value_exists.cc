#include "api/value_exists.h"

#include <boost/json.hpp>

#include "api/filter_codec.h"
#include "security/auth_failure.h"

namespace vj {
namespace json = boost::json;

Status CheckValueExists(Catalog& catalog, const ValueExistsCondition& condition) {
  json::array must;
  for (const ValueExistsCondition::Match& m : condition.matches) {
    json::value value;
    std::visit([&](const auto& v) { value = json::value(v); }, m.value);
    must.push_back(json::object{{"key", m.key}, {"match", json::object{{"value", std::move(value)}}}});
  }
  VJ_ASSIGN_OR_RETURN(Filter filter, ParseFilter(json::object{{"must", std::move(must)}}, "value_exists"));
  StatusOr<std::shared_ptr<Collection>> collection = catalog.Get(condition.collection);
  if (absl::IsNotFound(collection.status())) {
    return AuthFailure("value_exists", "the token's value_exists collection does not exist");
  }
  VJ_RETURN_IF_ERROR(collection.status());
  VJ_ASSIGN_OR_RETURN(uint64_t count, (*collection)->Count(filter, /*exact=*/true));
  if (count == 0) return AuthFailure("value_exists", "the token's value_exists condition matches no point");
  return absl::OkStatus();
}

}  // namespace vj
