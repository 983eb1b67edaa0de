#include "adapter/queue_proxy_stat.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <libscale/metric_collector.hpp>

using namespace std::chrono_literals;
using scale::adapter::decode_stat;
using scale::adapter::encode_stat;
using scale::adapter::stat_message;

namespace {

// Builds a byte string from byte values, so test inputs read like a hex dump.
std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (const int v : values) out.push_back(static_cast<char>(v));
  return out;
}

// Keys: (field number << 3) | wire type, with wire types 0 varint, 1 fixed64, 2 length-delimited (protobuf.dev
// "Encoding"). stat.proto: 1 pod_name string, 2–6 double, 7 timestamp int64.
constexpr int key_pod_name = 0x0a;    // 1 << 3 | 2
constexpr int key_average = 0x11;     // 2 << 3 | 1
constexpr int key_proxied = 0x19;     // 3 << 3 | 1
constexpr int key_requests = 0x21;    // 4 << 3 | 1
constexpr int key_proxied_rc = 0x29;  // 5 << 3 | 1
constexpr int key_uptime = 0x31;      // 6 << 3 | 1
constexpr int key_timestamp = 0x38;   // 7 << 3 | 0

// IEEE 754 doubles, little-endian. 2.5 = 1.25·2^1: sign 0, exponent 1023+1 = 0x400, mantissa .25 = 0x4000000000000
// → 0x4004000000000000. 0.5 = 2^-1 → exponent 0x3fe → 0x3fe0000000000000. 10 = 1.25·2^3 → 0x4024000000000000.
// 1 → 0x3ff0000000000000. 100 = 1.5625·2^6 → exponent 0x405, mantissa .5625 = 0x9000000000000 → 0x4059000000000000.
// -1 → sign bit set: 0xbff0000000000000. NaN (quiet) 0x7ff8000000000000. +inf 0x7ff0000000000000.
const std::string d_2_5 = bytes({0, 0, 0, 0, 0, 0, 0x04, 0x40});
const std::string d_0_5 = bytes({0, 0, 0, 0, 0, 0, 0xe0, 0x3f});
const std::string d_10 = bytes({0, 0, 0, 0, 0, 0, 0x24, 0x40});
const std::string d_1 = bytes({0, 0, 0, 0, 0, 0, 0xf0, 0x3f});
const std::string d_100 = bytes({0, 0, 0, 0, 0, 0, 0x59, 0x40});
const std::string d_minus_1 = bytes({0, 0, 0, 0, 0, 0, 0xf0, 0xbf});
const std::string d_nan = bytes({0, 0, 0, 0, 0, 0, 0xf8, 0x7f});
const std::string d_inf = bytes({0, 0, 0, 0, 0, 0, 0xf0, 0x7f});

// 1700000000 = 0x6553f100; 7-bit groups from the low end: 0x00, 0x62, 0x4f, 0x2a, 0x06 → 80 e2 cf aa 06.
const std::string v_1700000000 = bytes({0x80, 0xe2, 0xcf, 0xaa, 0x06});

// pod "p1", 2.5 average, 0.5 proxied, 10 rps, 1 proxied rps, 100 s uptime, timestamp 1700000000.
const std::string full = bytes({key_pod_name, 2, 'p', '1'}) + bytes({key_average}) + d_2_5 + bytes({key_proxied}) +
                         d_0_5 + bytes({key_requests}) + d_10 + bytes({key_proxied_rc}) + d_1 + bytes({key_uptime}) +
                         d_100 + bytes({key_timestamp}) + v_1700000000;
const stat_message full_stat{.pod_name = "p1",
                             .average_concurrent_requests = 2.5,
                             .average_proxied_concurrent_requests = 0.5,
                             .request_count = 10,
                             .proxied_request_count = 1,
                             .process_uptime = 100,
                             .timestamp = 1700000000};

}  // namespace

TEST_CASE("decode_stat reads hand-built messages") {
  struct test_case {
    std::string name;
    std::string input;
    stat_message want;
  };
  const std::vector<test_case> cases = {
      {"empty input is the default message (proto3)", "", stat_message{}},
      {"every field", full, full_stat},
      {"fields in any order", bytes({key_requests}) + d_10 + bytes({key_pod_name, 1, 'x'}),
       stat_message{.pod_name = "x", .request_count = 10}},
      {"a repeated scalar keeps the last value", bytes({key_average}) + d_10 + bytes({key_average}) + d_1,
       stat_message{.average_concurrent_requests = 1}},
      // Unknown fields: 8 varint 150 (96 01), 9 fixed32, 10 length-delimited "abc", 11 fixed64, 16 varint (key
      // 16 << 3 = 128 → 80 01, a two-byte key).
      {"unknown fields are skipped by wire type",
       bytes({0x40, 0x96, 0x01, 0x4d, 1, 2, 3, 4, 0x52, 3, 'a', 'b', 'c', 0x59}) + d_100 +
           bytes({0x80, 0x01, 0x05, key_average}) + d_1,
       stat_message{.average_concurrent_requests = 1}},
      // int64 −1 is 2^64 − 1 as a varint: nine ff bytes and 01.
      {"negative timestamp", bytes({key_timestamp, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}),
       stat_message{.timestamp = -1}},
      {"empty pod name", bytes({key_pod_name, 0}), stat_message{}},
      // A varint may carry redundant continuation bytes: 81 80 00 is 1.
      {"padded varint", bytes({key_timestamp, 0x81, 0x80, 0x00}), stat_message{.timestamp = 1}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto got = decode_stat(c.input);
    REQUIRE_MESSAGE(got.has_value(), got.error_value().message);
    CHECK(*got == c.want);
  }
}

TEST_CASE("decode_stat rejects malformed input naming field and offset") {
  struct test_case {
    std::string name;
    std::string input;
    std::string want;
  };
  const std::vector<test_case> cases = {
      {"truncated double", bytes({key_average, 0, 0}),
       "stat: field average_concurrent_requests (2) at byte 0 truncated at byte 1: needs 8 bytes, 2 left"},
      {"truncated double after a good field", bytes({key_average}) + d_1 + bytes({key_requests, 0}),
       "stat: field request_count (4) at byte 9 truncated at byte 10: needs 8 bytes, 1 left"},
      {"truncated key", bytes({0x80}), "stat: field key truncated: varint at byte 0 ends at byte 1"},
      {"truncated string length", bytes({key_pod_name}),
       "stat: field pod_name (1) at byte 0 truncated: varint at byte 1 ends at byte 1"},
      {"truncated string", bytes({key_pod_name, 5, 'a'}),
       "stat: field pod_name (1) at byte 0 truncated at byte 2: needs 5 bytes, 1 left"},
      {"string length 2^64 - 1", bytes({key_pod_name, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}),
       "stat: field pod_name (1) at byte 0 truncated at byte 11: needs 18446744073709551615 bytes, 0 left"},
      {"truncated timestamp", bytes({key_timestamp, 0x80, 0x80}),
       "stat: field timestamp (7) at byte 0 truncated: varint at byte 1 ends at byte 3"},
      {"truncated unknown field", bytes({0x5a, 5, 'a'}),
       "stat: unknown field 11 at byte 0 truncated at byte 2: needs 5 bytes, 1 left"},
      {"truncated unknown fixed32", bytes({0x4d, 1, 2}),
       "stat: unknown field 9 at byte 0 truncated at byte 1: needs 4 bytes, 2 left"},
      {"double sent as varint", bytes({0x10, 0x01}),
       "stat: field average_concurrent_requests (2) at byte 0 has wire type 0 (varint), expected 1 (fixed64)"},
      {"timestamp sent as fixed64", bytes({0x39}) + d_1,
       "stat: field timestamp (7) at byte 0 has wire type 1 (fixed64), expected 0 (varint)"},
      {"pod name sent as fixed32", bytes({0x0d, 1, 2, 3, 4}),
       "stat: field pod_name (1) at byte 0 has wire type 5 (fixed32), expected 2 (length-delimited)"},
      {"varint longer than 10 bytes",
       bytes({key_timestamp, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}),
       "stat: field timestamp (7) at byte 0: varint at byte 1 is longer than 10 bytes"},
      // The 10th byte holds bit 63 only; 02 would be bit 64.
      {"varint over 64 bits", bytes({key_timestamp, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}),
       "stat: field timestamp (7) at byte 0: varint at byte 1 overflows 64 bits"},
      {"field number 0", bytes({0x00, 0x01}), "stat: field number 0 at byte 0 is invalid"},
      // Key 2^32 (field 2^29, varint 80 80 80 80 10): one past the largest field number.
      {"field number 2^29", bytes({0x80, 0x80, 0x80, 0x80, 0x10, 0x00}),
       "stat: field number 536870912 at byte 0 is above 536870911"},
      {"group wire type", bytes({0x0b}), "stat: field 1 at byte 0 has wire type 3 (start group), which proto3 does not use"},
      {"end group wire type", bytes({0x44}),
       "stat: field 8 at byte 0 has wire type 4 (end group), which proto3 does not use"},
      {"reserved wire type", bytes({0x0e}), "stat: field 1 at byte 0 has wire type 6 (reserved), which proto3 does not use"},
      {"NaN count", bytes({key_requests}) + d_nan,
       "stat: field request_count (4) at byte 0 is nan, expected a finite number >= 0"},
      {"negative count", bytes({key_pod_name, 1, 'x', key_proxied_rc}) + d_minus_1,
       "stat: field proxied_request_count (5) at byte 3 is -1, expected a finite number >= 0"},
      {"infinite uptime", bytes({key_uptime}) + d_inf,
       "stat: field process_uptime (6) at byte 0 is inf, expected a finite number >= 0"},
      {"negative concurrency", bytes({key_proxied}) + d_minus_1,
       "stat: field average_proxied_concurrent_requests (3) at byte 0 is -1, expected a finite number >= 0"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto got = decode_stat(c.input);
    REQUIRE_FALSE(got.has_value());
    CHECK(got.error_value().message == c.want);
  }
}

TEST_CASE("encode_stat writes fields in number order and leaves defaults out") {
  CHECK(encode_stat(full_stat) == full);
  CHECK(encode_stat(stat_message{}).empty());
  CHECK(encode_stat(stat_message{.request_count = 1}) == bytes({key_requests}) + d_1);
}

TEST_CASE("encode_stat then decode_stat gives the message back") {
  const std::vector<stat_message> cases = {
      stat_message{},
      full_stat,
      stat_message{.pod_name = std::string(300, 'a'), .average_concurrent_requests = 1e-300},
      stat_message{.pod_name = "hello-00001-deployment-7d4b9c-xk2p9", .request_count = 0.1, .timestamp = -5},
      stat_message{.average_proxied_concurrent_requests = 1.7976931348623157e308,
                   .timestamp = 9223372036854775807},
      stat_message{.proxied_request_count = 4.9e-324, .timestamp = -9223372036854775807 - 1},
  };
  for (const auto& want : cases) {
    CAPTURE(want.pod_name);
    CAPTURE(want.timestamp);
    const auto got = decode_stat(encode_stat(want));
    REQUIRE_MESSAGE(got.has_value(), got.error_value().message);
    CHECK(*got == want);
  }
}

TEST_CASE("to_pod_stat keeps the four request fields and the collector subtracts the proxied part") {
  const scale::pod_stat stat = scale::adapter::to_pod_stat(full_stat);
  CHECK(stat == scale::pod_stat{.average_concurrency = 2.5,
                                .average_proxied_concurrency = 0.5,
                                .request_count = 10,
                                .proxied_request_count = 1});
  // cluster-adapter.md §5 "What the autoscaler uses": concurrency 2.5 − 0.5 = 2, rps 10 − 1 = 9, each
  // subtracted once (by metric_collection::record, Knative collection.record).
  scale::metric_collection windows(60s, 6s);
  windows.record(scale::at(1000s), stat);
  CHECK(windows.stable_and_panic(scale::at(1000s), scale::scaling_metric::concurrency) ==
        scale::observed_values{2, 2});
  CHECK(windows.stable_and_panic(scale::at(1000s), scale::scaling_metric::rps) == scale::observed_values{9, 9});
}
