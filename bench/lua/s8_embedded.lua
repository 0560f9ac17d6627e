-- S8: a page of 25 `links`, each embedding two `docs` (`first`, `second`):
-- one query for the page and one per relation. args: number of pages.
local pages

function init(args)
  pages = tonumber(args[1])
  math.randomseed(8000 + tid)
end

function request()
  return wrk.format("GET", "/links?max_results=25&page=" .. math.random(1, pages) ..
    "&embedded=%7B%22first%22%3A%201%2C%20%22second%22%3A%201%7D")
end
