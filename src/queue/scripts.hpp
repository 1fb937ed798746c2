#pragma once
// The queue's state changes, each one Lua script (atomic on the server). Times come from the
// server's clock (TIME), so hosts with skewed clocks agree on due times.
namespace brigade::queue::scripts {

// ARGV: prefix, job_id ('' for a new one), name, payload, attempts, backoff_ms, priority, delay_ms
// Returns {id, 1 if added / 0 if the id existed}.
inline constexpr const char* kAdd = R"lua(
local p = ARGV[1]
local id = ARGV[2]
if id == '' then id = tostring(redis.call('INCR', p .. 'id')) end
local key = p .. 'job:' .. id
if redis.call('EXISTS', key) == 1 then return {id, 0} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local delay = tonumber(ARGV[8])
local state = 'waiting'
if delay > 0 then state = 'delayed' end
redis.call('HSET', key, 'name', ARGV[3], 'payload', ARGV[4], 'attempts', ARGV[5],
           'backoff', ARGV[6], 'priority', ARGV[7], 'made', '0', 'state', state, 'created', now)
if delay > 0 then
  redis.call('ZADD', p .. 'delayed', now + delay, id)
else
  redis.call('XADD', p .. 's:' .. ARGV[7], '*', 'id', id, 'name', ARGV[3], 'payload', ARGV[4], 'made', '0')
end
return {id, 1}
)lua";

// ARGV: prefix, id, priority level, stream entry id, result, group, keep_ms
// Returns 1 for the first completion, 0 for a duplicate run (only acknowledged).
inline constexpr const char* kComplete = R"lua(
local p = ARGV[1]
local key = p .. 'job:' .. ARGV[2]
local stream = p .. 's:' .. ARGV[3]
local first = 0
local state = redis.call('HGET', key, 'state')
if state and state ~= 'completed' and state ~= 'failed' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('HSET', key, 'state', 'completed', 'result', ARGV[5], 'finished', now)
  redis.call('PEXPIRE', key, ARGV[7])
  redis.call('INCR', p .. 'completed')
  redis.call('PUBLISH', p .. 'events', 'completed ' .. ARGV[2])
  first = 1
end
redis.call('XACK', stream, ARGV[6], ARGV[4])
redis.call('XDEL', stream, ARGV[4])
return first
)lua";

// ARGV: prefix, id, priority level, stream entry id, error, group, keep_ms
// Returns 'retry' (delayed by its backoff), 'dead' (moved to the dead-letter stream), or 'done'
// (the job had already finished: only acknowledged).
inline constexpr const char* kFail = R"lua(
local p = ARGV[1]
local id = ARGV[2]
local key = p .. 'job:' .. id
local stream = p .. 's:' .. ARGV[3]
redis.call('XACK', stream, ARGV[6], ARGV[4])
redis.call('XDEL', stream, ARGV[4])
local state = redis.call('HGET', key, 'state')
if not state or state == 'completed' or state == 'failed' then return 'done' end
local made = redis.call('HINCRBY', key, 'made', 1)
local attempts = tonumber(redis.call('HGET', key, 'attempts'))
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if made < attempts then
  local backoff = tonumber(redis.call('HGET', key, 'backoff')) * (2 ^ (made - 1))
  redis.call('HSET', key, 'state', 'delayed', 'error', ARGV[5])
  redis.call('ZADD', p .. 'delayed', now + backoff, id)
  redis.call('PUBLISH', p .. 'events', 'retrying ' .. id)
  return 'retry'
end
redis.call('HSET', key, 'state', 'failed', 'error', ARGV[5], 'finished', now)
local f = redis.call('HMGET', key, 'name', 'payload')
redis.call('XADD', p .. 'dead', '*', 'id', id, 'name', f[1], 'payload', f[2], 'error', ARGV[5],
           'attempts', tostring(made))
redis.call('PEXPIRE', key, ARGV[7])
redis.call('PUBLISH', p .. 'events', 'failed ' .. id)
return 'dead'
)lua";

// ARGV: prefix, level, group, consumer, min_idle_ms, cursor, count, keep_ms
// Takes over entries whose consumer died (XAUTOCLAIM). Such a run ended with its process, so it
// counts as an attempt: a job that kills every worker running it is dead-lettered after its
// attempts instead of being claimed forever. Returns {next cursor, the entries to run (their
// 'made' field is the job's, this lost run included), how many went to the dead-letter stream}.
inline constexpr const char* kClaim = R"lua(
local p = ARGV[1]
local stream = p .. 's:' .. ARGV[2]
local r = redis.call('XAUTOCLAIM', stream, ARGV[3], ARGV[4], ARGV[5], ARGV[6], 'COUNT', ARGV[7])
local keep = {}
local dead = 0
local now = nil
for _, entry in ipairs(r[2]) do
  local f = entry[2]
  if f then
    local id, made_at = nil, nil
    for i = 1, #f, 2 do
      if f[i] == 'id' then id = f[i + 1] end
      if f[i] == 'made' then made_at = i + 1 end
    end
    local key = p .. 'job:' .. (id or '')
    local state = redis.call('HGET', key, 'state')
    if id and state and state ~= 'completed' and state ~= 'failed' then
      local made = redis.call('HINCRBY', key, 'made', 1)
      local attempts = tonumber(redis.call('HGET', key, 'attempts'))
      local reason = 'the worker running it died (killed, crashed, or stalled past the visibility ' ..
                     'timeout) on attempt ' .. made .. ' of ' .. attempts
      if made >= attempts then
        if not now then
          local t = redis.call('TIME')
          now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end
        redis.call('XACK', stream, ARGV[3], entry[1])
        redis.call('XDEL', stream, entry[1])
        redis.call('HSET', key, 'state', 'failed', 'error', reason, 'finished', now)
        local j = redis.call('HMGET', key, 'name', 'payload')
        redis.call('XADD', p .. 'dead', '*', 'id', id, 'name', j[1], 'payload', j[2], 'error', reason,
                   'attempts', tostring(made))
        redis.call('PEXPIRE', key, ARGV[8])
        redis.call('PUBLISH', p .. 'events', 'failed ' .. id)
        dead = dead + 1
      else
        redis.call('HSET', key, 'error', reason)
        if made_at then f[made_at] = tostring(made) else f[#f + 1] = 'made'; f[#f + 1] = tostring(made) end
        keep[#keep + 1] = entry
      end
    else
      keep[#keep + 1] = entry  -- finished (a duplicate run only acknowledges) or unknown
    end
  end
end
return {r[1], keep, dead}
)lua";

// ARGV: prefix, limit. Moves due delayed jobs to their stream.
// Returns {moved, ms until the next one is due (-1: none)}.
inline constexpr const char* kPromote = R"lua(
local p = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', p .. 'delayed', '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(due) do
  local key = p .. 'job:' .. id
  local f = redis.call('HMGET', key, 'name', 'payload', 'made', 'priority', 'state')
  if f[1] and f[5] == 'delayed' then
    redis.call('XADD', p .. 's:' .. f[4], '*', 'id', id, 'name', f[1], 'payload', f[2], 'made', f[3])
    redis.call('HSET', key, 'state', 'waiting')
  end
  redis.call('ZREM', p .. 'delayed', id)
end
local next = redis.call('ZRANGE', p .. 'delayed', 0, 0, 'WITHSCORES')
local wait = -1
if next[2] then wait = math.max(0, tonumber(next[2]) - now) end
return {#due, wait}
)lua";

}  // namespace brigade::queue::scripts
