#include "grpc/grpc_method_table.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

#include "server/audit_hook.h"

namespace vj {
namespace {

TEST(GrpcMethodTableTest, EveryMethodOnceWithThePermissionOfItsRestRoute) {
  std::set<std::string_view> names;
  for (const GrpcMethod& m : AllGrpcMethods()) {
    EXPECT_TRUE(names.insert(m.route.pattern).second) << m.route.pattern;
    EXPECT_EQ(m.route.handler, nullptr);
  }
  // The permission of the REST route each mirrors.
  const std::pair<const char*, std::pair<const char*, const char*>> mirrors[] = {
      {"/qdrant.Collections/Get", {"GET", "/collections/c"}},
      {"/qdrant.Collections/List", {"GET", "/collections"}},
      {"/qdrant.Collections/Create", {"PUT", "/collections/c"}},
      {"/qdrant.Collections/Delete", {"DELETE", "/collections/c"}},
      {"/qdrant.Collections/CollectionExists", {"GET", "/collections/c/exists"}},
      {"/qdrant.Points/Upsert", {"PUT", "/collections/c/points"}},
      {"/qdrant.Points/Delete", {"POST", "/collections/c/points/delete"}},
      {"/qdrant.Points/Get", {"POST", "/collections/c/points"}},
      {"/qdrant.Points/Search", {"POST", "/collections/c/points/search"}},
      {"/qdrant.Points/SearchBatch", {"POST", "/collections/c/points/search/batch"}},
      {"/qdrant.Points/Scroll", {"POST", "/collections/c/points/scroll"}},
      {"/qdrant.Points/Count", {"POST", "/collections/c/points/count"}},
      {"/qdrant.Points/Query", {"POST", "/collections/c/points/query"}},
      {"/qdrant.Points/QueryBatch", {"POST", "/collections/c/points/query/batch"}},
  };
  for (const auto& [name, rest] : mirrors) {
    const GrpcMethod* m = FindGrpcMethod(name);
    ASSERT_NE(m, nullptr) << name;
    RouteMatch r = MatchRoute(Port::kPublic, rest.first, rest.second);
    ASSERT_NE(r.route, nullptr) << rest.second;
    EXPECT_EQ(m->route.permission, r.route->permission) << name;
    EXPECT_EQ(m->route.scope, r.route->scope) << name;
    EXPECT_EQ(m->route.writes, r.route->writes) << name;
    EXPECT_EQ(m->accepts_alias, AcceptsCollectionAlias(*r.route)) << name;
    EXPECT_EQ(IsAdminAction(m->route), IsAdminAction(*r.route)) << name;
  }
  EXPECT_EQ(names.size(), std::size(mirrors) + 1);  // and HealthCheck, public as GET /
  EXPECT_EQ(FindGrpcMethod("/qdrant.Qdrant/HealthCheck")->route.permission, Permission::kPublic);
  EXPECT_EQ(FindGrpcMethod("/qdrant.Points/UpdateBatch"), nullptr);
}

}  // namespace
}  // namespace vj
