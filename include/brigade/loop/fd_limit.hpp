#pragma once
// The open-file limit: a server holding 10,000 connections needs more than the usual soft
// limit of 1024. Node raises its soft limit to the hard one at start; the first brigade Loop
// does the same (once per process).
#include <cstdint>

namespace brigade {

// Raises RLIMIT_NOFILE's soft limit to the hard limit (to fs.nr_open when the hard limit is
// unlimited). Returns the soft limit in force afterwards.
uint64_t raise_open_file_limit() noexcept;

}  // namespace brigade
