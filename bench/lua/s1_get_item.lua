-- S1: GET one item by id. args: ids file.
local ids

function init(args)
  ids = read_lines(args[1])
  math.randomseed(1000 + tid)
end

function request()
  return wrk.format("GET", "/docs/" .. ids[math.random(#ids)])
end
