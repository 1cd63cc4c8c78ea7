module github.com/pg-pprof/pg_pprof/clients/go

go 1.23
