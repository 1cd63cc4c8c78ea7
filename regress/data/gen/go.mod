module pgpprof/regress/gen

go 1.23
