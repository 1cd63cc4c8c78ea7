module github.com/pg-pprof/pg_pprof/examples/service

go 1.23

require github.com/pg-pprof/pg_pprof/clients/go v0.0.0

// The client is used from this repository (no network needed); a service of
// your own would require a released version instead.
replace github.com/pg-pprof/pg_pprof/clients/go => ../../clients/go
