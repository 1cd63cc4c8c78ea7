-- GET $WRK_PATH (accepting gzip like curl/go would; the body is gzip already)
wrk.method = "GET"
wrk.path = os.getenv("WRK_PATH")
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
