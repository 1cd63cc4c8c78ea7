-- GET $WRK_PATH<i> for i picked at random in [0, $WRK_TAGS): requests for
-- different selections, which the gateway cannot coalesce
wrk.method = "GET"
local base = os.getenv("WRK_PATH")
local tags = tonumber(os.getenv("WRK_TAGS"))
request = function()
	return wrk.format("GET", base .. math.random(0, tags - 1))
end
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
