// `redis-repl tail`: join a master as a replica and print what replication carries, command by
// command with its offsets; resumable through --state or --from-rdb; reconnects with PSYNC.
#include <poll.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/diagnostics.hpp"
#include "cli/options.hpp"
#include "cli/output_file.hpp"
#include "cli/report_options.hpp"
#include "cli/resume_point.hpp"
#include "core/cluster.hpp"
#include "core/cluster_feed.hpp"
#include "core/glob.hpp"
#include "core/link_policy.hpp"
#include "core/net/cluster.hpp"
#include "core/net/join.hpp"
#include "core/net/sentinel.hpp"
#include "core/net/session.hpp"
#include "core/rdb_filter.hpp"
#include "core/replica.hpp"
#include "core/sentinel.hpp"
#include "formats/sink.hpp"
#include "formats/spool.hpp"

namespace redis_repl::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct TailOptions {
  ConnectionOptions conn;
  std::string format = "json";
  bool snapshot = false;
  std::string state_file;
  bool allow_full_resync = false;
  std::string from_rdb;
  std::vector<std::uint64_t> dbs;
  std::vector<std::string> match;
  std::vector<std::string> commands;
  std::vector<std::string> exclude_commands;
  bool noise = false;
  std::uint64_t count = 0;
  double duration_s = 0;
  std::uint16_t announce_port = 0;
  bool line_buffered = false;
  bool ack_written = false;
  std::string spool_dir;                 // empty: $TMPDIR, else /tmp
  std::uint64_t spool_max = 1ull << 30;  // 0: no spool, a slow reader slows the reading
  ReportFlags report;
  bool snapshot_only = false;     // --format report: the snapshot's report, then stop
  double cluster_refresh_s = 10;  // --cluster: the topology is read again this often
  bool no_dual_channel = false;
  std::string target_version;  // --target-version
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return out;
}

// Snapshot facts nobody asked to see: parsed (and verified) all the same.
struct DiscardSnapshot final : core::RdbVisitor {
  core::Flow on_key_begin(const core::KeyInfo&) override { return core::Flow::skip; }
};

// During a two-connection sync, the feed that arrives while the snapshot is being printed waits
// in a private file (the --spool directory, at most --spool-max bytes), then is printed in order.
class SpoolHold final : public core::net::FeedHold {
 public:
  SpoolHold(const std::string& dir, std::uint64_t max) : dir_(dir), max_(max) {}
  bool push(std::string_view bytes) override {
    if (!spool_.is_open() && !spool_.open(dir_)) {
      why_ = "cannot make a file to hold the feed during the snapshot: " + spool_.what();
      return false;
    }
    if (spool_.queued() + bytes.size() > max_) {
      why_ = "the feed that arrived during the snapshot passed --spool-max (" +
             std::to_string(max_) + " bytes)";
      return false;
    }
    if (!spool_.write(bytes)) {
      why_ = "cannot hold the feed during the snapshot: " + spool_.what();
      return false;
    }
    return true;
  }
  bool pull(std::string& block, std::size_t max) override {
    if (!spool_.is_open() || spool_.queued() == 0) return false;
    if (!spool_.peek(block, max)) {
      why_ = "cannot read back the feed held during the snapshot: " + spool_.what();
      return false;
    }
    spool_.pop(block.size());
    return true;
  }
  std::string why() const override { return why_; }

 private:
  std::string dir_;
  std::uint64_t max_;
  formats::Spool spool_;
  std::string why_;
};

class TailHandler final : public core::net::SessionHandler {
 public:
  TailHandler(const TailOptions& o, formats::Sink& sink, formats::OutBuffer& out)
      : o_(o), sink_(sink), out_(out), start_(Clock::now()) {
    for (const std::string& c : o.commands) commands_.push_back(lower(c));
    for (const std::string& c : o.exclude_commands) excluded_.push_back(lower(c));
  }

  // tail --cluster: this handler is one shard's, among others sharing the sink and the output.
  // Its lines are labelled with origin; --count counts the lines of all of them (counter);
  // its resume point goes to save (the one state file holds every shard's); is_migration
  // tells slot migration from writes.
  void share(formats::Origin* origin, std::uint64_t* counter,
             std::function<void(const ResumePoint&, bool sync)> save,
             std::function<bool(const core::Event&)> is_migration) {
    origin_ = origin;
    printed_ = counter;
    save_ = std::move(save);
    is_migration_ = std::move(is_migration);
  }

  // tail --cluster --snapshot: this session ends at the snapshot's boundary (the feed follows
  // later, with PSYNC from there).
  void stop_at_boundary(bool stop) { stop_at_boundary_ = stop; }

  void attach(core::Replica& r, bool resuming) {
    replica_ = &r;
    resuming_ = resuming;
    connected_at_.reset();
    synced_ = false;
    waiting_noted_ = false;
    mid_transaction_ = false;
  }

  bool on_event(const core::Event& e) override {
    switch (e.kind) {
      case core::Event::Kind::full_resync:
        if (resuming_ && !o_.allow_full_resync) {
          resume_refused_ = true;
          return false;
        }
        synced_ = true;
        if (waiting_noted_ || o_.snapshot) print_info("the master is sending its snapshot");
        return emit(e);
      case core::Event::Kind::partial_resync:
      case core::Event::Kind::transfer_end:
        synced_ = true;
        streamed_ = true;  // from here on, a lost link is mended by reconnecting
        // A report is of the snapshot: it is written, and there is no feed to follow.
        return emit(e) && !o_.snapshot_only && !stop_at_boundary_;
      case core::Event::Kind::command: {
        // --count was reached (by another shard's link, with --cluster) between two commands:
        // this one is not printed, so this batch's resume point (past it) is not recorded.
        // Inside a transaction the rest of it is printed first, as below.
        if (count_reached() && !mid_transaction_) {
          count_cut_ = true;
          return false;
        }
        written_to_ = e.end_offset;
        if (!e.noise) data_end_ = e.end_offset;
        const bool migration = is_migration_ && !e.noise && is_migration_(e);
        if (origin_) origin_->migration = migration;
        if ((!migration || o_.noise) && wanted(e)) {
          if (!emit(e)) return false;
          ++*printed_;
        }
        if (origin_) origin_->migration = false;
        // Stop only at a command boundary outside a transaction, so a resume misses nothing.
        mid_transaction_ = e.end_offset != replica_->boundary();
        return !(count_reached() && !mid_transaction_);
      }
      case core::Event::Kind::failed:
        failure_ = e;
        return false;
      default:
        return true;
    }
  }

  // Once per socket read: one write of everything it produced (or, for a reader that is behind,
  // into the spool), then the state file, so that a SIGKILL reprints at most this batch.
  std::int64_t on_batch_end() override {
    // To a pipe or a file, reads that follow each other closely share one write of at least
    // 64 KiB; the output never waits more than 10 ms for that (the 100 ms ticker flushes what a
    // burst left behind). On a terminal, or with --line-buffered, lines go out as they come.
    const auto now = Clock::now();
    if (out_.line_mode() || out_.buffer().size() >= (64u << 10) ||
        now - last_flush_ >= std::chrono::milliseconds(10) || replica_->ack_requested()) {
      // (A GETACK waits for the output: a WAIT on the master is answered at once.)
      out_.flush();
      last_flush_ = now;
    }
    if (!out_.ok()) return -1;
    // The batch ends at produced(): it counts as written once the reader has taken that far.
    if (replica_->boundary() >= 0 && !count_cut_) {
      const Mark& last = marks_.empty() ? delivered_ : marks_.back();
      if (last.offset != written_to_ || last.resume.offset != replica_->boundary() ||
          last.resume.replid != replica_->replid())
        marks_.push_back(
            Mark{out_.produced(), written_to_,
                 ResumePoint{replica_->replid(), replica_->boundary(), replica_->boundary_db()}});
    }
    return settle();
  }

  // Moves past the marks the reader has taken: their offset is what the ACKs report and the
  // state file records (only what reached the output moves them).
  std::int64_t settle() {
    bool moved = false;
    while (!marks_.empty() && marks_.front().at <= out_.written()) {
      delivered_ = marks_.front();
      marks_.pop_front();
      moved = true;
    }
    if (moved) save_state(false);
    return delivered_.offset;
  }

  // The state file: renamed into place whenever the point moved, fsync'ed at most once a second
  // (and always with sync, at the end).
  void save_state(bool sync) {
    const ResumePoint& p = delivered_.resume;
    if (o_.state_file.empty() || !p.valid()) return;
    const bool moved = p.offset != saved_offset_ || p.replid != saved_replid_;
    if (!moved && !sync) return;
    sync = sync || Clock::now() - last_sync_ >= std::chrono::seconds(1);
    if (save_) {
      save_(p, sync);
    } else {
      write_state(o_.state_file, p, sync);
    }
    if (sync) last_sync_ = Clock::now();
    saved_offset_ = p.offset;
    saved_replid_ = p.replid;
  }
  // The end of the last command that was not housekeeping (-1: none yet).
  std::int64_t data_end() const { return data_end_; }

  // What reached the output, as a resume point (invalid before anything did).
  const ResumePoint& delivered() const { return delivered_.resume; }

  void on_connected() override { connected_at_ = Clock::now(); }

  core::net::FeedHold* feed_hold() override {
    if (o_.spool_max == 0) return nullptr;  // no spool: held in memory, bounded
    if (!hold_) hold_ = std::make_unique<SpoolHold>(o_.spool_dir, o_.spool_max);
    return hold_.get();
  }
  void on_fallback(const std::string& why) override {
    hold_.reset();
    print_warning("two-connection sync failed (" + why + "); syncing over one connection");
  }

  bool wants_stop() override {
    if (!out_.buffer().empty()) {  // what a burst left behind goes out within 100 ms
      out_.flush();
      last_flush_ = Clock::now();
    }
    if (caught_signal() || !out_.ok() || count_reached()) return true;
    if (reader_gone()) {  // `| head -1` on an idle master: nothing to write, yet time to go
      out_.mark_closed();
      return true;
    }
    if (!synced_ && !waiting_noted_ && connected_at_ &&
        Clock::now() - *connected_at_ >= std::chrono::seconds(1)) {
      waiting_noted_ = true;
      print_info(
          "waiting for the master to start the sync (a diskless sync waits "
          "repl-diskless-sync-delay for more replicas, then forks to make the snapshot)");
    }
    return o_.duration_s > 0 &&
           Clock::now() - start_ >= std::chrono::duration<double>(o_.duration_s);
  }

  bool resume_refused() const { return resume_refused_; }
  // The last session reached the command stream.
  bool streamed() const { return streamed_; }
  bool count_reached() const { return o_.count && *printed_ >= o_.count; }
  const std::optional<core::Event>& failure() const { return failure_; }
  void reset_failure() {
    failure_.reset();
    streamed_ = false;
  }

 private:
  bool emit(const core::Event& e) {
    sink_.set_origin(origin_);
    sink_.on_replication(e);
    return out_.ok();
  }

  bool wanted(const core::Event& e) const {
    if (e.noise && !o_.noise) return false;
    if (!o_.dbs.empty() && std::find(o_.dbs.begin(), o_.dbs.end(), e.db) == o_.dbs.end())
      return false;
    const std::string name = lower(e.args[0]);
    if (!commands_.empty() &&
        std::find(commands_.begin(), commands_.end(), name) == commands_.end())
      return false;
    if (std::find(excluded_.begin(), excluded_.end(), name) != excluded_.end()) return false;
    if (!o_.match.empty()) {
      // The key is the first argument for the commands that carry one.
      if (e.args.size() < 2) return false;
      const std::string_view key = e.args[1];
      return std::any_of(o_.match.begin(), o_.match.end(),
                         [&](const std::string& g) { return core::glob_match(g, key); });
    }
    return true;
  }

  // The reader of a pipe went away: poll() reports an error on our end of it.
  static bool reader_gone() {
    pollfd p{STDOUT_FILENO, 0, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0;
  }

  const TailOptions& o_;
  formats::Sink& sink_;
  formats::OutBuffer& out_;
  Clock::time_point start_;
  std::vector<std::string> commands_, excluded_;
  core::Replica* replica_ = nullptr;
  bool resuming_ = false;
  bool stop_at_boundary_ = false;
  bool count_cut_ = false;
  bool mid_transaction_ = false;  // the last command handed out is inside a MULTI/EXEC
  bool resume_refused_ = false;
  bool streamed_ = false;
  std::int64_t written_to_ = -1;
  std::uint64_t own_printed_ = 0;
  std::uint64_t* printed_ = &own_printed_;
  formats::Origin* origin_ = nullptr;
  std::function<void(const ResumePoint&, bool)> save_;
  std::function<bool(const core::Event&)> is_migration_;
  std::optional<core::Event> failure_;
  struct Mark {
    std::uint64_t at = 0;      // the output's produced() after the batch
    std::int64_t offset = -1;  // the replication offset handed out by then
    ResumePoint resume;        // the command boundary by then
  };
  std::deque<Mark> marks_;  // batches not yet taken by the reader, in order
  Mark delivered_;
  std::int64_t saved_offset_ = -1;
  Clock::time_point last_sync_{};
  Clock::time_point last_flush_{};
  std::string saved_replid_;
  std::optional<Clock::time_point> connected_at_;  // of this session's connection
  std::int64_t data_end_ = -1;
  bool synced_ = false;
  bool waiting_noted_ = false;
  std::unique_ptr<SpoolHold> hold_;
};

// ---- tail --cluster ----------------------------------------------------------------------------
// One link per master shard, all on one event loop in this thread, one sink, one output. Each
// shard has its own resume point (one state file holds them all), its own reconnect policy and
// its own handler (the same TailHandler as one master's tail, sharing --count). Between slices of
// the loop: links that ended are mended, and the topology is read again on every lost link and
// every --cluster-refresh seconds (a failover inside a shard, a new shard, a shard left empty).

struct ShardRun {
  explicit ShardRun(const core::Shard& s)
      : policy(core::RetryRules{std::chrono::milliseconds(500), std::chrono::milliseconds(30000),
                                true, std::nullopt}) {
    set_shard(s);
  }
  core::Shard shard;       // as last read
  core::SlotMoves moves;   // the slots it moves, as last read
  std::string node;        // "<master node id> <host:port>": the master followed
  formats::Origin origin;  // views of shard.id and node
  core::net::Server server;
  ResumePoint resume;
  std::string pin_channel;
  bool joining = false;      // resume is our join point, not the user's
  bool failed_over = false;  // the next link is to a promoted replica
  std::unique_ptr<TailHandler> handler;
  std::unique_ptr<core::Replica> replica;
  std::unique_ptr<core::net::Link> link;
  core::Reconnect policy;
  Clock::time_point retry_at{};  // with no link: when to start one
  bool ended = false;            // stopped (--count, --duration): not restarted

  void set_shard(const core::Shard& s) {
    shard = s;
    origin.shard = shard.id;
    std::fill(moves.importing.begin(), moves.importing.end(), false);
    std::fill(moves.migrating.begin(), moves.migrating.end(), false);
    for (const std::uint16_t slot : shard.importing) moves.importing[slot] = true;
    for (const std::uint16_t slot : shard.migrating) moves.migrating[slot] = true;
  }
  void set_master(const core::ClusterNode& master, const core::net::Server& node_like) {
    node = master.id + " " + master.address.name();
    server = core::net::server_for(node_like, master);
    origin.shard = shard.id;
    origin.node = node;
  }
};

int run_tail_cluster(TailOptions& o) {
  if (!o.from_rdb.empty())
    throw Fatal(ExitCode::usage, "--from-rdb names one master's history: not with --cluster");
  formats::Format format = formats::Format::json;
  if (!formats::parse_format(o.format, format) ||
      (format != formats::Format::json && format != formats::Format::human))
    throw Fatal(ExitCode::usage,
                "tail --cluster writes json or human, not '" + o.format +
                    "' (a raw command stream would mix the commands of different shards)");
  ClusterState state;
  if (!o.state_file.empty()) {
    check_output_writable(o.state_file, "state file", false);
    state = read_cluster_state(o.state_file);
  }

  const core::net::Server node_like = server_of(o.conn);
  const std::vector<core::HostPort> seeds = cluster_seeds_of(o.conn);
  const auto step_timeout =
      std::chrono::milliseconds(static_cast<std::int64_t>(std::min(o.conn.timeout_s, 5.0) * 1000));
  // The shards as last read; at first, as the state file saved them, so that a shard whose
  // id is derived keeps it across a failover made while tail was stopped.
  core::Topology known;
  for (const auto& [id, saved] : state) {
    if (saved.nodes.empty()) continue;
    core::Shard k;
    k.id = id;
    k.master.id = saved.nodes.front();
    for (std::size_t i = 1; i < saved.nodes.size(); ++i) k.replicas.push_back({saved.nodes[i]});
    known.shards.push_back(std::move(k));
  }
  std::vector<core::HostPort> asked = seeds;  // the seeds, then every master known
  auto discover = [&](core::net::ClusterDiscovery& d) {
    d = core::net::discover_cluster(asked, node_like, step_timeout);
    if (!d.found) return false;
    core::assign_shard_ids(known, d.topology);
    known = d.topology;
    asked = seeds;
    for (const core::Shard& s : known.shards)
      if (std::find(asked.begin(), asked.end(), s.master.address) == asked.end())
        asked.push_back(s.master.address);
    return true;
  };
  core::net::ClusterDiscovery first;
  if (!discover(first)) throw Fatal(exit_code_for(first.failure), first.error);

  formats::OutBuffer out(STDOUT_FILENO);
  out.set_line_mode(o.line_buffered || ::isatty(STDOUT_FILENO) == 1);
  out.spool_to(o.spool_dir, o.spool_max);
  if (!out.ok()) throw Fatal(ExitCode::io, out.failure());
  std::unique_ptr<formats::Sink> sink = formats::make_sink(format, out);
  if (o.dbs.empty() && o.conn.db) o.dbs.push_back(*o.conn.db);
  DiscardSnapshot discard;
  core::KeyFilter filter;
  filter.dbs = o.dbs;
  filter.globs = o.match;
  core::FilterVisitor filtered(filter, *sink);

  std::uint64_t printed = 0;
  core::RecentlyMoved moved;  // keys taken in by RESTORE-ASKING, for the source shard's DEL
  std::map<std::string, std::unique_ptr<ShardRun>> runs;
  core::net::EventLoop loop;

  auto add_shard = [&](const core::Shard& shard) {
    auto run = std::make_unique<ShardRun>(shard);
    ShardRun& r = *run;
    r.set_master(shard.master, node_like);
    r.handler = std::make_unique<TailHandler>(o, *sink, out);
    const std::string id = shard.id;
    r.handler->share(
        &r.origin, &printed,
        [&state, &o, &r, id](const ResumePoint& p, bool sync) {
          ShardResume& saved = state[id];
          saved.point = p;
          saved.nodes = {r.shard.master.id};
          for (const core::ClusterNode& n : r.shard.replicas) saved.nodes.push_back(n.id);
          write_cluster_state(o.state_file, state, sync);
        },
        [&r, &moved](const core::Event& e) {
          return core::is_migration(e.args, r.moves, &moved, Clock::now());
        });
    if (const auto it = state.find(id); it != state.end()) r.resume = it->second.point;
    if (!r.resume.valid() && !o.snapshot) {
      core::net::JoinPoint join;
      if (core::net::find_join_point(r.server, join, [](const std::string&) {}).empty()) {
        r.resume = ResumePoint{join.replid, join.offset, core::unknown_db};
        r.pin_channel = join.pin_channel;
        r.joining = true;
      }
    }
    print_info("shard " + id + ": master " + r.node +
               (r.resume.valid() && !r.joining
                    ? ", resuming at offset " + std::to_string(r.resume.offset)
                    : ""));
    runs[id] = std::move(run);
  };
  for (const core::Shard& s : first.topology.shards)
    if (!s.slots.empty()) add_shard(s);
  if (runs.empty()) throw Fatal(ExitCode::usage, "the cluster has no shard that serves a slot");
  // A saved shard that matches none now (its nodes all replaced, or its slots all moved away):
  // its resume point cannot be used, and the user is told.
  for (const auto& [id, saved] : state)
    if (!runs.count(id))
      print_warning("the state file's shard " + id +
                    " matches no shard of the cluster now: its resume point is not used");

  // --snapshot: every shard's snapshot first, one shard after the other (so that their keys do not
  // mix), each ended by its boundary record; the feeds then continue from each boundary with
  // PSYNC, which the masters' backlogs serve.
  auto take_snapshot = [&](ShardRun& r) {
    core::ReplicaConfig config =
        core::net::replica_config(r.server, core::ReplicaConfig::Snapshot::full);
    config.listening_port = o.announce_port;
    config.ack_holdback = o.ack_written ? 0 : 1;
    core::Replica replica(config, filtered, Clock::now());
    r.handler->attach(replica, false);
    r.handler->stop_at_boundary(true);
    r.handler->reset_failure();
    sink->set_origin(&r.origin);
    const core::net::SessionResult result = core::net::run_session(r.server, replica, *r.handler);
    sink->abort();
    sink->set_origin(nullptr);
    r.handler->stop_at_boundary(false);
    if (const int sig = caught_signal()) return sig;
    if (!out.ok()) throw Fatal(ExitCode::io, out.failure());
    if (replica.replid().empty() || replica.boundary() < 0) {
      std::string why = result.error;
      core::Failure failure = core::Failure::connect;
      if (r.handler->failure()) {
        why = r.server.endpoint.name() + ": " + r.handler->failure()->error.message;
        failure =
            core::failure_of(r.handler->failure()->fail_kind, r.handler->failure()->error.code);
      }
      throw Fatal(exit_code_for(failure),
                  "shard " + r.shard.id + ": no snapshot" + (why.empty() ? "" : " (" + why + ")"));
    }
    r.resume = ResumePoint{replica.replid(), replica.boundary(), replica.boundary_db()};
    r.handler->settle();
    r.handler->save_state(true);
    return 0;
  };
  auto start = [&](ShardRun& r) {
    if (r.failed_over && r.resume.valid()) {
      // As with Sentinel: what the old master sent after the promotion, when only housekeeping,
      // is skipped by resuming at the promotion point.
      r.failed_over = false;
      std::string replid2;
      std::int64_t second = -1;
      if (core::net::promotion_point(r.server, replid2, second).empty())
        if (const auto at = core::resume_on_promoted(r.resume.replid, r.resume.offset,
                                                     r.handler->data_end(), replid2, second))
          r.resume.offset = *at;
    }
    core::ReplicaConfig config =
        core::net::replica_config(r.server, core::ReplicaConfig::Snapshot::empty);
    config.listening_port = o.announce_port;
    config.replid = r.resume.replid;
    config.offset = r.resume.offset;
    config.db = r.resume.db;
    config.pin_channel = r.pin_channel;
    config.ack_holdback = o.ack_written ? 0 : 1;
    r.replica = std::make_unique<core::Replica>(config, discard, Clock::now());
    r.handler->attach(*r.replica, r.resume.valid() && !r.joining);
    r.joining = false;
    r.handler->reset_failure();
    r.link = std::make_unique<core::net::Link>(loop.io(), r.server, *r.replica, *r.handler);
    r.link->start();
  };
  // The link is gone (or going): its replica's resume point is kept, its output settled.
  auto drop_link = [&](ShardRun& r) {
    if (r.link) r.link->stop();
    if (out.ok() && r.replica && !r.replica->replid().empty() && r.replica->boundary() >= 0)
      r.resume = ResumePoint{r.replica->replid(), r.replica->boundary(), r.replica->boundary_db()};
    r.link.reset();
    r.replica.reset();
  };
  auto finish_output = [&] {
    for (auto& [id, r] : runs) drop_link(*r);
    sink->set_origin(nullptr);
    if (out.ok() && out.spooled() > 0) {
      print_info("writing the " + std::to_string(out.spooled()) +
                 " bytes of output still spooled (Ctrl-C again to stop at once)");
      out.drain(true, [] { return signal_count() >= 2; });
    }
    for (auto& [id, r] : runs) {
      r->handler->settle();
      if (out.ok() || out.closed()) r->handler->save_state(true);
    }
  };
  auto failover_line = [&](ShardRun& r, const std::string& from) {
    sink->set_origin(&r.origin);
    sink->on_failover(formats::Failover{{},
                                        from,
                                        r.node,
                                        std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count()});
    sink->set_origin(nullptr);
  };

  // Applies a topology read: failovers inside shards, new shards, shards left without slots.
  auto follow = [&](const core::Topology& t) {
    for (const core::Shard& s : t.shards) {
      const auto it = runs.find(s.id);
      if (it == runs.end()) {
        if (s.slots.empty()) continue;
        print_info("shard " + s.id + " joined the cluster: following it from now on");
        add_shard(s);
        continue;
      }
      ShardRun& r = *it->second;
      const std::string old_id = r.shard.master.id;
      const std::string from = r.node;
      r.set_shard(s);
      if (s.master.id != old_id && !r.ended) {
        drop_link(r);
        r.set_master(s.master, node_like);
        r.failed_over = true;
        r.retry_at = Clock::now();
        failover_line(r, from);
        print_info("failover: shard " + s.id + " moved from " + from + " to " + r.node +
                   "; continuing there");
      }
    }
    for (auto it = runs.begin(); it != runs.end();) {
      const auto in = std::find_if(t.shards.begin(), t.shards.end(), [&](const core::Shard& s) {
        return s.id == it->first && !s.slots.empty();
      });
      if (in != t.shards.end()) {
        ++it;
        continue;
      }
      print_info("shard " + it->first + " serves no slot any more: leaving it");
      drop_link(*it->second);
      it->second->handler->settle();
      state.erase(it->first);
      it = runs.erase(it);
    }
  };

  if (o.snapshot)
    for (auto& [id, r] : runs)
      if (!r->resume.valid())
        if (const int sig = take_snapshot(*r)) {
          finish_output();
          return 128 + sig;
        }

  const auto refresh_every = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(o.cluster_refresh_s));
  Clock::time_point next_refresh = Clock::now() + refresh_every;
  for (;;) {
    Clock::time_point now = Clock::now();
    for (auto& [id, r] : runs)
      if (!r->link && !r->ended && now >= r->retry_at) start(*r);
    loop.run_for(std::chrono::milliseconds(100));
    // (With no link up, the loop has nothing to wait for: the wait for a retry is here.)
    if (std::none_of(runs.begin(), runs.end(),
                     [](const auto& r) { return r.second->link != nullptr; }))
      sleep_unless_signalled(std::chrono::milliseconds(100));
    if (const int sig = caught_signal()) {
      finish_output();
      return 128 + sig;
    }
    bool lost = false;
    now = Clock::now();
    for (auto& [id, rp] : runs) {
      ShardRun& r = *rp;
      if (!r.link || !r.link->finished()) continue;
      const core::net::SessionResult result = r.link->result();
      drop_link(r);
      if (r.handler->resume_refused()) {
        finish_output();
        throw Fatal(ExitCode::resume_refused,
                    "shard " + id + ", " + r.server.endpoint.name() +
                        ": the master answered the resume with a full resync (the offset is no "
                        "longer in its backlog, or its history changed); --allow-full-resync "
                        "accepts that");
      }
      if (out.closed()) {
        finish_output();
        return static_cast<int>(ExitCode::ok);
      }
      if (out.error()) throw Fatal(ExitCode::io, out.failure());
      r.handler->save_state(true);
      core::LinkOutcome outcome;
      outcome.end = result.end;
      outcome.streamed = r.handler->streamed();
      std::string why = "shard " + id + ": " + result.error;
      if (result.end == core::SessionEnd::finished && r.handler->failure()) {
        const core::Event& f = *r.handler->failure();
        outcome.fail_kind = f.fail_kind;
        outcome.code = f.error.code;
        why = "shard " + id + ", " + r.server.endpoint.name() + ": " + f.error.message;
      }
      const core::Decision next = r.policy.after(outcome, now);
      if (next.action == core::Decision::Action::done) {
        r.ended = true;
        continue;
      }
      if (next.action == core::Decision::Action::fail) {
        finish_output();
        throw Fatal(exit_code_for(next.failure), why);
      }
      print_warning(why + "; reconnecting in " + std::to_string(next.wait.count()) + " ms");
      r.retry_at = now + next.wait;
      lost = true;
    }
    if (std::all_of(runs.begin(), runs.end(), [](const auto& r) { return r.second->ended; })) {
      finish_output();
      return static_cast<int>(ExitCode::ok);
    }
    if (lost || now >= next_refresh) {
      next_refresh = now + refresh_every;
      core::net::ClusterDiscovery d;
      if (discover(d)) {
        follow(d.topology);
      } else {
        print_warning("cannot read the cluster's topology (" + d.error +
                      "); following the shards as they were");
      }
    }
  }
}

int run_tail(TailOptions& o, CLI::App& cmd) {
  resolve_connection_options(cmd, o.conn);
  if (o.conn.cluster) return run_tail_cluster(o);
  if (!o.state_file.empty() && !o.from_rdb.empty())
    throw Fatal(ExitCode::usage, "--state and --from-rdb both say where to resume: give one");
  formats::Format format = formats::Format::json;
  if (!formats::parse_format(o.format, format) || format == formats::Format::keys ||
      format == formats::Format::memory)
    throw Fatal(ExitCode::usage, "tail writes json, human, resp or report, not '" + o.format + "'");
  o.snapshot_only = format == formats::Format::report;
  if (o.snapshot_only && (!o.snapshot || !o.state_file.empty() || !o.from_rdb.empty()))
    throw Fatal(ExitCode::usage,
                "--format report reports the snapshot: it wants --snapshot, and no --state or "
                "--from-rdb");
  resolve_report_options(cmd, o.snapshot_only, o.report);
  const std::optional<formats::ServerVersion> target =
      resolve_target_version(cmd, o.target_version, format == formats::Format::resp);

  ResumePoint resume;
  if (!o.state_file.empty()) {
    // Found now, not after a whole sync: a state file that cannot be written (exit 10).
    check_output_writable(o.state_file, "state file", false);
    resume = read_state(o.state_file);
  }
  if (!o.from_rdb.empty()) resume = read_rdb_resume_point(o.from_rdb);

  formats::OutBuffer out(STDOUT_FILENO);
  // A terminal sees each line as it comes; a pipe or a file gets one write per socket read.
  out.set_line_mode(o.line_buffered || ::isatty(STDOUT_FILENO) == 1);
  // A pipe whose reader falls behind: spool rather than make the master drop us.
  out.spool_to(o.spool_dir, o.spool_max);
  if (!out.ok()) throw Fatal(ExitCode::io, out.failure());
  std::unique_ptr<formats::Sink> sink = o.snapshot_only
                                            ? formats::make_report_sink(out, o.report.options)
                                            : formats::make_sink(format, out, target);
  // -n (or the URI's /db) is the default for --db.
  if (o.dbs.empty() && o.conn.db) o.dbs.push_back(*o.conn.db);
  core::KeyFilter filter;
  filter.dbs = o.dbs;
  filter.globs = o.match;
  core::FilterVisitor filtered(filter, *sink);
  DiscardSnapshot discard;
  core::RdbVisitor& snapshot_visitor =
      o.snapshot ? static_cast<core::RdbVisitor&>(filtered) : discard;

  TailHandler handler(o, *sink, out);
  // With --sentinel, the master is whichever the sentinels name: now, and again after every
  // link that ends, so that a failover is followed (PSYNC continues on the promoted replica).
  const std::optional<core::net::SentinelConfig> sentinels = sentinel_config_of(o.conn);
  std::optional<core::net::MasterFinder> finder;
  if (sentinels) finder.emplace(*sentinels, server_of(o.conn));
  core::MasterTracker followed;
  core::net::Server server = server_of(o.conn);
  // Asks the sentinels; false (with the failure) when none named a master.
  core::DiscoveryFailure lost;
  std::optional<core::HostPort> moved_from;  // after a "+switch-master": the old master
  bool failed_over = false;                  // the next link is to a promoted replica
  auto ask_sentinels = [&] {
    const core::net::Discovery d = finder->find(moved_from);
    if (!d.found) {
      lost = d.failure;
      return false;
    }
    server = d.master;
    moved_from.reset();
    const core::HostPort now{server.endpoint.host, server.endpoint.port};
    if (!followed.current())
      print_info("master '" + o.conn.master_name + "' is at " + now.name() + " (sentinel " +
                 d.sentinel + ")");
    if (const auto change = followed.observe(now)) {
      const std::string from = change->from.name(), to = change->to.name();
      sink->on_failover(formats::Failover{o.conn.master_name, from, to,
                                          std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count()});
      print_info("failover: master '" + o.conn.master_name + "' moved from " + from + " to " + to +
                 " (sentinel " + d.sentinel + "); continuing there");
      failed_over = true;
    }
    return true;
  };
  if (finder && !ask_sentinels()) throw Fatal(exit_code_for(lost.failure), lost.message);
  std::string where = server.endpoint.name();
  // As a Redis replica: once the feed has flowed, a lost link is mended, waiting 0.5 s, 1 s, ...
  // up to 30 s between tries.
  core::Reconnect policy(core::RetryRules{std::chrono::milliseconds(500),
                                          std::chrono::milliseconds(30000), true, std::nullopt});

  // From now on, with no gap and no fork: join at the master's current offset (see
  // core/net/join.hpp). If that cannot be had, an empty snapshot (the master forks).
  std::string pin_channel;
  bool joining = false;
  if (!o.snapshot && !resume.valid()) {
    core::net::JoinPoint join;
    const std::string err =
        core::net::find_join_point(server, join, [](const std::string& what) { print_info(what); });
    if (err.empty()) {
      resume = ResumePoint{join.replid, join.offset, core::unknown_db};
      pin_channel = join.pin_channel;
      joining = true;
    } else if (!join.link_failed) {
      print_warning(where + ": cannot join at the current offset (" + err +
                    "); asking for an empty snapshot instead: the master forks, and the feed "
                    "starts where its snapshot was taken");
    }
  }

  // Before ending: what waits in the spool goes out (a second Ctrl-C stops at once), and the
  // state file follows it.
  auto finish_output = [&] {
    if (out.ok() && out.spooled() > 0) {
      print_info("writing the " + std::to_string(out.spooled()) +
                 " bytes of output still spooled (Ctrl-C again to stop at once)");
      out.drain(true, [] { return signal_count() >= 2; });
    }
    handler.settle();
    if (out.ok() || out.closed()) handler.save_state(true);
    print_dropped(sink->dropped());
  };

  for (bool first = true;; first = false) {
    if (finder && !first) {
      if (!ask_sentinels()) {
        // No sentinel named a master (a failover under way, a network split): the same policy
        // as a link that cannot connect.
        const core::Decision next = policy.after(core::link_outcome_of(lost), Clock::now());
        if (next.action != core::Decision::Action::retry) {
          finish_output();
          throw Fatal(exit_code_for(next.failure), lost.message);
        }
        print_warning(lost.message + "; asking again in " + std::to_string(next.wait.count()) +
                      " ms");
        sleep_unless_signalled(next.wait);
        if (const int sig = caught_signal()) {
          finish_output();
          return 128 + sig;
        }
        continue;
      }
      where = server.endpoint.name();
    }
    // The old master goes on sending (Sentinel's hellos, PINGs) until it is demoted; what we
    // took of that after the promotion is not in the new master's history. When it was all
    // housekeeping, resume at the promotion instead of asking for a full resync.
    if (failed_over && resume.valid()) {
      failed_over = false;
      std::string replid2;
      std::int64_t second = -1;
      if (core::net::promotion_point(server, replid2, second).empty()) {
        if (const auto at = core::resume_on_promoted(resume.replid, resume.offset,
                                                     handler.data_end(), replid2, second)) {
          print_info(where + " was promoted at offset " + std::to_string(*at) + "; the " +
                     std::to_string(resume.offset - *at) +
                     " bytes the old master sent after that were housekeeping: resuming there");
          resume.offset = *at;
        }
      }
    }
    core::ReplicaConfig config =
        core::net::replica_config(server, o.snapshot ? core::ReplicaConfig::Snapshot::full
                                                     : core::ReplicaConfig::Snapshot::empty);
    config.listening_port = o.announce_port;
    config.replid = resume.replid;
    config.offset = resume.offset;
    config.db = resume.db;
    config.pin_channel = pin_channel;
    config.ack_holdback = o.ack_written ? 0 : 1;
    // Valkey's dual channel, Redis's rdb channel: only for a whole snapshot (an empty one is
    // asked with a filter the second connection would not know).
    config.two_connections = o.snapshot && !o.no_dual_channel;
    config.rdb_no_compress = o.snapshot;  // the RDB is parsed, never kept
    core::Replica replica(config, snapshot_visitor, Clock::now());
    // The join point is ours, not the user's: a full resync there is no refused resume.
    handler.attach(replica, resume.valid() && !joining);
    joining = false;
    handler.reset_failure();
    // With --sentinel, a sentinel's "+switch-master" ends the session too: the old master is
    // left at once, not when it is demoted.
    std::optional<core::HostPort> switched;
    const core::net::SessionResult result =
        finder ? core::net::run_session_following(server, replica, handler,
                                                  finder->config_in_order(), switched)
               : core::net::run_session(server, replica, handler);
    // A reconnect resumes after all that was received (it is in the output's queue); the state
    // file records only what reached the output. After a failed write, the state saved with the
    // last good batch stands.
    if (out.ok() && !replica.replid().empty() && replica.boundary() >= 0)
      resume = ResumePoint{replica.replid(), replica.boundary(), replica.boundary_db()};
    // Whatever a session left open (a snapshot key cut by a lost link, a signal or --duration) is
    // closed, so the output stays valid; a no-op when nothing is open.
    sink->abort();

    if (const int sig = caught_signal()) {
      finish_output();
      return 128 + sig;
    }
    if (handler.resume_refused()) {
      finish_output();
      throw Fatal(ExitCode::resume_refused,
                  where +
                      ": the master answered the resume with a full resync (the offset is "
                      "no longer in its backlog, or its history changed); "
                      "--allow-full-resync accepts that");
    }
    if (out.closed()) {
      finish_output();
      return static_cast<int>(ExitCode::ok);
    }
    if (out.error()) throw Fatal(ExitCode::io, out.failure());
    handler.save_state(true);

    core::LinkOutcome outcome;
    outcome.end = result.end;
    outcome.streamed = handler.streamed();
    std::string why = result.error;
    if (result.end == core::SessionEnd::finished && handler.failure()) {
      const core::Event& f = *handler.failure();
      outcome.fail_kind = f.fail_kind;
      outcome.code = f.error.code;
      why = where + ": " + f.error.message;
    }
    if (switched) {
      // Like a master that cannot serve us any more: asked again (the sentinels, then PSYNC).
      moved_from = core::HostPort{server.endpoint.host, server.endpoint.port};
      outcome.end = core::SessionEnd::finished;
      outcome.fail_kind = core::FailKind::transient;
      why = "a sentinel announced that master '" + o.conn.master_name + "' moved from " + where +
            " to " + switched->name();
    }
    const core::Decision next = policy.after(outcome, Clock::now());
    if (next.action == core::Decision::Action::done) {
      finish_output();
      return static_cast<int>(ExitCode::ok);
    }
    if (next.action == core::Decision::Action::fail) {
      finish_output();
      throw Fatal(exit_code_for(next.failure), why);
    }
    print_warning(why + "; reconnecting in " + std::to_string(next.wait.count()) + " ms");
    sleep_unless_signalled(next.wait);
    if (const int sig = caught_signal()) {
      finish_output();
      return 128 + sig;
    }
  }
}

}  // namespace

void register_tail(CLI::App& app, Runner& runner) {
  auto o = std::make_shared<TailOptions>();
  CLI::App* cmd =
      app.add_subcommand("tail", "Join a master as a replica and print its command feed");
  cmd->set_help_flag("--help", "Print this help and exit");
  add_connection_options(*cmd, o->conn, true);
  cmd->add_option("--format", o->format,
                  "Output format: json (default), human or resp; or, with --snapshot, report "
                  "(the snapshot's key-space report, then exit)")
      ->check(CLI::IsMember({"json", "human", "resp", "report"}))
      ->option_text("FORMAT");
  add_target_version_option(*cmd, o->target_version);
  add_report_options(*cmd, o->report);
  cmd->add_flag("--snapshot", o->snapshot,
                "Print every key of the snapshot first, then the boundary, then the feed");
  cmd->add_option("--state", o->state_file,
                  "Resume from this file and keep it up to date (replid, offset, db)")
      ->option_text("FILE");
  cmd->add_flag("--allow-full-resync", o->allow_full_resync,
                "When a resume is answered with a full resync, go on instead of exiting 9");
  cmd->add_option("--from-rdb", o->from_rdb,
                  "Resume from the replication info (repl-id, repl-offset) of a saved RDB")
      ->option_text("FILE");
  cmd->add_option("--db", o->dbs, "Only commands and keys of this database (repeatable)")
      ->option_text("N")
      ->check(integer_in(0, max_db, "a database number"))
      ->allow_extra_args(false);
  cmd->add_option("--match", o->match, "Only commands whose key matches this glob (repeatable)")
      ->option_text("GLOB")
      ->allow_extra_args(false);
  cmd->add_option("--command", o->commands, "Only these commands (repeatable)")
      ->option_text("NAME")
      ->allow_extra_args(false);
  cmd->add_option("--exclude-command", o->exclude_commands, "Not these commands (repeatable)")
      ->option_text("NAME")
      ->allow_extra_args(false);
  cmd->add_flag("--noise", o->noise,
                "Also print replication housekeeping: PING, REPLCONF, SELECT, MULTI/EXEC");
  cmd->add_option("--count", o->count, "Stop after printing N commands")
      ->option_text("N")
      ->check(integer_in(1, std::int64_t{1} << 62, "a count"));
  cmd->add_option("--duration", o->duration_s, "Stop after this many seconds")
      ->option_text("SECONDS")
      ->check(number_in(0.001, 1e9, "seconds"));
  cmd->add_flag("--line-buffered", o->line_buffered,
                "Write each line as it comes, also to a pipe or a file (default: on a terminal "
                "only; elsewhere blocks of 64 KiB or more, held at most 10 ms)");
  cmd->add_flag("--ack-written", o->ack_written,
                "ACK exactly what reached the output, so WAIT counts this tail (default: one "
                "byte less, so no WAIT or FAILOVER is ever satisfied by it)");
  cmd->add_option("--spool", o->spool_dir,
                  "Where output waits when the reader of a pipe falls behind (default $TMPDIR, "
                  "else /tmp; a private file, deleted on exit)")
      ->option_text("DIR")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--spool-max", o->spool_max,
                  "At most this much output waits (default 1G; K, M, G suffixes; 0: none); past "
                  "it, reading from the master waits for the reader")
      ->option_text("SIZE")
      ->transform(CLI::AsSizeValue(false));
  cmd->add_flag("--no-dual-channel", o->no_dual_channel,
                "With --snapshot: never take the snapshot on a second connection (Valkey dual "
                "channel, Redis rdb channel), even when the master offers it");
  cmd->add_option("--announce-port", o->announce_port,
                  "Port to announce with REPLCONF listening-port (default: none, shown as 0)")
      ->option_text("PORT")
      ->check(integer_in(0, 65535, "a port"));
  cmd->add_option("--cluster-refresh", o->cluster_refresh_s,
                  "With --cluster: read the topology again this often, and after every lost link "
                  "(default 10)")
      ->option_text("SECONDS")
      ->check(number_in(0.1, 86400, "seconds"));
  set_group(*cmd, "Output",
            {"--format", "--target-version", "--snapshot", "--count", "--duration",
             "--line-buffered", "--spool", "--spool-max"});
  set_group(*cmd, "Filters", {"--db", "--match", "--command", "--exclude-command", "--noise"});
  set_group(*cmd, "Replication",
            {"--state", "--allow-full-resync", "--from-rdb", "--ack-written", "--announce-port",
             "--cluster-refresh", "--no-dual-channel"});
  cmd->callback([o, cmd, &runner] { runner = [o, cmd] { return run_tail(*o, *cmd); }; });
}

}  // namespace redis_repl::cli
