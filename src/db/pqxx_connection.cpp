#include "syncset/db/pqxx_connection.hpp"

#include <pqxx/nontransaction>

#include <cstdlib>
#include <vector>

#include "db/session.hpp"
#include "syncset/db/dsn.hpp"

namespace syncset::db {

namespace {

// libpqxx 6.4 marks inhibit_reactivation() deprecated, yet it is the only way to keep a broken
// connection broken.
void keep_broken_connections_broken(pqxx::connection& conn) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    conn.inhibit_reactivation(true);
#pragma GCC diagnostic pop
}

}  // namespace

std::unique_ptr<pqxx::connection> open_pqxx(std::string_view dsn, std::string_view role) {
    remember_dsn_secrets(dsn);
    const std::string context = "connect to " + std::string(role) + " (" + redact_dsn(dsn) + ")";
    std::vector<DsnParam> defaults;
    if (std::getenv("PGCONNECT_TIMEOUT") == nullptr) {
        defaults.push_back({"connect_timeout", "10"});
    }
    const std::vector<DsnParam> overrides{{"application_name", application_name_for(role)},
                                          {"client_encoding", "UTF8"}};
    const std::string conninfo = [&] {
        try {
            return rewrite_dsn(dsn, defaults, overrides);
        } catch (const Error& error) {
            throw error.with_context(context);
        }
    }();
    try {
        auto conn = std::make_unique<pqxx::connection>(conninfo);
        keep_broken_connections_broken(*conn);
        pqxx::nontransaction setup(*conn, "syncset session settings");
        setup.exec(build_session_setup_sql());
        setup.commit();
        return conn;
    } catch (const pqxx::pqxx_exception& error) {
        const Error translated = translate_pqxx_exception(error.base(), context);
        Error scrubbed(translated.code(), scrub_secret(translated.what(), dsn),
                       translated.retryable(), translated.hint());
        scrubbed.set_sqlstate(translated.sqlstate());
        throw scrubbed;
    }
}

}  // namespace syncset::db
