#include "db/session.hpp"

#include "syncset/db/quote.hpp"

namespace syncset::db {

namespace {

constexpr std::size_t k_max_application_name_bytes = 63;  // NAMEDATALEN - 1

}  // namespace

std::string application_name_for(std::string_view role) {
    std::string name = "syncset/";
    for (const char c : role) {
        if (name.size() == k_max_application_name_bytes) {
            break;
        }
        name.push_back(c >= 0x20 && c <= 0x7e ? c : '?');
    }
    return name;
}

std::string build_session_setup_sql() {
    std::string sql;
    for (const auto& setting : k_pinned_settings) {
        sql += "SET " + std::string(setting.name) + " = " + quote_literal(setting.value) + "; ";
    }
    sql.pop_back();
    return sql;
}

}  // namespace syncset::db
