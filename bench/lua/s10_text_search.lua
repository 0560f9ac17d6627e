-- S10/S11: a page of 25 `articles` found by full-text search (`?q=`),
-- ordered by score. args: the number of documents, then `few` (the number
-- of a random document and a word no document has: a handful of matches)
-- or `all` (a word every document's body holds: every document matches
-- and is ranked).
local n, mode
local words = { "lorem", "ipsum", "dolor", "tempor", "labore", "magna" }

function init(args)
  n = tonumber(args[1])
  mode = args[2]
  math.randomseed(9000 + tid)
end

function request()
  local q
  if mode == "all" then
    q = words[math.random(#words)]
  else
    q = math.random(0, n - 1) .. "%20zebra"
  end
  return wrk.format("GET", "/articles?q=" .. q .. "&max_results=25")
end
