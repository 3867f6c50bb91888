// Connection strings (DSNs) and the secrets they carry. Accepts everything libpq accepts with
// expand_dbname: `key=value` conninfo, `postgresql://` / `postgres://` URIs, or a bare database
// name. Parsing uses libpq's own PQconninfoParse but opens no connection.
//
// Rule: a password never appears in an error message or a log line. Show a DSN only through
// redact_dsn(); pass every message that may echo DSN text through scrub_secret() or
// scrub_known_secrets().
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace syncset::db {

struct DsnParam {
    std::string key;
    std::string value;

    friend bool operator==(const DsnParam&, const DsnParam&) = default;
};

// The keys a DSN sets, decoded (URI percent-escapes and conninfo quoting undone).
// Throws Error(ErrorCode::config) when libpq cannot parse it; the message holds no secret.
std::vector<DsnParam> parse_dsn(std::string_view dsn);

// Display form: `host=... port=... dbname=... user=...` (plus `service=...` when used), and
// nothing else. "<invalid dsn>" when the DSN cannot be parsed, "<libpq defaults>" when it sets
// none of these keys. Never contains a password.
std::string redact_dsn(std::string_view dsn);

// `key='value' ...` conninfo text for the parameters, values quoted and escaped for libpq.
std::string format_conninfo(std::span<const DsnParam> params);

// The DSN rewritten as conninfo text: `defaults` apply to keys the DSN does not set, `overrides`
// replace whatever the DSN says. Throws Error(ErrorCode::config) like parse_dsn.
std::string rewrite_dsn(std::string_view dsn, std::span<const DsnParam> defaults,
                        std::span<const DsnParam> overrides);

// Every secret value (password, sslpassword) in the DSN, both decoded and as written, found even
// when the DSN does not parse. Empty values are left out.
std::vector<std::string> find_dsn_secrets(std::string_view dsn);

// `message` with every occurrence of each secret replaced by `***`.
std::string scrub_values(std::string_view message, std::span<const std::string> secrets);

// `message` with every password found in `dsn` replaced by `***`.
std::string scrub_secret(std::string_view message, std::string_view dsn);

// Process-wide list of secrets seen in opened DSNs, so that messages built far from the DSN can
// still be scrubbed (defense in depth). Thread-safe. Connection::open and open_pqxx remember their
// DSN's secrets; log sinks may call scrub_known_secrets() on every line.
void remember_dsn_secrets(std::string_view dsn);
void remember_secret(std::string_view secret);
std::string scrub_known_secrets(std::string_view message);

}  // namespace syncset::db
