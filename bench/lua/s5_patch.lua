-- S5: PATCH with If-Match, always with the ETag of the document's last
-- write. args: ids file, number of wrk threads. Each thread owns the ids
-- i with i % threads == tid; it first GETs a document to learn its ETag,
-- then PATCHes it with the ETag of the previous answer. A document is in
-- flight on one connection at a time, so no PATCH should get 412.
local unknown = {}
local ready = {}
local n = 0

function init(args)
  local nthreads = tonumber(args[2])
  for i, id in ipairs(read_lines(args[1])) do
    if (i - 1) % nthreads == tid then
      table.insert(unknown, id)
    end
  end
end

function request()
  local item = table.remove(ready, 1)
  if item then
    n = n + 1
    local body = '{"seq": ' .. (n * 64 + tid) .. ', "status": "published"}'
    return wrk.format("PATCH", "/edits/" .. item[1],
      { ["Content-Type"] = "application/json", ["If-Match"] = item[2] }, body)
  end
  local id = table.remove(unknown)
  if id then
    return wrk.format("GET", "/edits/" .. id)
  end
  -- Every document was lost to an error: keep the connection busy.
  return wrk.format("GET", "/")
end

function response(status, headers, body)
  if status ~= 200 then
    return
  end
  local id = body:match('"_id": ?"(%x+)"')
  local etag = body:match('"_etag": ?"(%x+)"')
  if id and etag then
    if body:find('"_status"', 1, true) then
      counted = counted + 1
    end
    table.insert(ready, { id, etag })
  end
end
