#include "core/datetime.h"

#include <gtest/gtest.h>

namespace vj {
namespace {

TEST(DateTimeTest, ParsesQdrantFormats) {
  EXPECT_EQ(ParseDateTimeMicros("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseDateTimeMicros("1970-01-01"), 0);
  EXPECT_EQ(ParseDateTimeMicros("1970-01-02 00:00"), 86400000000LL);
  EXPECT_EQ(ParseDateTimeMicros("2023-02-08T10:49:00Z"), 1675853340000000LL);
  EXPECT_EQ(ParseDateTimeMicros("2023-02-08T11:49:00+01:00"), 1675853340000000LL);
  EXPECT_EQ(ParseDateTimeMicros("2023-02-08T10:49:00.5Z"), 1675853340500000LL);
  EXPECT_EQ(ParseDateTimeMicros("2023-02-08T10:49:00.123456789Z"), 1675853340123456LL);
  EXPECT_EQ(ParseDateTimeMicros("1969-12-31T23:59:59Z"), -1000000);
  EXPECT_EQ(ParseDateTimeMicros("2024-02-29"), 1709164800000000LL);
}

TEST(DateTimeTest, RefusesMalformedAndImpossible) {
  for (const char* bad : {"", "2023", "2023-13-01", "2023-02-29", "2023-02-08T25:00:00Z", "2023-02-08T10:61",
                          "2023-02-08T10:49:00+1", "2023-02-08T10:49:00.Z", "2023-02-08X", "yesterday",
                          "2023-02-08T10:49:00Zjunk"}) {
    EXPECT_FALSE(ParseDateTimeMicros(bad).has_value()) << bad;
  }
}

TEST(DateTimeTest, FormatReadsBack) {
  for (int64_t micros : {0LL, 1675853340123456LL, -1LL, -86400000001LL, 253402300799999999LL}) {
    EXPECT_EQ(ParseDateTimeMicros(FormatDateTimeMicros(micros)), micros) << FormatDateTimeMicros(micros);
  }
  EXPECT_EQ(FormatDateTimeMicros(1675853340500000LL), "2023-02-08T10:49:00.500000Z");
}

}  // namespace
}  // namespace vj
