// The I/O edge of the config module: read the file, take the process environment.
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "syncset/config/validate.hpp"
#include "syncset/error.hpp"

namespace syncset::config {

Config load_config_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error(ErrorCode::io, "config " + path + ": cannot open the file", false,
                    "check the path and that the file is readable");
    }
    std::ostringstream text;
    text << in.rdbuf();
    auto env = [](std::string_view name) -> std::optional<std::string> {
        const char* value = std::getenv(std::string(name).c_str());
        if (value == nullptr) {
            return std::nullopt;
        }
        return std::string(value);
    };
    LoadResult result = load_config_text(text.str(), path, env);
    if (result.problems.empty()) {
        return std::move(*result.config);
    }
    std::string message;
    for (const auto& problem : result.problems) {
        if (!message.empty()) {
            message += '\n';
        }
        message += format_problem(path, problem);
    }
    throw Error(ErrorCode::config, message);
}

}  // namespace syncset::config
