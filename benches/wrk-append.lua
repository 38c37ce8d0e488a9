-- wrk script for benches/http-load.sh: each request revises a node's text to a text no other request uses (so
-- none is refused as unchanged), as the admin token in $TOKEN.
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local n = 0
local token = os.getenv("TOKEN")
local node = os.getenv("NODE")
local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }

function request()
  n = n + 1
  local body = string.format('{"text":"負荷試験 %d-%d","reason":"負荷試験","effective":"2017-04-01"}', tid, n)
  return wrk.format("POST", "/api/nodes/" .. node .. "/text", headers, body)
end
