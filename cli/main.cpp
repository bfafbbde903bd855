#include "cli/commands.hpp"

int main(int argc, char** argv) { return redis_repl::cli::run_main(argc, argv); }
