#include "metrics/process.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace syncset::metrics {

namespace {

std::optional<std::int64_t> read_resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::int64_t size_pages = 0;
    std::int64_t resident_pages = 0;
    if (!(statm >> size_pages >> resident_pages)) {
        return std::nullopt;
    }
    return resident_pages * static_cast<std::int64_t>(sysconf(_SC_PAGESIZE));
}

std::optional<double> read_cpu_seconds() {
    rusage usage{};
    if (getrusage(RUSAGE_SELF, &usage) != 0) {
        return std::nullopt;
    }
    auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Boot time (/proc/stat `btime`) plus the process's start in clock ticks after boot (field 22
// of /proc/self/stat, counted after the command name, which may hold spaces).
std::optional<double> read_start_time_seconds() {
    std::ifstream proc_stat("/proc/stat");
    std::string line;
    std::optional<double> boot;
    while (std::getline(proc_stat, line)) {
        if (line.rfind("btime ", 0) == 0) {
            boot = std::stod(line.substr(6));
            break;
        }
    }
    std::ifstream self("/proc/self/stat");
    std::string stat;
    std::getline(self, stat);
    const std::size_t name_end = stat.rfind(')');
    if (!boot || name_end == std::string::npos) {
        return std::nullopt;
    }
    std::istringstream fields(stat.substr(name_end + 2));
    std::string field;
    // After the name: state is field 3, so starttime (22) is the 20th from here.
    for (int i = 3; i <= 22 && fields >> field; ++i) {
        if (i == 22) {
            const long ticks = sysconf(_SC_CLK_TCK);
            return *boot + std::stod(field) / static_cast<double>(ticks > 0 ? ticks : 100);
        }
    }
    return std::nullopt;
}

std::optional<std::int64_t> read_open_fds() {
    std::error_code error;
    std::int64_t count = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end;
         it.increment(error)) {
        ++count;
    }
    if (error) {
        return std::nullopt;
    }
    return count > 0 ? count - 1 : 0;  // less the descriptor this listing holds open
}

std::optional<std::int64_t> read_max_fds() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
        return std::nullopt;
    }
    return static_cast<std::int64_t>(limit.rlim_cur);
}

// `read()`, or unset when it throws (a malformed /proc line): the other figures still count.
template <typename Read>
auto figure(Read read) noexcept -> decltype(read()) {
    try {
        return read();
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

}  // namespace

ProcessFigures read_process_figures() noexcept {
    return ProcessFigures{.resident_memory_bytes = figure(read_resident_bytes),
                          .cpu_seconds = figure(read_cpu_seconds),
                          .start_time_seconds = figure(read_start_time_seconds),
                          .open_fds = figure(read_open_fds),
                          .max_fds = figure(read_max_fds)};
}

}  // namespace syncset::metrics
