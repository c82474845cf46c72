// Reply builders and helpers shared by pcsim's request handling files (simulator.cpp,
// writes_v3.cpp, writes_v4.cpp, v4_native.cpp). Not part of the library's interface.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "http/server.hpp"
#include "http/types.hpp"
#include "pcsim/site.hpp"

namespace flowdrift::pcsim::detail {

std::string format_time(std::chrono::system_clock::time_point tp);
http::ServerReply json_reply(int status, std::string body);
// The v3 error envelope {api_version, code, kind, state:"ERROR", message_list:[{reason, message}]};
// an empty reason picks the usual one for the status.
http::ServerReply error_reply(int status, std::string_view kind, std::string_view message,
                              std::string_view reason = {});
http::ServerReply unauthorized_reply();
// "microseg", "prism", "networking", "datapolicies" or "vmm", and the list $objectType, of a v4 endpoint name (list or
// _crud).
std::string_view v4_namespace(std::string_view endpoint);
std::string_view v4_list_type(std::string_view endpoint);
// The AppMessage code of an ordinary failure: MIC-5<status>, CTG-5<status>, NET-5<status>,
// DP-5<status> or VMM-5<status>.
std::string v4_error_code(std::string_view ns, int status);
// A v4 ErrorResponse with one AppMessage (code v4_error_code()), typed as the endpoint's list.
http::ServerReply v4_error_reply(int status, std::string_view endpoint, std::string_view message);
// writes_v4.cpp, for the `_crud` endpoints: an ErrorResponse typed as the method's
// <Verb><Entity>ApiResponse, and the reply of a GET one (object in `data`, ETag header).
http::ServerReply v4_plain_error(int status, std::string_view endpoint, const std::string& method,
                                 std::string_view message);
http::ServerReply v4_get_reply(std::string_view endpoint, const std::string& path,
                               nlohmann::json data, const std::string& etag);
std::string percent_decode(std::string_view in);
// coverage.cpp: whether `endpoint` is one of the v4 coverage lists (v4_vms,
// v4_protection_policies, v4_recovery_plans, v4_recovery_stages), and the $objectType of its
// items ("" for other lists: their envelope has no $dataItemDiscriminator).
bool is_coverage_list(std::string_view endpoint);
std::string_view v4_item_type(std::string_view endpoint);
// A group as the v3 API shows it (writes_v3.cpp) and as a v4 object with extId `id`
// (writes_v4.cpp).
nlohmann::json v3_group_json(const AddressGroup& ag);
nlohmann::json v3_group_json(const ServiceGroup& sg);
nlohmann::json v4_group_object(const std::string& id, const AddressGroup& g);
nlohmann::json v4_group_object(const std::string& id, const ServiceGroup& g);

}  // namespace flowdrift::pcsim::detail
