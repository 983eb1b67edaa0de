#include "adapter/queue_proxy_stat.hpp"

#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <optional>

#include <fmt/format.h>

namespace scale::adapter {
namespace {

// Protobuf wire types (protobuf.dev "Encoding": 0 VARINT, 1 I64, 2 LEN, 3 SGROUP, 4 EGROUP, 5 I32).
enum wire_type : std::uint32_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

std::string_view wire_type_name(std::uint64_t type) {
  switch (type) {
    case 0: return "varint";
    case 1: return "fixed64";
    case 2: return "length-delimited";
    case 3: return "start group";
    case 4: return "end group";
    case 5: return "fixed32";
    default: return "reserved";
  }
}

struct field_info {
  std::string_view name;
  wire_type type;
};

// The fields of `message Stat` with their numbers and wire types (stat.proto: string = LEN, double = I64,
// int64 = VARINT). Index = field number.
constexpr std::array<field_info, 8> stat_fields{{
    {"", varint},
    {"pod_name", length_delimited},
    {"average_concurrent_requests", fixed64},
    {"average_proxied_concurrent_requests", fixed64},
    {"request_count", fixed64},
    {"proxied_request_count", fixed64},
    {"process_uptime", fixed64},
    {"timestamp", varint},
}};

class reader {
 public:
  explicit reader(std::string_view bytes) : bytes_(bytes) {}

  bool done() const { return at_ == bytes_.size(); }
  std::size_t at() const { return at_; }
  std::size_t left() const { return bytes_.size() - at_; }

  // Base-128 little-endian varint of at most 10 bytes; the 10th byte may only hold the 64th bit.
  result<std::uint64_t> read_varint(std::string_view what) {
    const std::size_t start = at_;
    std::uint64_t value = 0;
    for (int i = 0; i < 10; ++i) {
      if (at_ == bytes_.size()) {
        return error{fmt::format("stat: {} truncated: varint at byte {} ends at byte {}", what, start, at_)};
      }
      const auto byte = static_cast<std::uint8_t>(bytes_[at_++]);
      if (i == 9 && (byte & 0x80) != 0) {
        return error{fmt::format("stat: {}: varint at byte {} is longer than 10 bytes", what, start)};
      }
      if (i == 9 && byte > 1) {
        return error{fmt::format("stat: {}: varint at byte {} overflows 64 bits", what, start)};
      }
      value |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
      if ((byte & 0x80) == 0) return value;
    }
    // Not reached: the 10th byte either ends the varint or fails above.
    return error{fmt::format("stat: {}: varint at byte {} is longer than 10 bytes", what, start)};
  }

  // `count` raw bytes, or an error naming what they were for.
  result<std::string_view> read_bytes(std::uint64_t count, std::string_view what) {
    if (count > left()) {
      return error{fmt::format("stat: {} truncated at byte {}: needs {} bytes, {} left", what, at_, count, left())};
    }
    const std::string_view out = bytes_.substr(at_, static_cast<std::size_t>(count));
    at_ += static_cast<std::size_t>(count);
    return out;
  }

 private:
  std::string_view bytes_;
  std::size_t at_ = 0;
};

double little_endian_double(std::string_view eight) {
  std::uint64_t bits = 0;
  for (std::size_t i = 0; i < 8; ++i) bits |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(eight[i])) << (8 * i);
  return std::bit_cast<double>(bits);
}

void put_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void put_double(std::string& out, std::uint32_t field, double value) {
  // proto3 leaves a scalar at its default out; -0.0 is not the default (its bits differ), as in Go's protobuf.
  const auto bits = std::bit_cast<std::uint64_t>(value);
  if (bits == 0) return;
  put_varint(out, (static_cast<std::uint64_t>(field) << 3) | fixed64);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

}  // namespace

result<stat_message> decode_stat(std::string_view bytes) {
  stat_message stat;
  reader in(bytes);
  while (!in.done()) {
    const std::size_t key_at = in.at();
    const auto key = in.read_varint("field key");
    if (!key) return key.error_value();
    const std::uint64_t number = *key >> 3;
    const std::uint64_t type = *key & 7;
    if (number == 0) return error{fmt::format("stat: field number 0 at byte {} is invalid", key_at)};
    // Field numbers are at most 2^29 − 1 (protobuf.dev "Language Guide": field numbers).
    if (number > 536870911) {
      return error{fmt::format("stat: field number {} at byte {} is above 536870911", number, key_at)};
    }
    if (type == 3 || type == 4 || type > 5) {
      return error{fmt::format("stat: field {} at byte {} has wire type {} ({}), which proto3 does not use", number,
                               key_at, type, wire_type_name(type))};
    }
    if (number < stat_fields.size()) {
      const field_info& field = stat_fields[number];
      const std::string what = fmt::format("field {} ({}) at byte {}", field.name, number, key_at);
      if (type != field.type) {
        return error{fmt::format("stat: {} has wire type {} ({}), expected {} ({})", what, type, wire_type_name(type),
                                 static_cast<std::uint32_t>(field.type), wire_type_name(field.type))};
      }
      if (number == 1) {
        const auto length = in.read_varint(what);
        if (!length) return length.error_value();
        const auto text = in.read_bytes(*length, what);
        if (!text) return text.error_value();
        stat.pod_name = std::string(*text);
      } else if (number == 7) {
        const auto value = in.read_varint(what);
        if (!value) return value.error_value();
        // int64 travels as its two's complement bit pattern.
        stat.timestamp = static_cast<std::int64_t>(*value);
      } else {
        const auto eight = in.read_bytes(8, what);
        if (!eight) return eight.error_value();
        const double value = little_endian_double(*eight);
        // Counts and averages are never negative; NaN or infinity would poison every window they enter.
        if (!std::isfinite(value) || value < 0) {
          return error{fmt::format("stat: {} is {}, expected a finite number >= 0", what, value)};
        }
        switch (number) {
          case 2: stat.average_concurrent_requests = value; break;
          case 3: stat.average_proxied_concurrent_requests = value; break;
          case 4: stat.request_count = value; break;
          case 5: stat.proxied_request_count = value; break;
          default: stat.process_uptime = value; break;
        }
      }
      continue;
    }
    // An unknown field (a newer queue-proxy): skip it by its wire type.
    const std::string what = fmt::format("unknown field {} at byte {}", number, key_at);
    switch (type) {
      case varint: {
        const auto skipped = in.read_varint(what);
        if (!skipped) return skipped.error_value();
        break;
      }
      case fixed64: {
        const auto skipped = in.read_bytes(8, what);
        if (!skipped) return skipped.error_value();
        break;
      }
      case fixed32: {
        const auto skipped = in.read_bytes(4, what);
        if (!skipped) return skipped.error_value();
        break;
      }
      default: {
        const auto length = in.read_varint(what);
        if (!length) return length.error_value();
        const auto skipped = in.read_bytes(*length, what);
        if (!skipped) return skipped.error_value();
        break;
      }
    }
  }
  return stat;
}

std::string encode_stat(const stat_message& stat) {
  std::string out;
  if (!stat.pod_name.empty()) {
    put_varint(out, (1u << 3) | length_delimited);
    put_varint(out, stat.pod_name.size());
    out += stat.pod_name;
  }
  put_double(out, 2, stat.average_concurrent_requests);
  put_double(out, 3, stat.average_proxied_concurrent_requests);
  put_double(out, 4, stat.request_count);
  put_double(out, 5, stat.proxied_request_count);
  put_double(out, 6, stat.process_uptime);
  if (stat.timestamp != 0) {
    put_varint(out, (7u << 3) | varint);
    put_varint(out, static_cast<std::uint64_t>(stat.timestamp));
  }
  return out;
}

pod_stat to_pod_stat(const stat_message& stat) {
  return pod_stat{.average_concurrency = stat.average_concurrent_requests,
                  .average_proxied_concurrency = stat.average_proxied_concurrent_requests,
                  .request_count = stat.request_count,
                  .proxied_request_count = stat.proxied_request_count};
}

}  // namespace scale::adapter
