// The API key and role endpoints (/vjvector/keys, /vjvector/roles) over a real SecurityStore in a
// temporary data directory.
#include <gtest/gtest.h>

#include <chrono>

#include "api/rest_api.h"
#include "collection/database.h"
#include "core/payload.h"
#include "core/test_dir.h"
#include "security/local_state_file.h"
#include "security/security_store.h"

namespace vj {
namespace {

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class RestApiSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DatabaseOptions options;
    options.data_dir = dir_.path();
    db_ = std::move(*Database::Open(options));
    OpenStore({});
  }

  void OpenStore(SecurityStoreOptions store_options) {
    api_.reset();
    store_.reset();
    store_ = std::move(*SecurityStore::Open(std::move(*LocalSecurityStateBackend::Open(dir_.path())),
                                            std::move(store_options)));
    RestApiOptions api_options;
    api_options.security = store_.get();
    api_ = std::make_unique<RestApi>(*db_, api_options);
  }

  std::pair<int, boost::json::value> Send(const std::string& method, const std::string& path,
                                          const std::string& body = "") {
    Response r = api_->Handle(Request{method, path, {}, body, {}});
    last_body_ = r.body;
    auto parsed = ParseJson(r.body);
    EXPECT_TRUE(parsed.ok()) << r.body;
    return {r.status, parsed.ok() ? *parsed : boost::json::value()};
  }
  // Expects `status` and an error message containing `part`.
  void ExpectRefused(const std::string& method, const std::string& path, const std::string& body, int status,
                     const std::string& part) {
    auto [code, answer] = Send(method, path, body);
    EXPECT_EQ(code, status) << method << " " << path << " " << body << " -> " << last_body_;
    if (code == status && status != 200) {
      const std::string error(answer.at("status").at("error").as_string());
      EXPECT_NE(error.find(part), std::string::npos) << body << " -> " << error;
    }
  }

  TestDir dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<SecurityStore> store_;
  std::unique_ptr<RestApi> api_;
  std::string last_body_;
};

TEST_F(RestApiSecurityTest, CreateListRevokeKey) {
  const int64_t expires = UnixNow() + 3600;
  auto [status, body] = Send("POST", "/vjvector/keys",
                             R"({"role": "reader", "name": "ci", "description": "nightly", "expires_at": )" +
                                 std::to_string(expires) + "}");
  ASSERT_EQ(status, 200) << last_body_;
  const boost::json::object& created = body.at("result").as_object();
  const std::string id(created.at("id").as_string());
  const std::string secret(created.at("key").as_string());
  EXPECT_EQ(secret.substr(0, 4 + id.size()), "vjk_" + id);
  EXPECT_EQ(created.at("role").as_string(), "reader");
  EXPECT_TRUE(created.at("grants").as_array().empty());
  EXPECT_EQ(created.at("expires_at").to_number<int64_t>(), expires);
  EXPECT_GT(created.at("created_at").to_number<int64_t>(), 0);
  EXPECT_EQ(created.at("name").as_string(), "ci");
  StatusOr<Principal> principal = store_->Authenticate(secret);
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_EQ(principal->id, "key:" + id);

  std::tie(status, body) = Send("GET", "/vjvector/keys");
  ASSERT_EQ(status, 200);
  const boost::json::array& keys = body.at("result").at("keys").as_array();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].at("id").as_string(), id);
  EXPECT_EQ(keys[0].at("description").as_string(), "nightly");
  EXPECT_FALSE(keys[0].as_object().contains("key"));
  EXPECT_EQ(last_body_.find(secret.substr(21)), std::string::npos);
  EXPECT_EQ(last_body_.find("sha256"), std::string::npos);
  EXPECT_EQ(last_body_.find("salt"), std::string::npos);

  std::tie(status, body) = Send("DELETE", "/vjvector/keys/" + id);
  EXPECT_EQ(status, 200);
  EXPECT_TRUE(body.at("result").as_bool());
  EXPECT_FALSE(store_->Authenticate(secret).ok());
  ExpectRefused("DELETE", "/vjvector/keys/" + id, "", 404, "no API key");
  std::tie(status, body) = Send("GET", "/vjvector/keys");
  EXPECT_TRUE(body.at("result").at("keys").as_array().empty());
}

TEST_F(RestApiSecurityTest, KeyWithOwnGrantsAndCollections) {
  auto [status, body] = Send("POST", "/vjvector/keys",
                             R"({"grants": [{"collections": "logs-*", "access": "write"}], "collections": ["logs-eu-*"]})");
  ASSERT_EQ(status, 200) << last_body_;
  EXPECT_TRUE(body.at("result").at("role").is_null());
  EXPECT_TRUE(body.at("result").at("expires_at").is_null());
  EXPECT_EQ(body.at("result").at("grants").at(0).at("access").as_string(), "write");
  StatusOr<Principal> p = store_->Authenticate(std::string(body.at("result").at("key").as_string()));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->Allows(Permission::kWrite, "logs-eu-1"));
  EXPECT_FALSE(p->Allows(Permission::kRead, "logs-us-1"));
}

TEST_F(RestApiSecurityTest, KeyRequestsAreValidated) {
  const std::string past = std::to_string(UnixNow() - 1);
  ExpectRefused("POST", "/vjvector/keys", R"({"role": "reader", "bogus": 1})", 400, "\"bogus\"");
  ExpectRefused("POST", "/vjvector/keys", R"({})", 400, "either role or grants");
  ExpectRefused("POST", "/vjvector/keys", R"({"role": "reader", "grants": [{"collections": "*", "access": "read"}]})",
                400, "either role or grants");
  ExpectRefused("POST", "/vjvector/keys", R"({"role": "nobody"})", 400, "role");
  ExpectRefused("POST", "/vjvector/keys", R"({"role": "Bad Role"})", 400, "role");
  ExpectRefused("POST", "/vjvector/keys", R"({"role": 7})", 400, "role");
  ExpectRefused("POST", "/vjvector/keys", R"({"role": "reader", "expires_at": )" + past + "}", 400, "expires_at");
  ExpectRefused("POST", "/vjvector/keys", R"({"role": "reader", "expires_at": -5})", 400, "expires_at");
  ExpectRefused("POST", "/vjvector/keys", R"({"role": "reader", "expires_at": 1e300})", 400, "expires_at");
  ExpectRefused("POST", "/vjvector/keys", R"({"role": "reader", "collections": ["a*b"]})", 400, "collections[0]");
  ExpectRefused("POST", "/vjvector/keys", R"({"role": "reader", "collections": "a"})", 400, "collections");
  ExpectRefused("POST", "/vjvector/keys", R"({"grants": [{"collections": "*", "access": "internal"}]})", 400,
                "grants[0].access");
  ExpectRefused("POST", "/vjvector/keys", R"({"grants": [{"collections": "*"}]})", 400, "grants[0].access");
  ExpectRefused("POST", "/vjvector/keys", R"({"grants": [{"collections": "*", "access": "read", "x": 1}]})", 400,
                "\"x\"");
  ExpectRefused("POST", "/vjvector/keys", R"({"grants": []})", 400, "grants");
  ExpectRefused("POST", "/vjvector/keys", R"({"role": "reader", "name": ")" + std::string(200, 'n') + "\"}", 400,
                "name");
  ExpectRefused("POST", "/vjvector/keys", R"({"role": "reader", "name": 5})", 400, "name");
  ExpectRefused("POST", "/vjvector/keys", R"({"role": "reader")", 400, "");
  ExpectRefused("POST", "/vjvector/keys", "", 400, "body");
  ExpectRefused("PUT", "/vjvector/keys", "{}", 405, "");
  EXPECT_TRUE(store_->ListKeys().empty());  // nothing refused was stored

  SecurityStoreOptions one;
  one.max_keys = 1;
  OpenStore(one);
  EXPECT_EQ(Send("POST", "/vjvector/keys", R"({"role": "reader"})").first, 200);
  ExpectRefused("POST", "/vjvector/keys", R"({"role": "reader"})", 400, "revoke some");
}

TEST_F(RestApiSecurityTest, Roles) {
  auto [status, body] = Send("PUT", "/vjvector/roles/team-a",
                             R"({"grants": [{"collections": "a-*", "access": "write"}, {"collections": "shared", "access": "read"}]})");
  ASSERT_EQ(status, 200) << last_body_;
  EXPECT_EQ(body.at("result").at("name").as_string(), "team-a");
  EXPECT_FALSE(body.at("result").at("builtin").as_bool());
  std::tie(status, body) = Send("GET", "/vjvector/roles");
  ASSERT_EQ(status, 200);
  const boost::json::array& roles = body.at("result").at("roles").as_array();
  ASSERT_EQ(roles.size(), 5u);
  EXPECT_EQ(roles[0].at("name").as_string(), "admin");
  EXPECT_TRUE(roles[0].at("builtin").as_bool());
  EXPECT_EQ(roles[0].at("grants").at(0).at("access").as_string(), "admin");
  EXPECT_EQ(roles[4].at("grants").at(1).at("collections").as_string(), "shared");

  // A key of the role; the role's edit applies to it at once.
  std::tie(status, body) = Send("POST", "/vjvector/keys", R"({"role": "team-a"})");
  ASSERT_EQ(status, 200) << last_body_;
  const std::string secret(body.at("result").at("key").as_string());
  EXPECT_FALSE(store_->Authenticate(secret)->Allows(Permission::kManage, "a-1"));
  EXPECT_EQ(Send("PUT", "/vjvector/roles/team-a", R"({"grants": [{"collections": "a-*", "access": "manage"}]})").first,
            200);
  EXPECT_TRUE(store_->Authenticate(secret)->Allows(Permission::kManage, "a-1"));

  ExpectRefused("PUT", "/vjvector/roles/admin", R"({"grants": [{"collections": "*", "access": "read"}]})", 400,
                "built in");
  ExpectRefused("DELETE", "/vjvector/roles/reader", "", 400, "built in");
  ExpectRefused("PUT", "/vjvector/roles/Team%20A", R"({"grants": [{"collections": "*", "access": "read"}]})", 400,
                "role name");
  ExpectRefused("PUT", "/vjvector/roles/r", R"({"grants": [{"collections": "*", "access": "read"}], "x": 1})", 400,
                "\"x\"");
  ExpectRefused("PUT", "/vjvector/roles/r", R"({})", 400, "grants");
  ExpectRefused("PUT", "/vjvector/roles/r", R"({"grants": [{"collections": "**", "access": "read"}]})", 400,
                "grants[0].collections");
  ExpectRefused("PUT", "/vjvector/roles/r", R"({"grants": [{"collections": "*", "access": "root"}]})", 400,
                "grants[0].access");
  ExpectRefused("DELETE", "/vjvector/roles/nobody", "", 404, "no custom role");

  std::tie(status, body) = Send("DELETE", "/vjvector/roles/team-a");
  EXPECT_EQ(status, 200);
  EXPECT_TRUE(store_->Authenticate(secret)->grants.empty());
  EXPECT_EQ(Send("GET", "/vjvector/roles").second.at("result").at("roles").as_array().size(), 4u);

  SecurityStoreOptions one;
  one.max_roles = 1;
  OpenStore(one);
  EXPECT_EQ(Send("PUT", "/vjvector/roles/r1", R"({"grants": [{"collections": "*", "access": "read"}]})").first, 200);
  ExpectRefused("PUT", "/vjvector/roles/r2", R"({"grants": [{"collections": "*", "access": "read"}]})", 400,
                "delete some");
}

TEST_F(RestApiSecurityTest, WithoutAStoreTheRoutesAreNotFound) {
  api_ = std::make_unique<RestApi>(*db_, RestApiOptions{});
  const std::pair<std::string, std::string> kRoutes[] = {
      {"POST", "/vjvector/keys"}, {"GET", "/vjvector/keys"},   {"DELETE", "/vjvector/keys/0123456789abcdef"},
      {"GET", "/vjvector/roles"}, {"PUT", "/vjvector/roles/r"}, {"DELETE", "/vjvector/roles/r"}};
  for (const auto& [method, path] : kRoutes) {
    ExpectRefused(method, path, R"({"role": "reader"})", 404, "security is not configured");
  }
}

TEST_F(RestApiSecurityTest, ListingsNeverBlockAndChangesRunOffTheIoThreads) {
  EXPECT_TRUE(RestApi::NeverBlocks(Port::kPublic, Request{"GET", "/vjvector/keys", {}, "", {}}));
  EXPECT_TRUE(RestApi::NeverBlocks(Port::kPublic, Request{"GET", "/vjvector/roles", {}, "", {}}));
  EXPECT_FALSE(RestApi::NeverBlocks(Port::kPublic, Request{"POST", "/vjvector/keys", {}, "", {}}));
  EXPECT_FALSE(RestApi::NeverBlocks(Port::kPublic, Request{"DELETE", "/vjvector/keys/x", {}, "", {}}));
  EXPECT_FALSE(RestApi::NeverBlocks(Port::kPublic, Request{"PUT", "/vjvector/roles/x", {}, "", {}}));
}

}  // namespace
}  // namespace vj
