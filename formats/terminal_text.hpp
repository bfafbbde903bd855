// formats/terminal_text.hpp — bytes from a peer or a file made safe to show on a terminal.
//
// A master's error reply, a replica's address from INFO, a path: any of them may carry bytes a
// terminal obeys (ESC sequences that clear the screen or set the title, BEL, a C1 CSI). Text for
// people (stderr, the human lag report) goes through here, escaped as redis-cli escapes: \n \r
// \t \a \b, and \xHH for every other control byte (C0, DEL, C1) and every byte that is not part
// of valid UTF-8. Printable ASCII and valid UTF-8 text stay as they are.
#pragma once
#include <string>
#include <string_view>

namespace redis_repl::formats {

void append_terminal_safe(std::string& out, std::string_view bytes);
std::string terminal_safe(std::string_view bytes);

}  // namespace redis_repl::formats
