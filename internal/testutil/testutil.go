// Package testutil holds helpers shared by tests: leak checks, polling,
// short run directories and built binaries for end-to-end tests.
package testutil

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Eventually polls fn until it returns nil or timeout passes, then fails
// the test with fn's last error.
func Eventually(t testing.TB, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(wait)
		wait = min(wait*2, 50*time.Millisecond)
	}
}

// CheckLeaks records goroutines, open fds and memfd mappings now and, when
// the test ends, waits up to 5 s for all three to return to that baseline.
func CheckLeaks(t testing.TB) {
	t.Helper()
	g0, f0, m0 := runtime.NumGoroutine(), fds(), memfdMaps()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			g, f, m := runtime.NumGoroutine(), fds(), memfdMaps()
			if g <= g0 && len(f) <= len(f0) && m <= m0 {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("leak: goroutines %d → %d, fds %d → %d (%s), memfd mappings %d → %d\n%s",
					g0, g, len(f0), len(f), strings.Join(newFDs(f0, f), ", "), m0, m, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func fds() map[string]string {
	out := map[string]string{}
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, e := range ents {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		out[e.Name()] = target
	}
	return out
}

func newFDs(before, after map[string]string) []string {
	var s []string
	for fd, target := range after {
		if before[fd] != target {
			s = append(s, fd+"→"+target)
		}
	}
	sort.Strings(s)
	return s
}

func memfdMaps() int {
	b, _ := os.ReadFile("/proc/self/maps")
	return strings.Count(string(b), "/memfd:")
}

// TempRunDir returns a short directory under /tmp (unix socket paths must
// fit in 108 bytes), removed when the test ends.
func TempRunDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "mm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// FreeTCPAddr returns a loopback address with a port free at the time.
func FreeTCPAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

var builds struct {
	sync.Mutex
	dir  string
	done map[string]string
}

// BuildBinaries builds ./cmd/<name> for each name, once per test process,
// and returns the paths by name.
func BuildBinaries(t testing.TB, names ...string) map[string]string {
	t.Helper()
	builds.Lock()
	defer builds.Unlock()
	if builds.done == nil {
		dir, err := os.MkdirTemp("", "mm-bin-")
		if err != nil {
			t.Fatal(err)
		}
		builds.dir, builds.done = dir, map[string]string{}
	}
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range names {
		if p, ok := builds.done[n]; ok {
			out[n] = p
			continue
		}
		p := filepath.Join(builds.dir, n)
		args := []string{"build", "-o", p}
		if RaceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "./cmd/"+n)...)
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", n, err, b)
		}
		builds.done[n], out[n] = p, p
	}
	return out
}

// ModuleRoot finds the directory holding go.mod above the working dir.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}
