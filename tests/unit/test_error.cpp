#include <gtest/gtest.h>

#include "syncset/error.hpp"

namespace syncset {
namespace {

TEST(ErrorExitStatus, EachCodeMapsToTheDocumentedExitStatus) {
    EXPECT_EQ(exit_status_for(ErrorCode::usage), 2);
    EXPECT_EQ(exit_status_for(ErrorCode::config), 2);
    EXPECT_EQ(exit_status_for(ErrorCode::schema), 2);
    EXPECT_EQ(exit_status_for(ErrorCode::connection), 3);
    EXPECT_EQ(exit_status_for(ErrorCode::database), 3);
    EXPECT_EQ(exit_status_for(ErrorCode::partial), 4);
    EXPECT_EQ(exit_status_for(ErrorCode::internal), 5);
}

TEST(ErrorContext, ContextIsPrependedAndCodeRetryabilityAndSqlstateKept) {
    Error cause(ErrorCode::connection, "server closed the connection", true, "check the server");
    cause.set_sqlstate("57P01");
    Error wrapped = cause.with_context("copy public.orders -> replica billing");
    EXPECT_STREQ(wrapped.what(),
                 "copy public.orders -> replica billing: server closed the connection");
    EXPECT_EQ(wrapped.code(), ErrorCode::connection);
    EXPECT_TRUE(wrapped.retryable());
    EXPECT_EQ(wrapped.hint(), "check the server");
    EXPECT_EQ(wrapped.sqlstate(), "57P01");
}

}  // namespace
}  // namespace syncset
