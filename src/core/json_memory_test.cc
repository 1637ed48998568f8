#include "core/json_memory.h"

#include <string>

#include "core/http_status.h"
#include "core/payload.h"
#include "gtest/gtest.h"

namespace vj {
namespace {

// "[0,0,...,0]": two bytes of text per value, 16 bytes of tree (and as much again of parser stack).
std::string TinyValues(size_t n) {
  std::string text = "[";
  for (size_t i = 0; i < n; ++i) text += i == 0 ? "0" : ",0";
  return text + "]";
}

TEST(JsonBodyMemoryTest, ChargesTheTreeAndReturnsItAtClose) {
  ByteBudget budget(64 << 20);
  const std::string text = TinyValues(100'000);
  {
    JsonBodyMemory memory(budget, text.size());
    StatusOr<boost::json::value> v = ParseJson(text, 8, &memory);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(v->as_array().size(), 100'000u);
    // The tree alone is 16 bytes a value; the charge covers it (and the parser's stack, freed since).
    EXPECT_GE(memory.allocated(), 100'000u * sizeof(boost::json::value));
    EXPECT_GE(memory.charged(), memory.allocated());
    EXPECT_EQ(budget.used(), memory.charged());
    memory.Close();
    EXPECT_EQ(budget.used(), 0u);
    // What outlives the request (moved into longer-lived state) is no longer charged.
    v->as_array().resize(400'000);
    EXPECT_EQ(budget.used(), 0u);
  }
  EXPECT_EQ(budget.used(), 0u);
}

TEST(JsonBodyMemoryTest, ABodyWhoseTreeIsOverTheWholeBudgetIsTooLarge) {
  ByteBudget budget(4 << 20);
  const std::string text = TinyValues(1'000'000);  // 2 MB of text, 16 MB of tree
  ByteBudget::Reservation body;
  ASSERT_TRUE(budget.TryReserve(text.size(), &body));
  JsonBodyMemory memory(budget, text.size());
  StatusOr<boost::json::value> v = ParseJson(text, 8, &memory);
  ASSERT_FALSE(v.ok());
  EXPECT_TRUE(IsTooLarge(v.status())) << v.status();
  EXPECT_NE(std::string(v.status().message()).find("http.max_buffered_body_bytes"), std::string::npos);
  memory.Close();
  EXPECT_EQ(budget.used(), text.size());
}

TEST(JsonBodyMemoryTest, ABodyThatFitsAloneWaitsForOthersToFinish) {
  ByteBudget budget(32 << 20);
  ByteBudget::Reservation others;
  ASSERT_TRUE(budget.TryReserve(30 << 20, &others));
  const std::string text = TinyValues(500'000);  // 1 MB of text, 8 MB of tree
  {
    JsonBodyMemory memory(budget, text.size());
    StatusOr<boost::json::value> v = ParseJson(text, 8, &memory);
    ASSERT_FALSE(v.ok());
    EXPECT_TRUE(absl::IsUnavailable(v.status())) << v.status();
  }
  EXPECT_EQ(budget.used(), size_t{30} << 20);
  others.Release();
  JsonBodyMemory memory(budget, text.size());
  StatusOr<boost::json::value> v = ParseJson(text, 8, &memory);
  ASSERT_TRUE(v.ok()) << v.status();
  // Malformed JSON is still a 400, as without a budget.
  JsonBodyMemory bad(budget, 3);
  EXPECT_TRUE(absl::IsInvalidArgument(ParseJson("[1,", 8, &bad).status()));
}

}  // namespace
}  // namespace vj
