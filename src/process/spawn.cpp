// spawn: resolves the program, prepares argv / envp / the child's fds, launches, and wraps the
// result in a Child with Streams on the parent's pipe ends.
#include "brigade/process/spawn.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string_view>

#include "child_core.hpp"
#include "launch.hpp"

extern char** environ;

namespace brigade::process {

SpawnError::SpawnError(int err, std::string file, std::string step, std::string path)
    : Error(err, "spawn '" + file + "': " + step + (path.empty() ? "" : " '" + path + "'")),
      file_(std::move(file)),
      step_(std::move(step)),
      path_(std::move(path)) {}

namespace {

// Fds opened for the child only; closed once it has them (or the spawn failed).
struct FdList {
  std::vector<int> fds;
  ~FdList() {
    for (int fd : fds) ::close(fd);
  }
  int add(int fd) {
    fds.push_back(fd);
    return fd;
  }
};

bool is_executable_file(const std::string& path, int& err) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return false;
  if (!S_ISREG(st.st_mode) || ::access(path.c_str(), X_OK) != 0) {
    err = EACCES;
    return false;
  }
  return true;
}

std::string_view env_value(const std::vector<char*>& envp, std::string_view key) {
  for (char* e : envp) {
    if (!e) break;
    std::string_view v(e);
    if (v.size() > key.size() && v.substr(0, key.size()) == key && v[key.size()] == '=')
      return v.substr(key.size() + 1);
  }
  return {};
}

// execvp's search, done in the parent so that "not found" is a clear error before any clone.
std::string resolve(const std::string& file, std::string_view path_var) {
  if (file.empty()) throw SpawnError(ENOENT, file, "exec", file);
  if (file.find('/') != std::string::npos) return file;
  if (path_var.empty()) path_var = "/usr/local/bin:/usr/bin:/bin";
  int err = ENOENT;
  while (!path_var.empty()) {
    std::size_t colon = path_var.find(':');
    std::string_view dir = path_var.substr(0, colon);
    path_var = colon == std::string_view::npos ? std::string_view{} : path_var.substr(colon + 1);
    std::string candidate = std::string(dir.empty() ? "." : dir) + "/" + file;
    if (is_executable_file(candidate, err)) return candidate;
  }
  throw SpawnError(err, file, "exec", file);
}

// The environment the child gets: ours or options.env, with options.env_add (and the channel
// fd) set on top. Returns pointers into `store` or into environ.
std::vector<char*> build_env(const SpawnOptions& o, std::vector<std::string>& store,
                             const std::string& extra) {
  std::vector<char*> out;
  if (o.env) {
    for (const auto& e : *o.env) out.push_back(const_cast<char*>(e.c_str()));
  } else {
    for (char** e = environ; *e; ++e) out.push_back(*e);
  }
  store = o.env_add;
  if (!extra.empty()) store.push_back(extra);
  for (const auto& add : store) {
    std::string_view key(add);
    key = key.substr(0, key.find('='));
    std::erase_if(out, [&](char* e) {
      std::string_view v(e);
      return v.size() > key.size() && v.substr(0, key.size()) == key && v[key.size()] == '=';
    });
    out.push_back(const_cast<char*>(add.c_str()));
  }
  out.push_back(nullptr);
  return out;
}

// Sets up the child's fd `i` from `spec`; returns the parent's end of a pipe, or -1.
int setup_stdio(int i, const Stdio& spec, detail::LaunchPlan& plan, FdList& child_only,
                const std::string& file) {
  switch (spec.kind) {
    case Stdio::Kind::kPipe: {
      int p[2];
      if (::pipe2(p, O_CLOEXEC) != 0) throw SpawnError(errno, file, "pipe", "");
      int child_end = i == 0 ? p[0] : p[1];
      plan.fds[i] = child_only.add(child_end);
      return i == 0 ? p[1] : p[0];
    }
    case Stdio::Kind::kInherit:
      plan.fds[i] = i;
      return -1;
    case Stdio::Kind::kIgnore: {
      int fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
      if (fd < 0) throw SpawnError(errno, file, "open", "/dev/null");
      plan.fds[i] = child_only.add(fd);
      return -1;
    }
    case Stdio::Kind::kFile: {
      int flags = spec.flags >= 0 ? spec.flags : (i == 0 ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC);
      int fd = ::open(spec.path.c_str(), flags | O_CLOEXEC, 0644);
      if (fd < 0) throw SpawnError(errno, file, "open", spec.path);
      plan.fds[i] = child_only.add(fd);
      return -1;
    }
    case Stdio::Kind::kFd:
      plan.fds[i] = spec.fd;
      return -1;
  }
  return -1;
}

}  // namespace

Child spawn(Loop& loop, const std::string& file, const std::vector<std::string>& args,
            const SpawnOptions& options) {
  detail::LaunchPlan plan;
  FdList child_only, parent_ends;

  std::string channel_var;
  int channel_fd = -1;
  if (options.ipc) channel_var = std::string(kChannelFdEnv) + "=3";
  std::vector<std::string> env_store;
  std::vector<char*> envp;
  bool own_env = options.env || !options.env_add.empty() || options.ipc;
  if (own_env) envp = build_env(options, env_store, channel_var);

  const char* path_var = own_env ? nullptr : std::getenv("PATH");
  std::string path = resolve(file, path_var ? std::string_view(path_var) : env_value(envp, "PATH"));

  std::vector<char*> argv;
  argv.reserve(args.size() + 2);
  argv.push_back(const_cast<char*>(options.argv0.empty() ? file.c_str() : options.argv0.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> sh_argv;  // a script without #! runs with /bin/sh, as execvp does
  sh_argv.reserve(args.size() + 3);
  sh_argv.push_back(const_cast<char*>("/bin/sh"));
  sh_argv.push_back(const_cast<char*>(path.c_str()));
  for (const auto& a : args) sh_argv.push_back(const_cast<char*>(a.c_str()));
  sh_argv.push_back(nullptr);

  int parent[3];
  for (int i = 0; i < 3; ++i) {
    parent[i] = setup_stdio(i, options.stdio[i], plan, child_only, file);
    if (parent[i] >= 0) parent_ends.add(parent[i]);
  }
  plan.nfds = 3;
  if (options.ipc) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
      throw SpawnError(errno, file, "socketpair", "");
    channel_fd = parent_ends.add(sv[0]);
    plan.fds[plan.nfds++] = child_only.add(sv[1]);
  }
  for (int fd : options.extra_fds) {
    if (plan.nfds == detail::kMaxChildFds) throw SpawnError(EMFILE, file, "extra_fds", "");
    plan.fds[plan.nfds++] = fd;
  }

  plan.path = path.c_str();
  plan.argv = argv.data();
  plan.sh_argv = sh_argv.data();
  plan.envp = own_env ? envp.data() : environ;
  plan.cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
  plan.setsid = options.detached;
  plan.set_uid = options.uid.has_value();
  plan.set_gid = options.gid.has_value();
  plan.uid = options.uid.value_or(0);
  plan.gid = options.gid.value_or(0);

  detail::Launched started = detail::launch(plan);
  if (started.pid < 0) {
    std::string step = plan.step ? plan.step : "clone";
    std::string where = step == "chdir" ? options.cwd : step == "exec" ? path : "";
    throw SpawnError(plan.error, file, step, where);
  }

  Child child;
  auto core = std::make_unique<detail::ChildCore>();
  core->start(loop, started.pid, started.pidfd);
  child.core_ = std::move(core);
  parent_ends.fds.clear();  // from here on the Streams own them
  for (int i = 0; i < 3; ++i) {
    if (parent[i] >= 0)
      child.stdio_[i] = net::Stream::adopt(loop, parent[i], net::Stream::Kind::kOther);
  }
  if (channel_fd >= 0) child.channel_ = Channel::adopt(loop, channel_fd);
  return child;
}

Child spawn(Loop& loop, const std::string& file, const std::vector<std::string>& args) {
  return spawn(loop, file, args, SpawnOptions{});
}

}  // namespace brigade::process
