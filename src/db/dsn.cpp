#include "syncset/db/dsn.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <mutex>

#include "syncset/error.hpp"
#include "syncset/text.hpp"

namespace syncset::db {

namespace {

constexpr std::string_view k_redacted = "***";
constexpr std::array<std::string_view, 2> k_secret_keys{"password", "sslpassword"};
constexpr std::array<std::string_view, 5> k_display_keys{"host", "port", "dbname", "user",
                                                         "service"};

bool is_secret_key(std::string_view key) {
    return std::find(k_secret_keys.begin(), k_secret_keys.end(), key) != k_secret_keys.end();
}

std::size_t uri_prefix_length(std::string_view dsn) {
    for (const std::string_view prefix : {"postgresql://", "postgres://"}) {
        if (dsn.starts_with(prefix)) {
            return prefix.size();
        }
    }
    return 0;
}

// Same test as libpq's expand_dbname: a URI, or text containing `=`; else a database name.
bool is_connection_string(std::string_view dsn) {
    return uri_prefix_length(dsn) != 0 || dsn.find('=') != std::string_view::npos;
}

struct ConninfoDeleter {
    void operator()(PQconninfoOption* options) const noexcept { PQconninfoFree(options); }
};

struct PqFreeDeleter {
    void operator()(char* text) const noexcept { PQfreemem(text); }
};

std::string trim_trailing_space(std::string text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) {
        text.pop_back();
    }
    return text;
}

std::string percent_decode(std::string_view text) {
    std::string decoded;
    decoded.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            const int high = hex_digit(text[i + 1]);
            const int low = hex_digit(text[i + 2]);
            if (high >= 0 && low >= 0) {
                decoded.push_back(static_cast<char>(high * 16 + low));
                i += 2;
                continue;
            }
        }
        decoded.push_back(text[i]);
    }
    return decoded;
}

void add_secret(std::vector<std::string>& secrets, std::string_view secret) {
    if (!secret.empty() && std::find(secrets.begin(), secrets.end(), secret) == secrets.end()) {
        secrets.emplace_back(secret);
    }
}

// Password in the userinfo (`user:password@`) and password query parameters of a URI.
void add_uri_secrets(std::string_view dsn, std::vector<std::string>& secrets) {
    const std::string_view rest = dsn.substr(uri_prefix_length(dsn));
    const std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        const std::string_view userinfo = authority.substr(0, at);
        if (const auto colon = userinfo.find(':'); colon != std::string_view::npos) {
            add_secret(secrets, userinfo.substr(colon + 1));
            add_secret(secrets, percent_decode(userinfo.substr(colon + 1)));
        }
    }
    const auto question = rest.find('?');
    if (question == std::string_view::npos) {
        return;
    }
    std::string_view query = rest.substr(question + 1);
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        if (const auto eq = pair.find('='); eq != std::string_view::npos) {
            if (is_secret_key(percent_decode(pair.substr(0, eq)))) {
                add_secret(secrets, pair.substr(eq + 1));
                add_secret(secrets, percent_decode(pair.substr(eq + 1)));
            }
        }
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    }
}

// Values of `password = ...` / `sslpassword = ...` in conninfo text, quoted or not, found by a
// lenient scan that also works on text libpq rejects.
void add_conninfo_secrets(std::string_view dsn, std::vector<std::string>& secrets) {
    const auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    for (std::size_t pos = dsn.find("password"); pos != std::string_view::npos;
         pos = dsn.find("password", pos + 1)) {
        std::size_t i = pos + std::string_view("password").size();
        while (i < dsn.size() && is_space(dsn[i])) {
            ++i;
        }
        if (i >= dsn.size() || dsn[i] != '=') {
            continue;
        }
        ++i;
        while (i < dsn.size() && is_space(dsn[i])) {
            ++i;
        }
        const bool quoted = i < dsn.size() && dsn[i] == '\'';
        if (quoted) {
            ++i;
        }
        const std::size_t start = i;
        std::string unescaped;
        for (; i < dsn.size(); ++i) {
            const char c = dsn[i];
            if (quoted ? c == '\'' : is_space(c)) {
                break;
            }
            if (c == '\\' && i + 1 < dsn.size()) {
                ++i;
            }
            unescaped.push_back(dsn[i]);
        }
        add_secret(secrets, dsn.substr(start, i - start));
        add_secret(secrets, unescaped);
    }
}

// Value quoted for conninfo when needed (always when `always` is set).
std::string conninfo_value(std::string_view value, bool always) {
    const bool needs_quotes =
        always || value.empty() || value.find_first_of(" \t\n\r\f\v'\\") != std::string_view::npos;
    if (!needs_quotes) {
        return std::string(value);
    }
    std::string quoted = "'";
    for (const char c : value) {
        if (c == '\'' || c == '\\') {
            quoted.push_back('\\');
        }
        quoted.push_back(c);
    }
    quoted.push_back('\'');
    return quoted;
}

struct SecretRegistry {
    std::mutex mutex;
    std::vector<std::string> secrets;
};

SecretRegistry& secret_registry() {
    static SecretRegistry registry;
    return registry;
}

}  // namespace

std::vector<DsnParam> parse_dsn(std::string_view dsn) {
    if (dsn.empty()) {
        return {};
    }
    if (!is_connection_string(dsn)) {
        return {DsnParam{"dbname", std::string(dsn)}};
    }
    const std::string text(dsn);
    char* raw_error = nullptr;
    const std::unique_ptr<PQconninfoOption, ConninfoDeleter> options(
        PQconninfoParse(text.c_str(), &raw_error));
    const std::unique_ptr<char, PqFreeDeleter> error(raw_error);
    if (!options) {
        const std::string cause =
            error ? trim_trailing_space(error.get()) : std::string("out of memory");
        throw Error(ErrorCode::config, "invalid connection string: " + scrub_secret(cause, dsn),
                    false, "use key=value pairs or a postgresql:// URI, as libpq documents");
    }
    std::vector<DsnParam> params;
    for (const PQconninfoOption* option = options.get(); option->keyword != nullptr; ++option) {
        if (option->val != nullptr) {
            params.push_back(DsnParam{option->keyword, option->val});
        }
    }
    return params;
}

std::string redact_dsn(std::string_view dsn) {
    std::vector<DsnParam> params;
    try {
        params = parse_dsn(dsn);
    } catch (const Error&) {
        return "<invalid dsn>";
    }
    std::string shown;
    for (const auto key : k_display_keys) {
        const auto it = std::find_if(params.begin(), params.end(),
                                     [&](const DsnParam& p) { return p.key == key; });
        if (it == params.end() || it->value.empty()) {
            continue;
        }
        if (!shown.empty()) {
            shown += ' ';
        }
        shown += std::string(key) + "=" + conninfo_value(it->value, false);
    }
    return shown.empty() ? "<libpq defaults>" : shown;
}

std::string format_conninfo(std::span<const DsnParam> params) {
    std::string conninfo;
    for (const auto& param : params) {
        if (!conninfo.empty()) {
            conninfo += ' ';
        }
        conninfo += param.key + "=" + conninfo_value(param.value, true);
    }
    return conninfo;
}

std::string rewrite_dsn(std::string_view dsn, std::span<const DsnParam> defaults,
                        std::span<const DsnParam> overrides) {
    std::vector<DsnParam> params = parse_dsn(dsn);
    const auto set = [&params](const DsnParam& param, bool replace) {
        const auto it = std::find_if(params.begin(), params.end(),
                                     [&](const DsnParam& p) { return p.key == param.key; });
        if (it == params.end()) {
            params.push_back(param);
        } else if (replace) {
            it->value = param.value;
        }
    };
    for (const auto& param : defaults) {
        set(param, false);
    }
    for (const auto& param : overrides) {
        set(param, true);
    }
    return format_conninfo(params);
}

std::vector<std::string> find_dsn_secrets(std::string_view dsn) {
    std::vector<std::string> secrets;
    if (uri_prefix_length(dsn) != 0) {
        add_uri_secrets(dsn, secrets);
    } else {
        add_conninfo_secrets(dsn, secrets);
    }
    if (!is_connection_string(dsn)) {
        return secrets;
    }
    // What libpq itself decodes, in case the lenient scan above missed a spelling.
    const std::string text(dsn);
    const std::unique_ptr<PQconninfoOption, ConninfoDeleter> options(
        PQconninfoParse(text.c_str(), nullptr));
    if (options) {
        for (const PQconninfoOption* option = options.get(); option->keyword != nullptr; ++option) {
            if (option->val != nullptr && is_secret_key(option->keyword)) {
                add_secret(secrets, option->val);
            }
        }
    }
    return secrets;
}

std::string scrub_values(std::string_view message, std::span<const std::string> secrets) {
    std::vector<std::string_view> ordered;
    for (const auto& secret : secrets) {
        if (!secret.empty()) {
            ordered.emplace_back(secret);
        }
    }
    // Longest first, so a secret that contains another is removed whole.
    std::sort(ordered.begin(), ordered.end(),
              [](std::string_view a, std::string_view b) { return a.size() > b.size(); });
    std::string scrubbed(message);
    for (const auto secret : ordered) {
        for (auto pos = scrubbed.find(secret); pos != std::string::npos;
             pos = scrubbed.find(secret, pos + k_redacted.size())) {
            scrubbed.replace(pos, secret.size(), k_redacted);
        }
    }
    return scrubbed;
}

std::string scrub_secret(std::string_view message, std::string_view dsn) {
    return scrub_values(message, find_dsn_secrets(dsn));
}

void remember_dsn_secrets(std::string_view dsn) {
    for (const auto& secret : find_dsn_secrets(dsn)) {
        remember_secret(secret);
    }
}

void remember_secret(std::string_view secret) {
    if (secret.empty()) {
        return;
    }
    auto& registry = secret_registry();
    const std::lock_guard lock(registry.mutex);
    add_secret(registry.secrets, secret);
}

std::string scrub_known_secrets(std::string_view message) {
    auto& registry = secret_registry();
    const std::lock_guard lock(registry.mutex);
    return scrub_values(message, registry.secrets);
}

}  // namespace syncset::db
