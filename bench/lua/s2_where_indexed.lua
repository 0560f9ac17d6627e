-- S2 and S7: a page of 25 filtered on the indexed field `owner` (about
-- 100 documents each), sorted by `seq` descending. args: number of owners.
local owners

function init(args)
  owners = tonumber(args[1])
  math.randomseed(2000 + tid)
end

function request()
  local owner = string.format("user-%06d", math.random(0, owners - 1))
  return wrk.format("GET",
    "/docs?where=%7B%22owner%22%3A%20%22" .. owner .. "%22%7D&sort=-seq&max_results=25")
end
