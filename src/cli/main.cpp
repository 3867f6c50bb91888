#include "cli/app.hpp"

int main(int argc, char** argv) {
    return syncset::cli::run(argc, argv);
}
