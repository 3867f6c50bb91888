// Promise 2 (exactly the selected data arrives) for every common column type: each value's text
// form is the same on both sides after the snapshot and after an incremental round, through the
// real binary.
#include <gtest/gtest.h>

#include "copy_harness.hpp"

namespace syncset::test {
namespace {

class CopyTypes : public CopyTest {
  protected:
    // `SELECT c1::text, c2::text, ... FROM table ORDER BY id`.
    static std::string select_as_text(const std::vector<std::string>& columns,
                                      const std::string& table) {
        std::string sql = "SELECT ";
        for (std::size_t i = 0; i < columns.size(); ++i) {
            sql += (i > 0 ? ", " : "") + columns[i] + "::text";
        }
        return sql + " FROM " + table + " ORDER BY id";
    }

    // Name and type of every column, so a value cannot match by being text on one side.
    static std::string column_types(const std::string& table) {
        return "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute "
               "WHERE attrelid = '" +
               table +
               "'::regclass AND attnum > 0 AND NOT attisdropped "
               "ORDER BY attnum";
    }
};

const std::vector<std::string> k_every_type_columns = {
    "id",          "c_int2",       "c_int4",    "c_int8",      "c_numeric",     "c_float4",
    "c_float8",    "c_text",       "c_varchar", "c_char",      "c_bytea",       "c_bool",
    "c_date",      "c_time",       "c_timetz",  "c_timestamp", "c_timestamptz", "c_interval",
    "c_uuid",      "c_inet",       "c_cidr",    "c_macaddr",   "c_json",        "c_jsonb",
    "c_int_array", "c_text_array", "c_enum",    "c_domain",    "c_int4range",   "c_tstzrange",
    "c_generated"};

// Every column that can be written (all but the identity and the generated one).
constexpr std::string_view k_writable =
    "c_int2, c_int4, c_int8, c_numeric, c_float4, c_float8, c_text, c_varchar, c_char, c_bytea, "
    "c_bool, c_date, c_time, c_timetz, c_timestamp, c_timestamptz, c_interval, c_uuid, c_inet, "
    "c_cidr, c_macaddr, c_json, c_jsonb, c_int_array, c_text_array, c_enum, c_domain, "
    "c_int4range, c_tstzrange";

constexpr std::string_view k_schema = R"sql(
    CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'it''s "odd"');
    CREATE DOMAIN positive_int AS int CHECK (VALUE > 0);
    CREATE TABLE every_type (
        id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        c_int2 int2, c_int4 int4, c_int8 int8,
        c_numeric numeric(30,10),
        c_float4 float4, c_float8 float8,
        c_text text, c_varchar varchar(12), c_char char(5),
        c_bytea bytea, c_bool bool,
        c_date date, c_time time, c_timetz timetz, c_timestamp timestamp,
        c_timestamptz timestamptz, c_interval interval,
        c_uuid uuid, c_inet inet, c_cidr cidr, c_macaddr macaddr,
        c_json json, c_jsonb jsonb,
        c_int_array int[], c_text_array text[],
        c_enum mood, c_domain positive_int,
        c_int4range int4range, c_tstzrange tstzrange,
        c_generated text GENERATED ALWAYS AS (c_text || '/' || c_int4::text) STORED);
)sql";

// 1 MiB of bytes that do not compress to nothing, and every byte value once.
constexpr std::string_view k_one_mib_bytea =
    "(SELECT string_agg(decode(md5(g::text), 'hex'), ''::bytea ORDER BY g) "
    "FROM generate_series(1, 65536) g)";
constexpr std::string_view k_all_byte_values =
    "(SELECT string_agg(set_byte('\\x00'::bytea, 0, g), ''::bytea ORDER BY g) "
    "FROM generate_series(0, 255) g)";

std::string insert_rows() {
    const std::string columns = "INSERT INTO every_type (" + std::string(k_writable) + ") ";
    return
        // Ordinary values.
        columns + R"sql(VALUES (1, 2, 3, 12345.6789, 1.5, 2.25, 'plain', 'short', 'ab',
            '\x0001ff', true, '2024-02-29', '13:45:56.123456', '13:45:56.5+05:30',
            '2024-02-29 13:45:56.123456', '2024-02-29 13:45:56.123456+02',
            '1 year 2 mons 3 days 04:05:06.789', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
            '192.168.1.5/24', '10.0.0.0/8', '08:00:2b:01:02:03',
            '{"b": 1,  "a": [1, 2.50], "b": 2}', '{"b": 1, "a": [1, 2.50], "n": null}',
            '{1,2,3}', '{a,b,c}', 'happy', 7, '[1,10)',
            '[2024-01-01 00:00:00+00,2024-06-01 12:00:00+00)');
)sql" +
        // Extremes, escapes and special values.
        columns + R"sql(VALUES (-32768, -2147483648, 9223372036854775807,
            -99999999999999999999.9999999999, 'NaN', '-Infinity',
            E'tab\there\nnewline\r\nCRLF back\\slash \\N and \\\\N \\. é ü 中文 🎉 "dq" ''sq''',
            'ünïcødé ½', 'é', )sql" +
        std::string(k_all_byte_values) + R"sql(, false,
            'infinity', '24:00:00', '00:00:00-15:59', 'infinity', '-infinity',
            '-1 years -2 mons +3 days -04:05:06.000001', '00000000-0000-0000-0000-000000000000',
            '::1', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff',
            '{"k": "tab\tq\"uote \\ \u00e9 \u0000", "e": {}}',
            '[{"deep": {"x": [true, false, null]}}, 1e100, -0.0, "日本", "\\N", ""]',
            '{-2147483648,NULL,2147483647}',
            ARRAY[NULL, '', 'NULL', 'a,b', 'q"uote', 'back\slash', '{brace}', ' space ',
                  E'new\nline', E'\\N'],
            'it''s "odd"', 2147483647, 'empty', '(,)');
)sql" + columns +
        R"sql(VALUES (32767, 2147483647, -9223372036854775808, 0.0000000001,
            '-0', '-0', '', '', '', '\x', true, '-infinity', '00:00:00', '23:59:59.999999+15:59',
            '-infinity', 'infinity', '0', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
            '255.255.255.255/32', '0.0.0.0/0', '00:00:00:00:00:00', '""', '"\u00e9a"',
            '{{1,2},{3,4}}', '{{"a b",NULL},{"","c"}}', 'sad', 1, '[-5,)',
            '[2024-01-01 00:00:00.000001+00,2024-01-01 00:00:00.000001+00]');
)sql" + columns +
        R"sql(VALUES (0, 0, 0, 0, 'Infinity', 'NaN', repeat(E'a\tb\\c\nd', 250000),
            'x', 'abcde', )sql" +
        std::string(k_one_mib_bytea) + R"sql(, NULL,
            '4713-01-01 BC', '12:00', '12:00-00', '4713-01-01 00:00:00 BC',
            '294276-12-31 23:59:59.999999+00', '178000000 years', NULL,
            'fe80::1/64', '192.168.0.0/16', '01-23-45-67-89-ab', '[]', '{}', '{}', '{}',
            'ok', NULL, '(1,2]', '[2024-01-01,2024-01-01)');
)sql" + columns +
        R"sql(VALUES (1, 1, 1, 1, '1.17549435e-38', '4.9e-324', 'x', 'x', 'x', '\x00',
            true, '2000-01-01', '00:00:00.000001', '00:00:00+00', '2000-01-01',
            '2000-01-01 00:00:00+00', '-1 microseconds', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
            '10.1.2.3', '10.1.2.0/24', '08:00:2b:01:02:03', 'null', 'null', '{1}', '{NULL}',
            'sad', 1, '[1,2)', '[2024-01-01,infinity)');
)sql" + columns +
        R"sql(VALUES (2, 2, 2, 2, '3.4028235e+38', '1.7976931348623157e308', 'y', 'y',
            'y', '\xff', false, '1999-12-31', '12:34:56', '12:34:56-08', '1999-12-31 12:34:56',
            '1999-12-31 23:59:59.999999-08', '1 day -1 hours', NULL, '1.2.3.4', '1.2.3.4/32',
            '00:00:5e:00:53:af', '[1, "2", {"3": [4]}]', '{"a": {"b": {"c": [1.000, 2e-5]}}}',
            '{0}', '{"\"quoted\"","\\backslash"}', 'happy', 42, '[-2147483648,2147483647)',
            '(2000-01-01 00:00:00+14,2000-01-01 00:00:00-12)');
)sql" +
        // NULL in every nullable column.
        "INSERT INTO every_type DEFAULT VALUES;\n" +
        // Enough ordinary rows to make several batches.
        columns + R"sql(SELECT g, g * 1000, g * 1000000000::bigint, g / 7.0, g / 3.0, g / 9.0,
            'row ' || g || E'\t' || md5(g::text), 'v' || g, 'c' || g % 10,
            decode(md5(g::text), 'hex'), g % 2 = 0, date '2024-01-01' + g,
            time '00:00' + g * interval '1 minute', timetz '00:00+01' + g * interval '1 second',
            timestamp '2024-01-01' + g * interval '1 hour',
            timestamptz '2024-01-01 00:00+00' + g * interval '1 second', g * interval '1 day',
            md5(g::text)::uuid, ('10.0.' || g % 256 || '.1')::inet, ('10.' || g % 256 || '.0.0/16')::cidr,
            ('08:00:2b:00:00:' || lpad(to_hex(g % 256), 2, '0'))::macaddr,
            json_build_object('g', g, 's', 'x' || g), jsonb_build_object('g', g, 'a', ARRAY[g, NULL]),
            ARRAY[g, NULL, -g], ARRAY['t' || g, NULL, ''], (ARRAY['sad','ok','happy'])[1 + g % 3]::mood,
            g, int4range(g, g + 10), tstzrange(timestamptz '2024-01-01 00:00+00' + g * interval '1 day', NULL)
            FROM generate_series(1, 40) g;
)sql";
}

TEST_F(CopyTypes, EveryCommonTypeCopiesExactlyInTheSnapshotAndTheIncrementalRound) {
    exec_source(k_schema);
    exec_source(insert_rows());
    const std::string yaml = config(
        "      - source: public.every_type\n        batch_rows: 7\n        snapshot_chunk_rows: "
        "7\n");
    const std::string query = select_as_text(k_every_type_columns, "every_type");

    CliResult first = run_once(yaml);
    ASSERT_EQ(first.exit_status, 0) << first.err;
    expect_same_rows(column_types("every_type"), column_types("every_type"));
    expect_same_rows(query, query);
    // The text form hides nothing for bytea, but the big one is checked by hash as well.
    expect_same_rows("SELECT id, md5(c_bytea), length(c_bytea) FROM every_type ORDER BY id",
                     "SELECT id, md5(c_bytea), length(c_bytea) FROM every_type ORDER BY id");

    // Incremental: changed values, a row emptied to NULLs, the NULL row filled, new rows.
    exec_source(R"sql(
        UPDATE every_type SET c_text = c_text || E' upd\\N\t', c_jsonb = c_jsonb || '{"u": 1}',
            c_float8 = -c_float8, c_text_array = c_text_array || ARRAY[NULL::text, E'\\N'],
            c_bytea = c_bytea || '\x00ff'::bytea
            WHERE id % 2 = 0;
        UPDATE every_type SET c_int2 = NULL, c_int4 = NULL, c_int8 = NULL, c_numeric = NULL,
            c_float4 = NULL, c_float8 = NULL, c_text = NULL, c_varchar = NULL, c_char = NULL,
            c_bytea = NULL, c_bool = NULL, c_date = NULL, c_time = NULL, c_timetz = NULL,
            c_timestamp = NULL, c_timestamptz = NULL, c_interval = NULL, c_uuid = NULL,
            c_inet = NULL, c_cidr = NULL, c_macaddr = NULL, c_json = NULL, c_jsonb = NULL,
            c_int_array = NULL, c_text_array = NULL, c_enum = NULL, c_domain = NULL,
            c_int4range = NULL, c_tstzrange = NULL
            WHERE id = 1;)sql");
    exec_source("UPDATE every_type AS t SET (" + std::string(k_writable) + ") = (SELECT " +
                std::string(k_writable) +
                " FROM every_type WHERE id = 2) WHERE t.c_int2 IS NULL AND t.id <> 1");
    exec_source(insert_rows());

    CliResult second = run_once(yaml);
    ASSERT_EQ(second.exit_status, 0) << second.err;
    expect_same_rows(query, query);
    expect_same_rows("SELECT id, md5(c_bytea), length(c_bytea) FROM every_type ORDER BY id",
                     "SELECT id, md5(c_bytea), length(c_bytea) FROM every_type ORDER BY id");
}

// Values that `=` calls equal but that read back differently: an update from one to the other
// must still reach the replica (an `IS DISTINCT FROM` check that skips "unchanged" rows must not
// compare with these types' equality).
TEST_F(CopyTypes, UpdatesToEqualButDifferentlyWrittenValuesArrive) {
    exec_source(R"sql(
        CREATE TABLE equal_values (id int PRIMARY KEY, f4 float4, f8 float8, iv interval,
                                   num numeric, nums numeric[], jb jsonb, js json);
        INSERT INTO equal_values VALUES
            (1, 0, 0, '1 day', 1.0, '{1.0}', '{"a": 1.0}', '{"a":1}'),
            (2, 1, 1, '1 mon', 2.50, '{2.5}', '[1.0]', '[1, 2]'),
            (3, 0, 0, '24 hours', 3, '{3}', '1.0', '{}');)sql");
    const std::string yaml = config("      - source: public.equal_values\n");
    const std::string query =
        "SELECT id::text, f4::text, f8::text, iv::text, num::text, "
        "nums::text, jb::text, js::text FROM equal_values ORDER BY id";
    CliResult first = run_once(yaml);
    ASSERT_EQ(first.exit_status, 0) << first.err;
    expect_same_rows(query, query);

    exec_source(R"sql(
        UPDATE equal_values SET f4 = '-0', f8 = '-0', iv = '24 hours', num = 1.00,
            nums = '{1.000}', jb = '{"a": 1.00}', js = '{"a": 1}' WHERE id = 1;
        UPDATE equal_values SET iv = '30 days', num = 2.5, nums = '{2.50}', jb = '[1.00]',
            js = '[1,2]' WHERE id = 2;
        UPDATE equal_values SET iv = '1 day', num = 3.000, jb = '1' WHERE id = 3;)sql");
    CliResult second = run_once(yaml);
    ASSERT_EQ(second.exit_status, 0) << second.err;
    expect_same_rows(query, query);
}

}  // namespace
}  // namespace syncset::test
