#include "security/security_store.h"

#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include "core/test_dir.h"
#include "security/auth_failure.h"
#include "security/local_state_file.h"

namespace vj {
namespace {

constexpr int64_t kNow = 1800000000;

class SecurityStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = Open(); }

  std::unique_ptr<SecurityStore> Open(SecurityStoreOptions options = {}) {
    StatusOr<std::unique_ptr<SecurityStore>> store = TryOpen(std::move(options));
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }
  StatusOr<std::unique_ptr<SecurityStore>> TryOpen(SecurityStoreOptions options = {}) {
    auto backend = LocalSecurityStateBackend::Open(dir_.path());
    if (!backend.ok()) return backend.status();
    options.now = [this] { return now_.load(); };
    return SecurityStore::Open(std::move(*backend), std::move(options));
  }
  std::string StateFile() const { return dir_.path() + "/security/state.json"; }

  CreatedApiKey Create(ApiKeySpec spec) {
    StatusOr<CreatedApiKey> created = store_->CreateKey(spec);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *created : CreatedApiKey{};
  }
  static ApiKeySpec WithRole(const std::string& role) {
    ApiKeySpec spec;
    spec.role = role;
    return spec;
  }
  static void ExpectRefused(const StatusOr<Principal>& p, const std::string& reason) {
    ASSERT_TRUE(absl::IsUnauthenticated(p.status())) << p.status();
    EXPECT_EQ(AuthFailureReason(p.status()), reason);
    if (reason == "unknown_key") EXPECT_EQ(p.status().message(), "invalid API key");
  }

  TestDir dir_;
  std::atomic<int64_t> now_{kNow};
  std::unique_ptr<SecurityStore> store_;
};

TEST_F(SecurityStoreTest, CreateAuthenticateListRevoke) {
  ApiKeySpec spec = WithRole("writer");
  spec.name = "ci";
  spec.description = "the CI runner";
  CreatedApiKey created = Create(spec);
  EXPECT_TRUE(std::regex_match(created.secret, std::regex("vjk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}"))) << created.secret;
  EXPECT_EQ(created.secret.substr(4, 16), created.info.id);
  EXPECT_EQ(created.info.created_at, kNow);
  StatusOr<Principal> p = store_->Authenticate(created.secret);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->id, "key:" + created.info.id);
  EXPECT_EQ(p->roles, std::vector<std::string>{"writer"});
  EXPECT_TRUE(p->Allows(Permission::kWrite, "any"));
  EXPECT_FALSE(p->Allows(Permission::kManage, "any"));

  std::vector<ApiKeyInfo> keys = store_->ListKeys();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].id, created.info.id);
  EXPECT_EQ(keys[0].spec.name, "ci");
  EXPECT_EQ(keys[0].spec.role, "writer");
  EXPECT_FALSE(keys[0].expired);

  ASSERT_TRUE(store_->RevokeKey(created.info.id).ok());
  ExpectRefused(store_->Authenticate(created.secret), "unknown_key");
  EXPECT_TRUE(store_->ListKeys().empty());
  EXPECT_TRUE(absl::IsNotFound(store_->RevokeKey(created.info.id)));
  EXPECT_TRUE(absl::IsNotFound(store_->RevokeKey("../../etc/passwd")));
}

TEST_F(SecurityStoreTest, UnknownWrongAndMalformedSecretsLookTheSame) {
  CreatedApiKey created = Create(WithRole("reader"));
  std::string wrong_last = created.secret;
  wrong_last.back() = wrong_last.back() == 'A' ? 'B' : 'A';
  std::string other_id = created.secret;
  other_id[4] = other_id[4] == '0' ? '1' : '0';
  for (const std::string& s : {wrong_last, other_id, created.secret.substr(0, created.secret.size() - 1),
                               created.secret + "A", std::string("vjk_"), std::string(""),
                               std::string("vjk_0123456789abcdef") + std::string(44, '_')}) {
    ExpectRefused(store_->Authenticate(s), "unknown_key");
  }
}

TEST_F(SecurityStoreTest, ExpiryIsCheckedAfterTheSecret) {
  ApiKeySpec spec = WithRole("reader");
  spec.expires_at = kNow + 10;
  CreatedApiKey created = Create(spec);
  EXPECT_TRUE(store_->Authenticate(created.secret).ok());
  now_ = kNow + 10;
  ExpectRefused(store_->Authenticate(created.secret), "expired");
  std::string wrong = created.secret;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  ExpectRefused(store_->Authenticate(wrong), "unknown_key");  // only the holder learns it expired
  EXPECT_TRUE(store_->ListKeys()[0].expired);

  spec.expires_at = now_;
  StatusOr<CreatedApiKey> past = store_->CreateKey(spec);
  ASSERT_TRUE(absl::IsInvalidArgument(past.status()));
  EXPECT_EQ(past.status().message().substr(0, 11), "expires_at:");
}

TEST_F(SecurityStoreTest, RoleChangesTakeEffectAtOnce) {
  ASSERT_TRUE(store_->PutRole("team-a", {{"a-*", Permission::kRead}}).ok());
  CreatedApiKey created = Create(WithRole("team-a"));
  StatusOr<Principal> p = store_->Authenticate(created.secret);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->Allows(Permission::kRead, "a-1"));
  EXPECT_FALSE(p->Allows(Permission::kWrite, "a-1"));

  ASSERT_TRUE(store_->PutRole("team-a", {{"a-*", Permission::kWrite}, {"b", Permission::kRead}}).ok());
  p = store_->Authenticate(created.secret);
  EXPECT_TRUE(p->Allows(Permission::kWrite, "a-1"));
  EXPECT_TRUE(p->Allows(Permission::kRead, "b"));

  ASSERT_TRUE(store_->DeleteRole("team-a").ok());
  p = store_->Authenticate(created.secret);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->grants.empty());
  EXPECT_FALSE(p->Allows(Permission::kRead, "a-1"));
  // A key of a deleted role stays listed; a new role of that name gives it grants again.
  ASSERT_EQ(store_->ListKeys().size(), 1u);
  ASSERT_TRUE(store_->PutRole("team-a", {{"*", Permission::kRead}}).ok());
  EXPECT_TRUE(store_->Authenticate(created.secret)->Allows(Permission::kRead, "z"));
}

TEST_F(SecurityStoreTest, BuiltinRolesAreFixedAndRoleInputIsChecked) {
  for (const char* name : {"admin", "manager", "writer", "reader"}) {
    EXPECT_TRUE(absl::IsFailedPrecondition(store_->PutRole(name, {{"*", Permission::kRead}}).status())) << name;
    EXPECT_TRUE(absl::IsFailedPrecondition(store_->DeleteRole(name))) << name;
  }
  EXPECT_TRUE(absl::IsInvalidArgument(store_->PutRole("Bad Name", {{"*", Permission::kRead}}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->PutRole("r", {{"a*b", Permission::kRead}}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->PutRole("r", {}).status()));
  EXPECT_TRUE(absl::IsNotFound(store_->DeleteRole("nobody")));
  std::vector<Role> roles = store_->ListRoles();
  ASSERT_EQ(roles.size(), 4u);
  EXPECT_EQ(roles[0].name, "admin");
  ASSERT_TRUE(store_->PutRole("custom", {{"x", Permission::kManage}}).ok());
  roles = store_->ListRoles();
  ASSERT_EQ(roles.size(), 5u);
  EXPECT_EQ(roles[4].name, "custom");
  EXPECT_FALSE(roles[4].builtin);
}

TEST_F(SecurityStoreTest, KeySpecsAreChecked) {
  StatusOr<CreatedApiKey> c = store_->CreateKey(WithRole("nobody"));
  ASSERT_TRUE(absl::IsInvalidArgument(c.status()));
  EXPECT_NE(c.status().message().find("role"), std::string::npos);
  ApiKeySpec both = WithRole("reader");
  both.grants = {{"*", Permission::kRead}};
  EXPECT_TRUE(absl::IsInvalidArgument(store_->CreateKey(both).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->CreateKey(ApiKeySpec{}).status()));
  ApiKeySpec bad_collections = WithRole("reader");
  bad_collections.collections = {"ok", "**"};
  c = store_->CreateKey(bad_collections);
  EXPECT_NE(c.status().message().find("collections[1]"), std::string::npos) << c.status();
  ApiKeySpec long_name = WithRole("reader");
  long_name.name = std::string(kMaxKeyNameLength + 1, 'n');
  EXPECT_TRUE(absl::IsInvalidArgument(store_->CreateKey(long_name).status()));
  EXPECT_TRUE(store_->ListKeys().empty());
}

TEST_F(SecurityStoreTest, GrantsAndCollectionLimits) {
  ApiKeySpec spec;
  spec.grants = {{"logs-*", Permission::kWrite}};
  CreatedApiKey own = Create(spec);
  StatusOr<Principal> p = store_->Authenticate(own.secret);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->roles.empty());
  EXPECT_TRUE(p->Allows(Permission::kWrite, "logs-1"));
  EXPECT_FALSE(p->Allows(Permission::kRead, "docs"));

  ApiKeySpec limited = WithRole("admin");
  limited.collections = {"docs", "team-*"};
  p = store_->Authenticate(Create(limited).secret);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->Allows(Permission::kManage, "docs"));
  EXPECT_TRUE(p->Allows(Permission::kManage, "team-x"));
  EXPECT_FALSE(p->Allows(Permission::kRead, "other"));
  EXPECT_FALSE(p->Allows(Permission::kAdmin, std::nullopt));  // not a node-wide admin
}

TEST_F(SecurityStoreTest, CountLimits) {
  SecurityStoreOptions options;
  options.max_keys = 2;
  options.max_roles = 1;
  store_ = Open(options);
  Create(WithRole("reader"));
  Create(WithRole("reader"));
  StatusOr<CreatedApiKey> third = store_->CreateKey(WithRole("reader"));
  ASSERT_TRUE(absl::IsInvalidArgument(third.status()));
  EXPECT_NE(third.status().message().find("revoke"), std::string::npos);
  ASSERT_TRUE(store_->PutRole("one", {{"*", Permission::kRead}}).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(store_->PutRole("two", {{"*", Permission::kRead}}).status()));
  EXPECT_TRUE(store_->PutRole("one", {{"*", Permission::kWrite}}).ok());  // replacing is not adding
}

TEST_F(SecurityStoreTest, SurvivesARestartInAPrivateFile) {
  ASSERT_TRUE(store_->PutRole("team-a", {{"a", Permission::kWrite}}).ok());
  CreatedApiKey created = Create(WithRole("team-a"));
  store_.reset();
  struct stat st {};
  ASSERT_EQ(::stat(StateFile().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_.path() + "/security").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  std::ifstream in(StateFile());
  const std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(contents.find(created.secret), std::string::npos);
  EXPECT_EQ(contents.find(created.secret.substr(21)), std::string::npos);

  store_ = Open();
  StatusOr<Principal> p = store_->Authenticate(created.secret);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->Allows(Permission::kWrite, "a"));
  EXPECT_EQ(store_->ListRoles().size(), 5u);
}

TEST_F(SecurityStoreTest, ADamagedFileStopsTheStartNamingIt) {
  Create(WithRole("reader"));
  store_.reset();
  for (const std::string& damage : {std::string(""), std::string("{\"format\""), std::string("garbage")}) {
    std::ofstream(StateFile(), std::ios::trunc) << damage;
    StatusOr<std::unique_ptr<SecurityStore>> opened = TryOpen();
    ASSERT_TRUE(absl::IsDataLoss(opened.status())) << damage << ": " << opened.status();
    EXPECT_NE(opened.status().message().find(StateFile()), std::string::npos) << opened.status();
  }
}

TEST_F(SecurityStoreTest, AWriteThatCannotBeStoredChangesNothing) {
  CreatedApiKey kept = Create(WithRole("reader"));
  // WriteFileDurably cannot create its temporary file where a directory stands (root ignores modes).
  std::filesystem::create_directory(StateFile() + ".tmp");
  EXPECT_FALSE(store_->CreateKey(WithRole("reader")).ok());
  EXPECT_FALSE(store_->RevokeKey(kept.info.id).ok());
  EXPECT_FALSE(store_->PutRole("r", {{"*", Permission::kRead}}).ok());
  EXPECT_EQ(store_->ListKeys().size(), 1u);
  EXPECT_EQ(store_->ListRoles().size(), 4u);
  EXPECT_TRUE(store_->Authenticate(kept.secret).ok());
  std::filesystem::remove(StateFile() + ".tmp");
  EXPECT_TRUE(store_->RevokeKey(kept.info.id).ok());
}

TEST_F(SecurityStoreTest, ReloadSeesAnotherWritersChanges) {
  std::unique_ptr<SecurityStore> other = Open();
  StatusOr<CreatedApiKey> created = other->CreateKey(WithRole("reader"));
  ASSERT_TRUE(created.ok());
  ExpectRefused(store_->Authenticate(created->secret), "unknown_key");
  ASSERT_TRUE(store_->Reload().ok());
  EXPECT_TRUE(store_->Authenticate(created->secret).ok());
  // A damaged document on reload keeps the current state and is counted.
  std::ofstream(StateFile(), std::ios::trunc) << "{";
  EXPECT_TRUE(absl::IsDataLoss(store_->Reload()));
  EXPECT_EQ(store_->reload_failures(), 1u);
  EXPECT_TRUE(store_->Authenticate(created->secret).ok());
}

TEST_F(SecurityStoreTest, AuthenticationRunsConcurrentlyWithWrites) {
  ASSERT_TRUE(store_->PutRole("flip", {{"a", Permission::kRead}}).ok());
  CreatedApiKey stable = Create(WithRole("flip"));
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::atomic<int> checks{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!done.load()) {
        StatusOr<Principal> p = store_->Authenticate(stable.secret);
        // Either version of the role, never a torn one.
        if (!p.ok() || p->grants.size() != 1 || p->grants[0].collections != "a") failures.fetch_add(1);
        (void)store_->ListKeys();
        checks.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 40; ++i) {
    StatusOr<CreatedApiKey> k = store_->CreateKey(WithRole("reader"));
    ASSERT_TRUE(k.ok());
    ASSERT_TRUE(store_->PutRole("flip", {{"a", i % 2 ? Permission::kRead : Permission::kWrite}}).ok());
    ASSERT_TRUE(store_->RevokeKey(k->info.id).ok());
  }
  while (checks.load() < 100) std::this_thread::yield();  // the readers did run during or after the writes
  done = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store_->ListKeys().size(), 1u);
}

}  // namespace
}  // namespace vj

namespace vj {
namespace {

TEST_F(SecurityStoreTest, TenantsOwnKeysAndTakeThemAlongWhenDeleted) {
  ApiKeySpec spec = WithRole("admin");
  spec.tenant = "acme";
  EXPECT_EQ(store_->CreateKey(spec).status().code(), absl::StatusCode::kInvalidArgument);  // no such tenant
  StatusOr<TenantRecord> acme = store_->CreateTenant(TenantRecord{"acme", {3, 100, 1, 2}, 0});
  ASSERT_TRUE(acme.ok()) << acme.status();
  EXPECT_EQ(acme->created_at, kNow);
  EXPECT_EQ(store_->CreateTenant(TenantRecord{"acme", {}, 0}).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->CreateTenant(TenantRecord{"A", {}, 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->CreateTenant(TenantRecord{"x", {0, 0, -1, 0}, 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  CreatedApiKey tenant_key = Create(spec);
  CreatedApiKey plain_key = Create(WithRole("reader"));
  StatusOr<Principal> p = store_->Authenticate(tenant_key.secret);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->tenant, "acme");
  EXPECT_EQ(store_->Authenticate(plain_key.secret)->tenant, "");

  // The state survives a reopen.
  store_ = Open();
  ASSERT_TRUE(store_->GetTenant("acme").has_value());
  EXPECT_EQ(store_->GetTenant("acme")->quotas, (TenantQuotas{3, 100, 1, 2}));
  EXPECT_EQ(store_->ListTenants().size(), 1u);

  StatusOr<size_t> revoked = store_->DeleteTenant("acme");
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(*revoked, 1u);
  ExpectRefused(store_->Authenticate(tenant_key.secret), "unknown_key");
  EXPECT_TRUE(store_->Authenticate(plain_key.secret).ok());
  EXPECT_FALSE(store_->GetTenant("acme").has_value());
  EXPECT_TRUE(absl::IsNotFound(store_->DeleteTenant("acme").status()));
  store_ = Open();
  EXPECT_TRUE(store_->ListTenants().empty());
}

}  // namespace
}  // namespace vj
