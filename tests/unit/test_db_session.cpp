#include <gtest/gtest.h>

#include <string>

#include "db/session.hpp"

namespace syncset::db {
namespace {

TEST(DbSession, SetupSqlPinsEverySettingInOneBatch) {
    EXPECT_EQ(build_session_setup_sql(),
              "SET client_encoding = 'UTF8'; SET DateStyle = 'ISO, MDY'; "
              "SET IntervalStyle = 'postgres'; SET TimeZone = 'UTC'; "
              "SET extra_float_digits = '3'; SET bytea_output = 'hex'; "
              "SET standard_conforming_strings = 'on';");
}

TEST(DbSession, ApplicationNameIsSyncsetSlashRole) {
    EXPECT_EQ(application_name_for("source"), "syncset/source");
    EXPECT_EQ(application_name_for("replica:billing"), "syncset/replica:billing");
}

TEST(DbSession, ApplicationNameIsCutTo63BytesOfPrintableAscii) {
    const std::string name = application_name_for(std::string(100, 'r'));
    EXPECT_EQ(name.size(), 63U);
    EXPECT_EQ(application_name_for("replica:zürich\n"), "syncset/replica:z??rich?");
}

}  // namespace
}  // namespace syncset::db
