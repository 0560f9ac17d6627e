-- S3 (one document) and S4 (a list of 100): POST the body read from
-- args[1] to /posts; every request is validated and stored.
local req

function init(args)
  req = wrk.format("POST", "/posts", { ["Content-Type"] = "application/json" }, read_all(args[1]))
end

function request()
  return req
end
