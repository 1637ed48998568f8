#include "core/crc32c.h"

#include <gtest/gtest.h>

#include <string>

namespace vj {
namespace {

TEST(Crc32cTest, KnownValuesAndIncrementalUse) {
  EXPECT_EQ(Crc32c(std::string_view("123456789")), 0xE3069283u);  // the standard check value
  EXPECT_EQ(Crc32c(std::string_view("")), 0u);
  std::string data(1000, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31);
  uint32_t running = 0xFFFFFFFFu;
  running = ExtendCrc32c(running, data.data(), 333);
  running = ExtendCrc32c(running, data.data() + 333, data.size() - 333);
  EXPECT_EQ(~running, Crc32c(data));
}

}  // namespace
}  // namespace vj
