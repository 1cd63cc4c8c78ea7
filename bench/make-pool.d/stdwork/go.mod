module pgpprof/bench/stdwork

go 1.23
