# Generates a header with one `inline constexpr std::string_view k_<file>_sql` per .sql file
# of a folder, so SQL stays in standalone files (readable, diffable, runnable in psql) and is
# compiled into the binary. Runs at build time whenever a .sql file changes.
#   cmake -DSQL_DIR=... -DOUT=... -DNAMESPACE=... -P embed_sql.cmake
file(GLOB sql_files "${SQL_DIR}/*.sql")
list(SORT sql_files)
set(content "// Generated from ${SQL_DIR} by cmake/embed_sql.cmake. Do not edit.\n#pragma once\n\n#include <string_view>\n\nnamespace ${NAMESPACE} {\n\n")
foreach(f IN LISTS sql_files)
  get_filename_component(name "${f}" NAME_WE)
  file(READ "${f}" body)
  string(APPEND content "inline constexpr std::string_view k_${name}_sql = R\"syncset_sql(${body})syncset_sql\";\n\n")
endforeach()
string(APPEND content "}  // namespace ${NAMESPACE}\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT "${old}" STREQUAL "${content}")
  file(WRITE "${OUT}" "${content}")
endif()
