#include "pg_fixture.hpp"

#include <chrono>
#include <thread>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <future>

#include "syncset/db/dsn.hpp"
#include "syncset/db/quote.hpp"
#include "syncset/error.hpp"

namespace syncset::test {

namespace {

constexpr std::size_t k_max_identifier_bytes = 63;
constexpr std::array<const char*, 2> k_env_dsn{"SYNCSET_TEST_SOURCE_DSN",
                                               "SYNCSET_TEST_REPLICA_DSN"};
constexpr std::array<std::string_view, 2> k_server_names{"source", "replica"};

std::string lowercase_safe(std::string_view text) {
    std::string safe;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        safe.push_back(std::isalnum(u) != 0 ? static_cast<char>(std::tolower(u)) : '_');
    }
    return safe;
}

bool keep_databases() {
    const char* keep = std::getenv("SYNCSET_TEST_KEEP_DATABASES");
    return keep != nullptr && std::string_view(keep) == "1";
}

}  // namespace

std::string PgPairTest::unique_name(std::string_view prefix) {
    static std::atomic<unsigned> counter{0};
    std::string suffix = "_";
    suffix += std::to_string(::getpid());
    suffix += '_';
    suffix += std::to_string(counter.fetch_add(1));
    std::string name = lowercase_safe(prefix);
    name.resize(std::min(name.size(), k_max_identifier_bytes - suffix.size()));
    return name + suffix;
}

void PgPairTest::SetUp() {
    for (std::size_t i = 0; i < k_env_dsn.size(); ++i) {
        const char* value = std::getenv(k_env_dsn[i]);
        if (value == nullptr || *value == '\0') {
            FAIL() << k_env_dsn[i]
                   << " is not set: integration tests need a PostgreSQL pair. Run them under "
                      "`tests/pg_pair.sh run -- <test command>`, or set SYNCSET_TEST_SOURCE_DSN "
                      "and SYNCSET_TEST_REPLICA_DSN to superuser DSNs with dbname=postgres.";
        }
        m_admin_dsn[i] = value;
    }
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    m_database = unique_name(std::string("t_") + info->test_suite_name() + "_" + info->name());
    const std::string name = db::quote_ident(m_database);
    const auto create = [&](Server server) {
        run_admin(server, "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
        run_admin(server,
                  "CREATE DATABASE " + name + " TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'");
        m_dsn[index(server)] = db::rewrite_dsn(admin_dsn(server), {},
                                               std::vector<db::DsnParam>{{"dbname", m_database}});
    };
    m_ready = true;  // from here on TearDown drops whatever was created
    try {
        // Both servers at once: CREATE DATABASE is most of a short test's time.
        auto replica = std::async(std::launch::async, create, Server::replica);
        create(Server::source);
        replica.get();
    } catch (const Error& error) {
        FAIL() << "could not create the test databases: " << error.what();
    }
}

void PgPairTest::TearDown() {
    for (auto& conn : m_connection) {
        conn.reset();
    }
    if (!m_ready || keep_databases()) {
        return;
    }
    for (const Server server : {Server::source, Server::replica}) {
        try {
            run_admin(server,
                      "DROP DATABASE IF EXISTS " + db::quote_ident(m_database) + " WITH (FORCE)");
            for (const auto& role : m_roles) {
                run_admin(server, "DROP ROLE IF EXISTS " + db::quote_ident(role));
            }
        } catch (const Error& error) {
            ADD_FAILURE() << "could not clean up the " << k_server_names[index(server)]
                          << " server: " << error.what();
        }
    }
}

void PgPairTest::run_admin(Server server, std::string_view sql) {
    // A server a previous test restarted may still be starting (or recovering after an
    // immediate stop): retry what waiting can fix for a while, so one slow restart does not
    // fail every test after it.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (true) {
        try {
            const auto admin = db::Connection::open(admin_dsn(server), "test-admin");
            admin->exec(sql);
            return;
        } catch (const Error& error) {
            if (!error.retryable() || std::chrono::steady_clock::now() > deadline) {
                throw;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    }
}

std::string PgPairTest::dsn_as(Server server, std::string_view user,
                               std::string_view password) const {
    return db::rewrite_dsn(dsn(server), {},
                           std::vector<db::DsnParam>{{"user", std::string(user)},
                                                     {"password", std::string(password)}});
}

std::string PgPairTest::dsn_value(std::string_view dsn, std::string_view key) {
    for (const auto& param : db::parse_dsn(dsn)) {
        if (param.key == key) {
            return param.value;
        }
    }
    return {};
}

db::Connection& PgPairTest::connection(Server server) {
    auto& conn = m_connection[index(server)];
    if (!conn || !conn->is_ok()) {
        conn =
            db::Connection::open(dsn(server), "test-" + std::string(k_server_names[index(server)]));
    }
    return *conn;
}

void PgPairTest::exec(Server server, std::string_view sql) {
    connection(server).exec(sql);
}

Rows PgPairTest::query_rows(Server server, std::string_view sql) {
    const db::Result result = connection(server).query(sql);
    Rows rows;
    rows.reserve(static_cast<std::size_t>(result.rows()));
    for (int r = 0; r < result.rows(); ++r) {
        Row row;
        row.reserve(static_cast<std::size_t>(result.columns()));
        for (int c = 0; c < result.columns(); ++c) {
            row.push_back(result.optional_value(r, c));
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

std::string PgPairTest::query_value(Server server, std::string_view sql) {
    const db::Result result = connection(server).query(sql);
    if (result.rows() != 1 || result.columns() != 1) {
        throw Error(ErrorCode::internal,
                    "query_value expects one row and one column: " + std::string(sql));
    }
    return std::string(result.value(0, 0));
}

std::string PgPairTest::create_login_role(std::string_view password) {
    const std::string role = unique_name("syncset_test_role");
    m_roles.push_back(role);  // before creating it, so a half-made role is dropped too
    for (const Server server : {Server::source, Server::replica}) {
        run_admin(server, "CREATE ROLE " + db::quote_ident(role) + " LOGIN PASSWORD " +
                              db::quote_literal(password));
    }
    return role;
}

}  // namespace syncset::test
