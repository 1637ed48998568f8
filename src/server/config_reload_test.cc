#include "server/config_reload.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace vj {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(ConfigReloadTest, SecuritySettingsAreReloadableTheRestWaitsForARestart) {
  ServerConfig before;
  ServerConfig after = before;
  EXPECT_THAT(ReloadableChanges(before, after), IsEmpty());
  EXPECT_THAT(RestartOnlyChanges(before, after), IsEmpty());

  after.api_key = "new-key-0123456789";
  after.read_only_api_key = "ro-key-0123456789";
  after.rate_limits.defaults.read.per_s = 10;
  after.oidc.audience = "vjvector";
  after.peer_names = {"n*"};
  EXPECT_THAT(ReloadableChanges(before, after),
              ElementsAre("security.api_key", "security.read_only_api_key", "security.oidc", "security.rate_limits",
                          "cluster.peer_names"));
  EXPECT_THAT(RestartOnlyChanges(before, after), IsEmpty());

  after = before;
  after.port = 7000;
  after.internal_token = "another-token-0123456789";
  after.tls_cert_file = "/elsewhere.crt";
  after.limits.max_limit = 5;
  after.allow_unauthenticated = true;
  after.audit_enabled = true;
  EXPECT_THAT(ReloadableChanges(before, after), IsEmpty());
  EXPECT_THAT(RestartOnlyChanges(before, after),
              ElementsAre("http.port", "cluster.internal_token", "tls.cert_file", "limits",
                          "security.allow_unauthenticated", "audit"));
}

TEST(ConfigReloadTest, ANodeThatMustAuthenticateKeepsACredential) {
  EXPECT_TRUE(CheckReloadedSecurity(/*configured=*/true, /*must_authenticate=*/true).ok());
  EXPECT_TRUE(CheckReloadedSecurity(false, false).ok());
  EXPECT_EQ(CheckReloadedSecurity(false, true).code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace vj
