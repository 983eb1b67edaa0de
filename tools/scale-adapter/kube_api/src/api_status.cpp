#include <kube/api_status.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace scale::kube {
namespace {

using json = nlohmann::json;

// A string member, "" when absent; an error when present with another type.
bool read_string(const json& object, const char* key, std::string& out) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return true;
  if (!it->is_string()) return false;
  out = it->get<std::string>();
  return true;
}

// The first `limit` bytes of a body, printable ASCII only, for an error message.
std::string excerpt(std::string_view body, std::size_t limit = 120) {
  std::string out;
  for (const char c : body.substr(0, limit)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (body.size() > limit) out += "...";
  return out;
}

}  // namespace

result<api_status> parse_status(std::string_view text) {
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return error{"status: body is not valid JSON"};
  if (!doc.is_object()) return error{"status: body is not a JSON object"};
  const auto kind = doc.find("kind");
  if (kind == doc.end() || !kind->is_string() || *kind != "Status")
    return error{"status: kind is not \"Status\""};
  api_status out;
  const auto code = doc.find("code");
  if (code != doc.end()) {
    if (!code->is_number_integer()) return error{"status: code is not an integer"};
    const auto value = code->get<std::int64_t>();
    if (value < 0 || value > 999) return error{fmt::format("status: code = {}, must be in [0, 999] range", value)};
    out.code = static_cast<int>(value);
  }
  if (!read_string(doc, "status", out.status)) return error{"status: status is not a string"};
  if (!read_string(doc, "reason", out.reason)) return error{"status: reason is not a string"};
  if (!read_string(doc, "message", out.message)) return error{"status: message is not a string"};
  const auto details = doc.find("details");
  if (details != doc.end() && !details->is_null()) {
    if (!details->is_object()) return error{"status: details is not an object"};
    if (!read_string(*details, "name", out.details_name)) return error{"status: details.name is not a string"};
    if (!read_string(*details, "kind", out.details_kind)) return error{"status: details.kind is not a string"};
    const auto causes = details->find("causes");
    if (causes != details->end() && !causes->is_null()) {
      if (!causes->is_array()) return error{"status: details.causes is not an array"};
      for (std::size_t i = 0; i < causes->size(); ++i) {
        const json& c = (*causes)[i];
        status_cause cause;
        if (!c.is_object() || !read_string(c, "field", cause.field) || !read_string(c, "reason", cause.reason) ||
            !read_string(c, "message", cause.message))
          return error{fmt::format("status: details.causes[{}] is not an object of strings", i)};
        out.causes.push_back(std::move(cause));
      }
    }
  }
  return out;
}

api_error make_api_error(std::string_view what, int http_status, std::string_view body, std::string_view audit_id) {
  api_error out;
  out.code = http_status;
  out.audit_id = std::string(audit_id);
  const std::string audit = audit_id.empty() ? std::string{} : fmt::format(" (audit-id {})", excerpt(audit_id, 64));
  if (auto status = parse_status(body)) {
    out.reason = status->reason;
    out.causes = status->causes;
    std::string fields;
    for (const auto& cause : status->causes)
      if (!cause.field.empty()) fields += (fields.empty() ? " [field " : ", ") + excerpt(cause.field, 80);
    if (!fields.empty()) fields += "]";
    out.message = fmt::format("{}: {} {}: {}{}{}", what, http_status, status->reason.empty() ? "-" : status->reason,
                              excerpt(status->message, 300), fields, audit);
  } else {
    out.message = fmt::format("{}: {} with a body that is not a Status object: \"{}\"{}", what, http_status,
                              excerpt(body), audit);
  }
  return out;
}

}  // namespace scale::kube
