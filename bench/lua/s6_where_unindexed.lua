-- S6: a page of 25 filtered on `status`, which has no index.
local statuses = { "draft", "published", "archived" }

function init(args)
  math.randomseed(6000 + tid)
end

function request()
  local status = statuses[math.random(#statuses)]
  return wrk.format("GET",
    "/docs?where=%7B%22status%22%3A%20%22" .. status .. "%22%7D&max_results=25")
end
