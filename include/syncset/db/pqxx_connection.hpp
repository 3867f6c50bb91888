// libpqxx connections for catalog, state and DDL code, with the same pinned session settings as
// Connection, and the funnel that turns libpqxx exceptions into syncset::Error.
#pragma once

#include <pqxx/connection>
#include <pqxx/except>

#include <memory>
#include <string_view>
#include <utility>

#include "syncset/db/errors.hpp"

namespace syncset::db {

// Opens a libpqxx connection: `dsn` may be conninfo, a URI or a database name; application_name
// (`syncset/<role>`) and client_encoding override it, connect_timeout defaults to 10 s, and the
// other pinned settings are applied by one SET batch. Automatic reactivation is switched off: a
// connection whose backend went away stays broken (libpqxx 6.4 would otherwise reconnect silently,
// losing session state such as advisory locks), so open a new one after a connection Error.
// Throws Error(ErrorCode::connection) naming the role and the redacted DSN.
std::unique_ptr<pqxx::connection> open_pqxx(std::string_view dsn, std::string_view role);

// Runs `fn` and returns its result; a libpqxx exception it throws is rethrown as the
// syncset::Error from translate_pqxx_exception(), with `context` in front of its message.
// syncset::Error and non-libpqxx exceptions pass through unchanged.
//
//     auto rows = db::with_pqxx_errors("read catalog of source", [&] { return tx.exec(sql); });
template <typename Fn>
decltype(auto) with_pqxx_errors(std::string_view context, Fn&& fn) {
    try {
        return std::forward<Fn>(fn)();
    } catch (const pqxx::pqxx_exception& error) {
        throw translate_pqxx_exception(error.base(), context);
    }
}

}  // namespace syncset::db
