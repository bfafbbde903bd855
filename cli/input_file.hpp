// cli/input_file.hpp — an RDB to read: a file, or standard input for '-'.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace redis_repl::cli {

class InputFile {
 public:
  // Fatal(io) when it cannot be opened or is a directory.
  explicit InputFile(const std::string& path);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  // Bytes read into buf; 0 at end of input; -1 when interrupted by a signal.
  long read(char* buf, std::size_t n);
  const std::string& name() const { return name_; }
  std::uint64_t size() const { return size_; }  // 0 when not a regular file

 private:
  std::string name_;
  int fd_ = -1;
  bool owned_ = false;
  std::uint64_t size_ = 0;
};

}  // namespace redis_repl::cli
