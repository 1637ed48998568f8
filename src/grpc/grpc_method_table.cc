#include "grpc/grpc_method_table.h"

namespace vj {
namespace {

using P = Permission;
using S = RouteScope;
constexpr Port kPub = Port::kPublic;
constexpr RouteServer kApi = RouteServer::kApi;

constexpr GrpcMethod kMethods[] = {
    {{kPub, "POST", "/qdrant.Qdrant/HealthCheck", P::kPublic, S::kNode, kApi, nullptr, false, false}, false},
    {{kPub, "POST", "/qdrant.Collections/Get", P::kRead, S::kCollection, kApi, nullptr, false, false}, true},
    {{kPub, "POST", "/qdrant.Collections/List", P::kRead, S::kAnyCollection, kApi, nullptr, false, false}, false},
    {{kPub, "POST", "/qdrant.Collections/Create", P::kManage, S::kCollection, kApi, nullptr, true, false}, false},
    {{kPub, "POST", "/qdrant.Collections/Delete", P::kManage, S::kCollection, kApi, nullptr, true, false}, false},
    {{kPub, "POST", "/qdrant.Collections/CollectionExists", P::kRead, S::kCollection, kApi, nullptr, false, false}, true},
    {{kPub, "POST", "/qdrant.Points/Upsert", P::kWrite, S::kCollection, kApi, nullptr, true, false}, true},
    {{kPub, "POST", "/qdrant.Points/Delete", P::kWrite, S::kCollection, kApi, nullptr, true, false}, true},
    {{kPub, "POST", "/qdrant.Points/Get", P::kRead, S::kCollection, kApi, nullptr, false, false}, true},
    {{kPub, "POST", "/qdrant.Points/Search", P::kRead, S::kCollection, kApi, nullptr, false, false}, true},
    {{kPub, "POST", "/qdrant.Points/SearchBatch", P::kRead, S::kCollection, kApi, nullptr, false, false}, true},
    {{kPub, "POST", "/qdrant.Points/Scroll", P::kRead, S::kCollection, kApi, nullptr, false, false}, true},
    {{kPub, "POST", "/qdrant.Points/Count", P::kRead, S::kCollection, kApi, nullptr, false, false}, true},
    {{kPub, "POST", "/qdrant.Points/Query", P::kRead, S::kCollection, kApi, nullptr, false, false}, true},
    {{kPub, "POST", "/qdrant.Points/QueryBatch", P::kRead, S::kCollection, kApi, nullptr, false, false}, true},
};

}  // namespace

const GrpcMethod* FindGrpcMethod(std::string_view full_name) {
  for (const GrpcMethod& m : kMethods) {
    if (m.route.pattern == full_name) return &m;
  }
  return nullptr;
}

std::span<const GrpcMethod> AllGrpcMethods() { return kMethods; }

}  // namespace vj
