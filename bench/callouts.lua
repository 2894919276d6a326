-- wrk: authenticated account callouts, each for a random valid 32-hex account id;
-- one in ten is for one of 50 "hot" ids, so that some callouts coalesce.
-- Usage: wrk -s bench/callouts.lua URL -- "Basic <base64 user:password>"

local authorization
local hot = {}
local threads = 0

local function hex_id()
  local digits = {}
  for i = 1, 32 do
    digits[i] = string.format("%x", math.random(0, 15))
  end
  return table.concat(digits)
end

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  authorization = args[1]
  -- The same hot ids in every thread, then a different stream per thread.
  math.randomseed(2026)
  for i = 1, 50 do
    hot[i] = hex_id()
  end
  math.randomseed(os.time() * 100 + thread_number)
end

function request()
  local id
  if math.random(10) == 1 then
    id = hot[math.random(#hot)]
  else
    id = hex_id()
  end
  return wrk.format("POST", nil, {
    ["Authorization"] = authorization,
    ["Content-Type"] = "application/json",
    ["Zuora-Request-Id"] = hex_id(),
    ["Zuora-Notification-Id"] = hex_id(),
  }, '{"EventType": "AccountUpdated", "AccountId": "' .. id .. '"}')
end
