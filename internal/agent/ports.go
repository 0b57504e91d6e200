package agent

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// portRange is an inclusive range of TCP ports.
type portRange struct{ lo, hi uint32 }

// maxPortRanges bounds a -p list; MCM's default is a single range.
const maxPortRanges = 64

// parsePorts parses MCM's -p syntax, "a-b,c,d-e", into ascending ranges.
func parsePorts(s string) ([]portRange, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: port ranges: empty", ErrInvalid)
	}
	parts := strings.Split(s, ",")
	if len(parts) > maxPortRanges {
		return nil, fmt.Errorf("%w: port ranges: %d, at most %d", ErrInvalid, len(parts), maxPortRanges)
	}
	out := make([]portRange, 0, len(parts))
	for _, p := range parts {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(p), "-")
		a, err := parsePort(lo)
		if err != nil {
			return nil, fmt.Errorf("%w: port ranges %q: %v", ErrInvalid, s, err)
		}
		b := a
		if isRange {
			if b, err = parsePort(hi); err != nil {
				return nil, fmt.Errorf("%w: port ranges %q: %v", ErrInvalid, s, err)
			}
		}
		if b < a {
			return nil, fmt.Errorf("%w: port ranges %q: %d-%d is descending", ErrInvalid, s, a, b)
		}
		out = append(out, portRange{a, b})
	}
	slices.SortFunc(out, func(x, y portRange) int { return int(x.lo) - int(y.lo) })
	return out, nil
}

func parsePort(s string) (uint32, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("port %q: want 1-65535", s)
	}
	return uint32(n), nil
}

// contains reports whether port is in one of rs.
func contains(rs []portRange, port uint32) bool {
	for _, r := range rs {
		if port >= r.lo && port <= r.hi {
			return true
		}
	}
	return false
}

// lowestFree returns the lowest port of rs not in used, or 0.
func lowestFree(rs []portRange, used map[uint32]bool) uint32 {
	for _, r := range rs {
		for p := r.lo; p <= r.hi; p++ {
			if !used[p] {
				return p
			}
		}
	}
	return 0
}
