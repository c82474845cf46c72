// flowdriftctl's output formats (-o/--output): a command builds one JSON document and prints it
// as JSON, as YAML (the same tree), or as its text for people.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace flowdrift::ctl {

inline constexpr const char* kOutputFormats[] = {"text", "json", "yaml"};

// The document as YAML: maps and lists in block style, and a string that YAML would read as
// something else (a number, a bool, null, empty) double-quoted, so that it reads back as the
// same tree.
std::string yaml_text(const nlohmann::json& doc);

// Prints `doc` in `format` ("json", "yaml", anything else: `text(doc, out)`).
void print_document(std::ostream& out, const nlohmann::json& doc, const std::string& format,
                    const std::function<void(const nlohmann::json&, std::ostream&)>& text);

}  // namespace flowdrift::ctl

namespace flowdrift::ctl {

// Rows as left-aligned columns, each as wide as its widest cell plus one space.
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows);

// The text of the daemon's documents (report/documents.hpp), whether read from a database
// file or from flowdriftd: status, drift, history and applies.
void status_text(const nlohmann::json& doc, std::ostream& out);
void drift_text(const nlohmann::json& doc, std::ostream& out);
void history_text(const nlohmann::json& doc, std::ostream& out);
void applies_text(const nlohmann::json& doc, std::ostream& out);
// The text of an explain document (report/explain.hpp).
std::string explain_text(const nlohmann::json& doc);

}  // namespace flowdrift::ctl
