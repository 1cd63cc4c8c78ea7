package pgo

import (
	"runtime/debug"
)

// Version is the version of this client package; it is sent in the
// User-Agent header as "pg_pprof-go/<Version>".
const Version = "0.1.0"

// userAgent is the User-Agent header value of every upload.
const userAgent = "pg_pprof-go/" + Version

// mainVersion returns the version of the running program for the default
// "version" label: the main module's version from debug.ReadBuildInfo, or,
// for a build from a source tree ("(devel)"), the VCS revision it was built
// from (12 hex digits, "-dirty" appended for a modified tree). It returns ""
// when neither is known; the label is then not sent.
func mainVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	var dirty bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return ""
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}
