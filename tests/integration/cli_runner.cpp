#include "cli_runner.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>

namespace syncset::test {

namespace {

std::atomic<int> g_counter{0};

std::string temp_path(const std::string& suffix) {
    return "/tmp/syncset_it_" + std::to_string(getpid()) + "_" + std::to_string(g_counter++) +
           suffix;
}

std::string read_all(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

struct Running {
    pid_t pid = -1;
    std::string out_path;
    std::string err_path;
};

Running start(const std::vector<std::string>& args, const std::string& config_path) {
    Running r{-1, temp_path(".out"), temp_path(".err")};
    pid_t pid = fork();
    if (pid == 0) {
        std::freopen(r.out_path.c_str(), "w", stdout);
        std::freopen(r.err_path.c_str(), "w", stderr);
        std::vector<std::string> all{SYNCSET_BINARY};
        all.insert(all.end(), args.begin(), args.end());
        all.push_back(config_path);
        std::vector<char*> argv;
        for (auto& a : all) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        execv(argv[0], argv.data());
        _exit(127);
    }
    r.pid = pid;
    return r;
}

CliResult finish(const Running& r) {
    int status = 0;
    waitpid(r.pid, &status, 0);
    CliResult result;
    result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.out = read_all(r.out_path);
    result.err = read_all(r.err_path);
    std::remove(r.out_path.c_str());
    std::remove(r.err_path.c_str());
    return result;
}

}  // namespace

std::vector<CliResult> run_syncset_concurrently(int count, const std::vector<std::string>& args,
                                                const std::string& config_yaml) {
    std::string config_path = temp_path(".yaml");
    std::ofstream(config_path) << config_yaml;
    std::vector<Running> running;
    for (int i = 0; i < count; ++i) {
        running.push_back(start(args, config_path));
    }
    std::vector<CliResult> results;
    for (const auto& r : running) {
        results.push_back(finish(r));
    }
    std::remove(config_path.c_str());
    return results;
}

CliResult run_syncset(const std::vector<std::string>& args, const std::string& config_yaml) {
    return run_syncset_concurrently(1, args, config_yaml).at(0);
}

}  // namespace syncset::test
