// core/rdb_parser.hpp — incremental RDB decoder: bytes in, visitor calls out.
//
// Never blocks, never touches a socket or a file. feed() takes chunks of any size; bytes it cannot
// use yet stay in its buffer, and a split anywhere gives the same visitor calls. One item (an
// opcode with its arguments, a key header, one element of an aggregate, one compact blob) is
// decoded only once all of its bytes are present, so memory is bounded by the largest single
// element, never by the file or by a key's element count. Bad input is an Error with the byte
// offset, never an exception; failure is sticky. The CRC64 trailer is checked as bytes go by.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/lzf.hpp"
#include "core/rdb_packed.hpp"
#include "core/rdb_visitor.hpp"

namespace redis_repl::core {

enum class Step : std::uint8_t {
  need_more,  // used what it could; feed more
  done,       // EOF opcode seen and the CRC64 matched (or was zero, or the version has none)
  stopped,    // a visitor callback returned Flow::stop; feed() again (even empty) to go on
  failed,     // see error(); sticky
};

struct RdbLimits {
  std::uint64_t max_string = 512ull << 20;  // one string or blob; Redis' proto-max-bulk-len
  // String values longer than this are handed out in pieces (on_string_begin/chunk/end), so a
  // value of any size costs no more memory than this.
  std::uint64_t stream_string_over = 1ull << 20;
  std::uint64_t input_size = 0;  // total bytes when known (a file); lengths are checked against it
  bool verify_crc = true;
  // The hash-template registry of a REDIS 15 file (RDB_OPCODE_HASH_TEMPLATE) is kept for the
  // whole file: at most this many templates, holding at most this many bytes of field names.
  std::uint64_t max_hash_templates = 1u << 20;
  std::uint64_t max_hash_template_bytes = 256ull << 20;
};

class RdbParser {
 public:
  explicit RdbParser(RdbVisitor& visitor, RdbLimits limits = {});

  Step feed(std::string_view bytes);
  // The input has ended: done if the RDB was complete, otherwise failed with rdb_truncated.
  Step finish();

  const Error& error() const noexcept { return error_; }
  // The input is not the file as given (a decompressed envelope): RdbLimits::input_size no
  // longer bounds the lengths inside.
  void forget_input_size() noexcept { limits_.input_size = 0; }
  std::uint64_t offset() const noexcept { return offset_; }  // bytes consumed so far
  int version() const noexcept { return version_; }
  // Bytes held back because the item they start is not complete yet.
  std::size_t buffered() const noexcept { return buf_.size() - head_; }
  // Bytes received after the RDB ended (after done): a diskless EOF mark, the command stream, or
  // trailing garbage in a file.
  std::string_view trailing() const noexcept { return trailing_; }

 private:
  enum class State : std::uint8_t {
    header,
    top,
    string_value,
    string_raw_stream,  // a long value, handed out as it arrives
    string_lzf_stream,  // a long compressed value, decompressed as it arrives
    list_items,
    set_items,
    zset_items,
    zset2_items,
    hash_items,
    hash_meta_items,
    hash2_items,  // VALKEY HASH_2
    key_meta_class,
    blob_value,
    quicklist_nodes,
    quicklist2_nodes,
    module_ops,
    stream_nodes,
    stream_meta,
    stream_group,
    stream_pel,
    stream_consumer_count,
    stream_consumer,
    stream_consumer_pel,
    stream_nack_count,
    stream_nack,
    stream_idmp_config,
    stream_idmp_producer,
    stream_idmp_entry,
    stream_idmp_tail,
    hash_template_fields,   // REDIS 15 RDB_OPCODE_HASH_TEMPLATE: the field names
    tmpl_self_fields,       // a self-contained template hash's field names, one by one
    tmpl_self_fields_blob,  // ... or as one listpack
    tmpl_values,            // a template hash's values, one by one
    array_items,            // REDIS 14 RDB_TYPE_ARRAY
    path_hash_paths,        // VALKEY 81 RDB_TYPE_PATH_HASH: a path and its field count
    path_hash_fields,       // ... then that path's fields
    eof_crc,
    done,
    failed,
  };
  enum class Status : std::uint8_t { ok, more, fail };
  class Cursor;

  Step run(const char* data, std::size_t size, std::size_t& used);
  Status step(Cursor& c);
  const Cursor* step_cursor_ = nullptr;  // the step in progress: offset_ plus what it has used
  Status step_top(Cursor& c);
  Status step_key(Cursor& c, std::uint8_t type);
  Status step_element(Cursor& c);
  Status begin_string_stream(Cursor& c, bool& streamed);
  Status step_string_stream(Cursor& c);
  Status step_module_op(Cursor& c);
  Status step_key_meta(Cursor& c);
  Status step_slot_import(Cursor& c);
  Status step_update(Cursor& c);
  Status step_hash_template(Cursor& c);
  Status step_template_hash(Cursor& c);
  Status store_template_field(std::string_view field, std::uint64_t at);
  Status template_values_blob(std::string_view blob, std::uint64_t at);
  Status read_resp_number(Cursor& c, char prefix, std::uint64_t& out);
  Status unsupported_type(const Cursor& c, std::uint8_t op);
  void stream_groups_done();
  Status step_stream(Cursor& c);
  Status decode_blob(std::string_view blob, std::uint64_t at);
  Status decode_stream_node(std::string_view node_key, std::string_view lp, std::uint64_t at);

  Status read_len(Cursor& c, std::uint64_t& out);
  Status read_len_special(Cursor& c, std::uint64_t& out, bool& special);
  Status read_string(Cursor& c, std::string_view& out, int slot);
  Status read_count(Cursor& c, std::uint64_t& out, std::uint64_t min_bytes_each);
  Status read_stream_id(Cursor& c, StreamId& out);

  Status fail(Errc code, std::string message, std::uint64_t at);
  Status fail_corrupt(const Cursor& c, std::string message);
  void flow(Flow f) noexcept {
    if (f == Flow::stop) stop_ = true;
  }
  // A per-key modifier (expiry, idle, freq): the key's record starts at the first one.
  void note_modifier() noexcept {
    if (!have_record_start_) record_start_ = offset_;
    have_record_start_ = true;
  }
  void begin_key();
  void end_key();
  std::string_view item_text(const PackedItem& item, int slot) noexcept;

  RdbVisitor& visitor_;
  RdbLimits limits_;
  State state_ = State::header;
  int version_ = 0;
  std::string path_hash_path_;          // the path being read (and the previous one, to compare)
  bool path_hash_have_path_ = false;    // a path of this key has been read
  std::uint64_t path_hash_fields_ = 0;  // fields left in the current path
  bool valkey_ = false;  // "VALKEY" magic: bytes 22, 23, 0xf2 and 0xf3 mean Valkey's types

  std::string buf_;           // received, not yet consumed
  std::size_t head_ = 0;      // first unconsumed byte of buf_
  std::size_t want_ = 0;      // bytes the pending item needs from head_ before it can be retried
  std::uint64_t offset_ = 0;  // absolute offset of the next unconsumed byte
  std::string trailing_;
  Error error_;
  bool stop_ = false;

  std::uint64_t crc_ = 0;
  bool crc_closed_ = false;

  // The key being decoded.
  std::uint64_t db_ = 0;
  std::string key_;
  KeyInfo info_;
  bool skip_ = false;
  bool facts_ = false;  // Flow::facts: blobs loaded as they are come as on_blob only
  bool have_record_start_ = false;
  std::uint64_t record_start_ = 0;
  std::uint64_t left_ = 0;         // elements (or nodes, ops) still to come
  std::uint64_t stream_left_ = 0;  // input bytes of a streamed string value still to come
  std::optional<LzfStream> lzf_stream_;
  std::int64_t hash_min_expire_ = 0;
  char module_name_[10] = {};
  bool module_in_aux_ = false;

  // Key metadata (RDB_OPCODE_KEY_META) read ahead of the key's type byte.
  bool module_in_meta_ = false;
  bool meta_pending_ = false;    // metadata read, the type byte must come next
  std::uint64_t meta_left_ = 0;  // classes still to come
  std::string meta_ops_;         // every class's ops, back to back
  struct MetaSpan {
    std::uint32_t spec;
    std::size_t at, size;
    char name[5];
  };
  std::vector<MetaSpan> meta_spans_;
  std::vector<KeyMetaClass> meta_classes_;

  // VALKEY: slot-import ranges and inline commands.
  std::vector<RdbSlotRange> slot_ranges_;
  std::vector<std::string_view> command_args_;

  // Streams.
  StreamMeta stream_meta_;
  std::uint64_t groups_left_ = 0;
  std::uint64_t pel_left_ = 0;
  std::uint64_t consumers_left_ = 0;
  std::uint64_t consumer_pel_left_ = 0;
  std::vector<PackedItem> master_fields_;
  std::vector<PackedItem> entry_items_;
  std::vector<std::string_view> entry_views_;
  std::string entry_text_;
  std::string function_code_;
  std::uint64_t nack_left_ = 0;
  std::optional<std::uint64_t> array_insert_;
  std::uint64_t idmp_producers_left_ = 0;
  std::uint64_t idmp_entries_left_ = 0;
  std::string idmp_pid_;

  // Hash templates (REDIS 15): the registry, each template's field names back to back in
  // tmpl_names_, and the template being read (by an opcode, or inline in a self-contained key).
  struct Template {
    std::size_t first = 0;  // index of its first name in tmpl_fields_
    std::size_t count = 0;
  };
  std::unordered_map<std::uint64_t, Template> templates_;
  std::vector<std::pair<std::size_t, std::size_t>> tmpl_fields_;  // (at, size) in tmpl_names_
  std::string tmpl_names_;
  std::uint64_t tmpl_bytes_ = 0;  // the registry's field name bytes
  Template tmpl_;                 // the template being read or used
  std::uint64_t tmpl_next_ = 0;   // the next field name or value of tmpl_
  bool tmpl_self_ = false;        // tmpl_ is a self-contained key's own: dropped at its end
  std::size_t tmpl_self_names_ = 0;
  std::uint64_t tmpl_self_bytes_ = 0;

  // Scratch: LZF output and integer text, one per string an item may hold at once.
  static constexpr int slots = 4;
  std::string lzf_[slots];
  char ints_[slots][32] = {};
};

}  // namespace redis_repl::core
