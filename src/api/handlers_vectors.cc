// Vector and batch endpoints: PUT /points/vectors (update_vectors), POST /points/vectors/delete
// (delete_vectors) and POST /points/batch (Qdrant's batch of update operations).
#include <string>
#include <vector>

#include "api/handlers.h"
#include "api/point_ops.h"
#include "core/json_fields.h"

namespace vj {
namespace json = boost::json;

StatusOr<json::value> HandleUpdateVectors(const Call& call) {
  return ApplyPointWrite(call, [&](const Collection& c, const json::object& body) {
    return ParseUpdateVectorsWrite(call, c, body);
  });
}

StatusOr<json::value> HandleDeleteVectors(const Call& call) {
  return ApplyPointWrite(call, [&](const Collection& c, const json::object& body) {
    return ParseDeleteVectorsWrite(call, c, body);
  });
}

namespace {

// One operation of a batch: {"<kind>": {...}} with exactly one key.
// `upserted`: the points the batch's earlier upserts write (one tenant quota check for the whole batch).
StatusOr<PointWrite> ParseBatchOperation(const Call& call, const Collection& collection, const json::value& op,
                                         const std::string& where, uint64_t* upserted) {
  VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(op, where));
  if (obj->size() != 1) {
    return absl::InvalidArgumentError(where + ": expected an object with one operation (upsert, delete, set_payload, "
                                              "overwrite_payload, delete_payload, clear_payload, update_vectors or "
                                              "delete_vectors), got " + std::to_string(obj->size()) + " keys");
  }
  const std::string kind(obj->begin()->key());
  const std::string inner = where + "." + kind;
  VJ_ASSIGN_OR_RETURN(const json::object* body, ReadObject(obj->begin()->value(), inner));
  StatusOr<PointWrite> write = absl::InvalidArgumentError(inner + ": unknown operation");
  if (kind == "upsert") {
    write = ParseUpsertWrite(call, collection, *body, upserted);
  } else if (kind == "delete") {
    write = ParseDeleteWrite(call, collection, *body);
  } else if (kind == "set_payload") {
    write = ParsePayloadWrite(call, collection, PayloadUpdate::kSet, *body);
  } else if (kind == "overwrite_payload") {
    write = ParsePayloadWrite(call, collection, PayloadUpdate::kOverwrite, *body);
  } else if (kind == "delete_payload") {
    write = ParsePayloadWrite(call, collection, PayloadUpdate::kDeleteKeys, *body);
  } else if (kind == "clear_payload") {
    write = ParsePayloadWrite(call, collection, PayloadUpdate::kClear, *body);
  } else if (kind == "update_vectors") {
    write = ParseUpdateVectorsWrite(call, collection, *body);
  } else if (kind == "delete_vectors") {
    write = ParseDeleteVectorsWrite(call, collection, *body);
  } else {
    return write;
  }
  if (!write.ok()) return WithContext(write.status(), inner);
  return write;
}

}  // namespace

StatusOr<json::value> HandleBatchUpdate(const Call& call) {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_ASSIGN_OR_RETURN(bool wait, call.Wait());
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"operations"}, ""));
  const json::value* ops = FindField(body, "operations");
  if (ops == nullptr) return absl::InvalidArgumentError("operations: missing");
  VJ_ASSIGN_OR_RETURN(const json::array* arr, ReadArray(*ops, "operations"));
  const size_t max_ops = call.limits().max_batch_queries;
  if (arr->size() > max_ops) return OverLimit("operations", arr->size(), "operations", max_ops, "batch_queries");
  if (arr->empty()) return absl::InvalidArgumentError("operations: expected at least one operation");
  // Every operation is parsed and checked before the first is applied: a malformed one changes nothing.
  std::vector<PointWrite> writes;
  writes.reserve(arr->size());
  uint64_t upserted = 0;
  for (size_t i = 0; i < arr->size(); ++i) {
    VJ_ASSIGN_OR_RETURN(PointWrite write, ParseBatchOperation(call, *collection, (*arr)[i],
                                                              "operations[" + std::to_string(i) + "]", &upserted));
    writes.push_back(std::move(write));
  }
  // Applied in order, each as its own write (as Qdrant does): a later operation sees what an earlier one
  // wrote. An operation that fails (a point that does not exist) stops the batch; the ones before it stay.
  json::array results;
  for (size_t i = 0; i < writes.size(); ++i) {
    // Later operations may read what this one wrote, so each waits for the previous unless the last.
    const bool this_wait = wait || i + 1 < writes.size();
    Status applied = writes[i](*collection, this_wait, call.context);
    if (!applied.ok()) return WithContext(applied, "operations[" + std::to_string(i) + "]");
    results.push_back(UpdateResult(*collection, wait));
  }
  return results;
}

}  // namespace vj
