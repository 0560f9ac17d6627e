-- S9: `$near` around a random point of the seeded area (longitude -10..30,
-- latitude 35..60), within 20 km, nearest 25 first, with `_meta.total`.
-- The `places` store holds the points `seed_places` wrote. args: none.

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  math.randomseed(9000 + tid)
end

function request()
  local lon = -10 + math.random() * 40
  local lat = 35 + math.random() * 25
  local where = string.format(
    '{"loc": {"$near": {"$geometry": {"type": "Point", "coordinates": [%.4f, %.4f]}, "$maxDistance": 20000}}}',
    lon, lat)
  return wrk.format("GET", "/places?max_results=25&where=" .. urlencode(where))
end
