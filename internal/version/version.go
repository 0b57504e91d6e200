// Package version tells which build is running.
package version

import "runtime/debug"

// Version is set at build time with -ldflags "-X mediamesh/internal/version.Version=…".
var Version = ""

// String returns Version, else the module version or VCS revision from the
// build info, else "devel".
func String() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return s.Value[:12]
			}
		}
	}
	return "devel"
}
