-- wrk script: sends requests in pipelined batches of `depth` (default 16) on each connection.
-- wrk counts each response, so Requests/sec is per request, not per batch.
-- Usage: wrk -s bench/wrk/pipeline.lua URL -- [DEPTH]
local batch

function init(args)
  local depth = tonumber(args[1]) or 16
  local one = wrk.format("GET", "/")
  batch = string.rep(one, depth)
end

function request()
  return batch
end
