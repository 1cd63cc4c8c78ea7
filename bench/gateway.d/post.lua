-- POST the file $BODY to $WRK_PATH as application/octet-stream
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.path = os.getenv("WRK_PATH")
wrk.headers["Content-Type"] = "application/octet-stream"
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
