// The gRPC method table: every method the gRPC port serves, with the permission and scope it needs, in
// the same terms as the REST route table (api/route_table.h): the request pipeline authorizes a gRPC
// call with its method's entry exactly as it authorizes a REST request with its route's. A method
// without an entry is refused (deny by default); a method the .proto files do not declare is
// UNIMPLEMENTED before it reaches the table.
// Thread-safety: an immutable table.
#pragma once

#include <span>
#include <string_view>

#include "api/route_table.h"

namespace vj {

struct GrpcMethod {
  // The route the pipeline sees: method "POST", pattern the full method name ("/qdrant.Points/Upsert"),
  // the permission and scope (a collection method's collection is its request's collection_name),
  // `writes` for the rate limits' write bucket; no handler (the gRPC services serve it).
  RouteSpec route;
  // Whether collection_name may be an alias (false where a collection is created or deleted by its
  // own name, as on the REST port).
  bool accepts_alias;
};

// The entry of `full_name` ("/qdrant.Points/Upsert"), or null.
const GrpcMethod* FindGrpcMethod(std::string_view full_name);
std::span<const GrpcMethod> AllGrpcMethods();

}  // namespace vj
