// catalog::read_catalog against a real server: tables, columns, keys, indexes and the user types
// they need come back exactly, names and type text included, and system or state objects do not.
#include <gtest/gtest.h>

#include <pqxx/nontransaction>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "pg_fixture.hpp"
#include "syncset/catalog/read.hpp"
#include "syncset/db/pqxx_connection.hpp"

namespace syncset::test {
namespace {

using catalog::Catalog;
using catalog::Table;
using catalog::UserType;
using Lines = std::vector<std::string>;

constexpr std::string_view k_state_schema = "_syncset";

// One readable line per column, so a failure shows exactly which field differs.
Lines column_lines(const Table& table) {
    Lines lines;
    for (const auto& c : table.columns) {
        std::string line = std::to_string(c.attnum) + " " + c.name + " : " + c.type;
        if (c.not_null) {
            line += " not_null";
        }
        if (c.generated) {
            line += " generated";
        }
        if (c.identity) {
            line += " identity";
        }
        lines.push_back(line);
    }
    return lines;
}

Lines index_lines(const Table& table) {
    Lines lines;
    for (const auto& index : table.indexes) {
        std::string line = index.name + " " + index.method + " (";
        for (std::size_t i = 0; i < index.columns.size(); ++i) {
            line += (i == 0 ? "" : ", ") + index.columns[i];
        }
        line += ")";
        if (index.unique) {
            line += " unique";
        }
        if (index.primary) {
            line += " primary";
        }
        if (index.expression_or_partial) {
            line += " expression_or_partial";
        }
        lines.push_back(line);
    }
    return lines;
}

Lines table_names(const Catalog& catalog) {
    Lines names;
    for (const auto& table : catalog.tables) {
        names.push_back(table.schema + "." + table.name);
    }
    return names;
}

Lines type_names(const Catalog& catalog) {
    Lines names;
    for (const auto& type : catalog.types) {
        names.push_back(type.schema + "." + type.name);
    }
    return names;
}

class CatalogRead : public PgPairTest {
  protected:
    Catalog read_source() {
        const auto conn = db::open_pqxx(source_dsn(), "source");
        return catalog::read_catalog(*conn, k_state_schema);
    }

    std::uint32_t oid_of_type(std::string_view regtype) {
        return static_cast<std::uint32_t>(std::stoul(
            query_value(Server::source, "SELECT '" + std::string(regtype) + "'::regtype::oid")));
    }
};

TEST_F(CatalogRead, ColumnsKeysIndexesAndTypesAreReadExactly) {
    exec_source(R"sql(
        CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
        CREATE DOMAIN good_mood AS mood NOT NULL CHECK (VALUE <> 'sad');
        CREATE TYPE price AS (amount numeric(12,2), currency varchar(3), moods mood[]);
        CREATE TYPE unused AS ENUM ('never');
        CREATE TABLE orders (
            a int,
            b numeric(30,10) NOT NULL,
            gone text,
            c varchar(20),
            tags text[],
            at timestamptz,
            m mood,
            ms mood[],
            gm good_mood,
            p price,
            total numeric GENERATED ALWAYS AS (b * 2) STORED,
            id bigint GENERATED ALWAYS AS IDENTITY,
            PRIMARY KEY (id, a)
        );
        ALTER TABLE orders DROP COLUMN gone;
        CREATE UNIQUE INDEX orders_c_at_key ON orders (c, at);
        CREATE INDEX orders_lower_c ON orders (lower(c));
        CREATE INDEX orders_recent ON orders (at) WHERE at > '2020-01-01';
        CREATE INDEX orders_tags ON orders USING gin (tags);
        CREATE INDEX orders_c_incl ON orders (c) INCLUDE (b);
    )sql");

    const Catalog catalog = read_source();

    ASSERT_EQ(table_names(catalog), Lines{"public.orders"});
    const Table& orders = catalog.tables[0];
    EXPECT_EQ(std::to_string(orders.oid),
              query_value(Server::source, "SELECT 'orders'::regclass::oid"));
    EXPECT_FALSE(orders.partitioned);
    EXPECT_FALSE(orders.is_partition);
    // The dropped column (attnum 3) is gone and leaves a gap; user types are qualified.
    EXPECT_EQ(column_lines(orders), (Lines{
                                        "1 a : integer not_null",
                                        "2 b : numeric(30,10) not_null",
                                        "4 c : character varying(20)",
                                        "5 tags : text[]",
                                        "6 at : timestamp with time zone",
                                        "7 m : public.mood",
                                        "8 ms : public.mood[]",
                                        "9 gm : public.good_mood",
                                        "10 p : public.price",
                                        "11 total : numeric generated",
                                        "12 id : bigint not_null identity",
                                    }));
    EXPECT_EQ(orders.column("m")->type_oid, oid_of_type("mood"));
    EXPECT_EQ(orders.column("ms")->type_oid, oid_of_type("mood[]"));
    EXPECT_EQ(orders.column("a")->type_oid, 23U);
    EXPECT_EQ(orders.column_by_attnum(3), nullptr);
    // Key order, not attnum order.
    EXPECT_EQ(orders.primary_key, (Lines{"id", "a"}));
    EXPECT_EQ(index_lines(orders), (Lines{
                                       "orders_c_at_key btree (c, at) unique",
                                       "orders_c_incl btree (c)",
                                       "orders_lower_c btree (lower((c)::text)) "
                                       "expression_or_partial",
                                       "orders_pkey btree (id, a) unique primary",
                                       "orders_recent btree (at) expression_or_partial",
                                       "orders_tags gin (tags)",
                                   }));

    // Only the types the columns need, each after the types it depends on.
    ASSERT_EQ(type_names(catalog), (Lines{"public.mood", "public.good_mood", "public.price"}));
    UserType mood;
    mood.oid = oid_of_type("mood");
    mood.array_oid = oid_of_type("mood[]");
    mood.schema = "public";
    mood.name = "mood";
    mood.kind = UserType::Kind::enum_type;
    mood.labels = {"sad", "ok", "happy"};
    EXPECT_EQ(catalog.types[0], mood);

    UserType good_mood;
    good_mood.oid = oid_of_type("good_mood");
    good_mood.array_oid = oid_of_type("good_mood[]");
    good_mood.schema = "public";
    good_mood.name = "good_mood";
    good_mood.kind = UserType::Kind::domain;
    good_mood.base_type = "public.mood";
    good_mood.not_null = true;
    good_mood.checks = {"CHECK ((VALUE <> 'sad'::public.mood))"};
    good_mood.depends_on = {mood.oid};
    EXPECT_EQ(catalog.types[1], good_mood);

    UserType price;
    price.oid = oid_of_type("price");
    price.array_oid = oid_of_type("price[]");
    price.schema = "public";
    price.name = "price";
    price.kind = UserType::Kind::composite;
    price.attributes = {{"amount", "numeric(12,2)"},
                        {"currency", "character varying(3)"},
                        {"moods", "public.mood[]"}};
    price.depends_on = {mood.oid};
    EXPECT_EQ(catalog.types[2], price);
}

TEST_F(CatalogRead, TypesNeededOnlyTransitivelyAreReadInDependencyOrder) {
    exec_source(R"sql(
        CREATE SCHEMA z;
        CREATE TYPE z.level AS ENUM ('low', 'high');
        CREATE DOMAIN levels AS z.level[] CHECK (cardinality(VALUE) > 0);
        CREATE DOMAIN positive AS numeric(10,2) CHECK (VALUE > 0) CHECK (VALUE < 1000);
        CREATE DOMAIN small_positive AS positive;
        CREATE TYPE a_reading AS (ls levels, amount small_positive);
        CREATE TABLE holder (x int);
        CREATE TABLE readings (id int PRIMARY KEY, r a_reading[], h holder);
        CREATE TYPE z.unrelated AS (v int);
    )sql");

    const Catalog catalog = read_source();

    // holder's row type is not a user type, but what it holds would be followed.
    ASSERT_EQ(type_names(catalog), (Lines{"z.level", "public.levels", "public.positive",
                                          "public.small_positive", "public.a_reading"}));
    const auto* levels = catalog.find_type("public", "levels");
    ASSERT_NE(levels, nullptr);
    EXPECT_EQ(levels->base_type, "z.level[]");
    EXPECT_FALSE(levels->not_null);
    EXPECT_EQ(levels->checks, (Lines{"CHECK ((cardinality(VALUE) > 0))"}));
    // Through the array type, the dependency is the enum itself.
    EXPECT_EQ(levels->depends_on, std::vector<std::uint32_t>{oid_of_type("z.level")});

    const auto* positive = catalog.find_type("public", "positive");
    ASSERT_NE(positive, nullptr);
    EXPECT_EQ(positive->base_type, "numeric(10,2)");
    // Ordered by constraint name: positive_check, positive_check1.
    EXPECT_EQ(positive->checks,
              (Lines{"CHECK ((VALUE > (0)::numeric))", "CHECK ((VALUE < (1000)::numeric))"}));
    EXPECT_TRUE(positive->depends_on.empty());

    const auto* small = catalog.find_type("public", "small_positive");
    ASSERT_NE(small, nullptr);
    EXPECT_EQ(small->base_type, "public.positive");
    EXPECT_EQ(small->depends_on, std::vector<std::uint32_t>{positive->oid});

    const auto* reading = catalog.find_type("public", "a_reading");
    ASSERT_NE(reading, nullptr);
    EXPECT_EQ(reading->attributes,
              (std::vector<std::pair<std::string, std::string>>{
                  {"ls", "public.levels"}, {"amount", "public.small_positive"}}));
    std::vector<std::uint32_t> expected{levels->oid, small->oid};
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(reading->depends_on, expected);

    const Table* readings = catalog.find_table("public", "readings");
    ASSERT_NE(readings, nullptr);
    EXPECT_EQ(column_lines(*readings), (Lines{"1 id : integer not_null", "2 r : public.a_reading[]",
                                              "3 h : public.holder"}));
}

TEST_F(CatalogRead, OddIdentifiersComeBackExactlyAndTypeTextIsQuoted) {
    exec_source(R"sql(
        CREATE SCHEMA "My Schema";
        CREATE TYPE "My Schema"."Odd Type" AS ENUM
            ('it''s', 'with "quote"', 'ünï', 'back\slash', 'comma,{brace}', 'NULL', '');
        CREATE TABLE "My Schema"."select" (
            "Mixed Case" int PRIMARY KEY,
            "col ""quoted""" "My Schema"."Odd Type"[],
            "ünïcødé" text,
            "select" int,
            "we""ird,{name} \x" text
        );
        CREATE UNIQUE INDEX "Odd ""Index""" ON "My Schema"."select"
            ("we""ird,{name} \x", "select", "ünïcødé");
        CREATE TABLE "Ünï" ("ö" "My Schema"."Odd Type");
    )sql");

    const Catalog catalog = read_source();

    ASSERT_EQ(table_names(catalog), (Lines{"My Schema.select", "public.Ünï"}));
    const Table& odd = catalog.tables[0];
    EXPECT_EQ(column_lines(odd), (Lines{
                                     "1 Mixed Case : integer not_null",
                                     "2 col \"quoted\" : \"My Schema\".\"Odd Type\"[]",
                                     "3 ünïcødé : text",
                                     "4 select : integer",
                                     "5 we\"ird,{name} \\x : text",
                                 }));
    EXPECT_EQ(odd.primary_key, Lines{"Mixed Case"});
    EXPECT_EQ(index_lines(odd), (Lines{
                                    "Odd \"Index\" btree (we\"ird,{name} \\x, select, ünïcødé) "
                                    "unique",
                                    "select_pkey btree (Mixed Case) unique primary",
                                }));
    EXPECT_EQ(column_lines(catalog.tables[1]), Lines{"1 ö : \"My Schema\".\"Odd Type\""});

    ASSERT_EQ(type_names(catalog), Lines{"My Schema.Odd Type"});
    EXPECT_EQ(catalog.types[0].labels,
              (Lines{"it's", "with \"quote\"", "ünï", "back\\slash", "comma,{brace}", "NULL", ""}));
}

TEST_F(CatalogRead, PartitionedTablesAndTheirPartitionsAreFlagged) {
    exec_source(R"sql(
        CREATE TABLE events (id int, at date, note text, PRIMARY KEY (id, at))
            PARTITION BY RANGE (at);
        CREATE TABLE events_2024 PARTITION OF events
            FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
        CREATE TABLE events_2025 PARTITION OF events
            FOR VALUES FROM ('2025-01-01') TO ('2026-01-01') PARTITION BY LIST (id);
        CREATE TABLE events_2025_1 PARTITION OF events_2025 FOR VALUES IN (1);
        CREATE TABLE plain (id int);
    )sql");

    const Catalog catalog = read_source();

    ASSERT_EQ(table_names(catalog),
              (Lines{"public.events", "public.events_2024", "public.events_2025",
                     "public.events_2025_1", "public.plain"}));
    const auto flags = [&](std::string_view name) {
        const Table* table = catalog.find_table("public", name);
        return std::string(table->partitioned ? "partitioned" : "-") + "/" +
               (table->is_partition ? "partition" : "-");
    };
    EXPECT_EQ(flags("events"), "partitioned/-");
    EXPECT_EQ(flags("events_2024"), "-/partition");
    EXPECT_EQ(flags("events_2025"), "partitioned/partition");
    EXPECT_EQ(flags("events_2025_1"), "-/partition");
    EXPECT_EQ(flags("plain"), "-/-");
    const Table* events = catalog.find_table("public", "events");
    EXPECT_EQ(events->primary_key, (Lines{"id", "at"}));
    EXPECT_EQ(index_lines(*events), Lines{"events_pkey btree (id, at) unique primary"});
    EXPECT_EQ(column_lines(*events),
              (Lines{"1 id : integer not_null", "2 at : date not_null", "3 note : text"}));
}

TEST_F(CatalogRead, SystemStateAndTemporaryObjectsAreSkipped) {
    exec_source(R"sql(
        CREATE SCHEMA _syncset;
        CREATE TYPE _syncset.phase AS ENUM ('snapshot');
        CREATE TABLE _syncset.tables (id int PRIMARY KEY, p _syncset.phase);
        CREATE SCHEMA _syncset_other;
        CREATE TABLE _syncset_other.kept (id int);
        CREATE TABLE kept (id int);
        CREATE VIEW a_view AS SELECT 1 AS one;
        CREATE MATERIALIZED VIEW a_matview AS SELECT 1 AS one;
        CREATE SEQUENCE a_sequence;
        CREATE FOREIGN DATA WRAPPER dummy;
        CREATE SERVER nowhere FOREIGN DATA WRAPPER dummy;
        CREATE FOREIGN TABLE a_foreign (id int) SERVER nowhere;
        CREATE TEMP TABLE a_temp (id int);
    )sql");
    // The fixture's session keeps the temporary table alive while the catalog is read.
    ASSERT_EQ(query_value(Server::source,
                          "SELECT count(*) FROM pg_class WHERE relname = 'a_temp' "
                          "AND relnamespace::regnamespace::text LIKE 'pg_temp%'"),
              "1");

    const Catalog catalog = read_source();

    // information_schema holds ordinary tables (sql_features, ...); pg_catalog too.
    EXPECT_EQ(table_names(catalog), (Lines{"_syncset_other.kept", "public.kept"}));
    EXPECT_TRUE(catalog.types.empty());
}

TEST_F(CatalogRead, EmptyDatabaseHasNoTablesAndNoTypes) {
    const Catalog catalog = read_source();
    EXPECT_TRUE(catalog.tables.empty());
    EXPECT_TRUE(catalog.types.empty());
}

TEST_F(CatalogRead, SessionSearchPathIsLeftAsItWas) {
    exec_source("CREATE TYPE mood AS ENUM ('ok'); CREATE TABLE t (m mood)");
    const auto conn = db::open_pqxx(source_dsn(), "source");
    const Catalog catalog = catalog::read_catalog(*conn, k_state_schema);
    EXPECT_EQ(catalog.tables.at(0).columns.at(0).type, "public.mood");
    pqxx::nontransaction tx(*conn);
    EXPECT_EQ(tx.exec("SHOW search_path")[0][0].as<std::string>(), "\"$user\", public");
}

}  // namespace
}  // namespace syncset::test
