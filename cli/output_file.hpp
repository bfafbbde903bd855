// cli/output_file.hpp — every file redis-repl writes (-o, --state), by one set of rules.
//
// What the path names decides how it is written:
//   "-" (where the flag allows it)   standard output, streamed;
//   a character device or a FIFO     written through, streamed (/dev/null, a pipe to a reader):
//                                    there is nothing to make atomic, so no temporary file;
//   a regular file, or nothing yet   a temporary file beside it, fsync'ed and renamed into place
//                                    only once complete (commit()), removed otherwise: never a
//                                    partial or stale file;
//   a symbolic link                  never written through (a link planted in /tmp must not make
//                                    root overwrite its target): replaced by the rename, as a
//                                    regular file;
//   a directory, a block device,     refused, with ExitCode::io, before anything connects.
//   a socket
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace redis_repl::cli {

enum class OutputKind : std::uint8_t {
  standard_output,  // "-"
  stream,           // a character device or a FIFO, written through
  replace,          // a temporary file renamed over the path (a file, a link, or nothing yet)
};

// What path is, by the rules above; throws Fatal(io) for what is refused or cannot be looked at.
// `what` names the file in messages ("output file", "state file").
OutputKind classify_output(const std::string& path, std::string_view what, bool dash_is_stdout);

// Before connecting: classify_output, and for a file to replace, a temporary file can be made
// beside it (it is removed again). A device or FIFO is not opened (a FIFO would wait for a
// reader). Throws Fatal(io).
void check_output_writable(const std::string& path, std::string_view what, bool dash_is_stdout);

class OutputFile {
 public:
  // Opens the device or FIFO, or creates the temporary file; throws Fatal(io).
  OutputFile(std::string path, std::string what, bool dash_is_stdout);
  // Without commit(), a temporary file is removed: nothing is left behind.
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // Writes every byte; the first failure is kept and later writes do nothing.
  void write(std::string_view bytes);
  bool failed() const { return errno_ != 0; }
  // The reader of standard output or of a FIFO went away (EPIPE): a normal end, as `| head`.
  bool closed_pipe() const;
  std::uint64_t written() const { return written_; }
  OutputKind kind() const { return kind_; }
  // The failure, as a message naming the file.
  std::string error() const;
  // Complete: fsync and rename a temporary file into place, close a device. Throws Fatal(io).
  // Without sync, no fsync: the rename is still atomic, only not yet durable.
  void commit(bool sync = true);

 private:
  std::string path_;
  std::string what_;
  OutputKind kind_;
  std::string tmp_;  // the temporary file until committed, else empty
  int fd_ = -1;
  bool owned_ = false;
  int errno_ = 0;
  std::uint64_t written_ = 0;
};

// The whole of bytes into path, by the same rules (a state file): write and commit.
void write_whole_file(const std::string& path, std::string_view what, std::string_view bytes,
                      bool sync = true);

}  // namespace redis_repl::cli
