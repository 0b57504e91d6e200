package mediaclock

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCLOCKTAIReadable(t *testing.T) {
	t.Parallel()
	if _, err := readClock(unix.CLOCK_TAI); err != nil {
		t.Fatalf("clock_gettime(CLOCK_TAI): %v", err)
	}
	var tx unix.Timex
	if _, err := unix.Adjtimex(&tx); err != nil {
		t.Fatalf("adjtimex: %v", err)
	}
	c := System()
	t.Logf("kernel TAI offset %d s → %s", tx.Tai, c.Source())
	if want := tx.Tai != 0; (c.Source() == sourceTAI) != want {
		t.Errorf("TAI offset %d but Source() = %q", tx.Tai, c.Source())
	}
	if tx.Tai == 0 && !strings.Contains(c.Warning(), "kernel TAI offset is 0") {
		t.Errorf("Warning() = %q", c.Warning())
	}
}

func TestOpenPHCErrors(t *testing.T) {
	t.Parallel()
	_, err := OpenPHC("/dev/ptp-mediamesh-missing")
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "omit --ptp-clock") {
		t.Errorf("missing device: %v", err)
	}
	// /dev/null opens but is no dynamic POSIX clock.
	_, err = OpenPHC(os.DevNull)
	if !errors.Is(err, ErrNotPHC) || !errors.Is(err, unix.EINVAL) {
		t.Errorf("/dev/null: %v", err)
	}
}

// TestOpenPHC runs against a real PTP hardware clock when there is one.
func TestOpenPHC(t *testing.T) {
	t.Parallel()
	const path = "/dev/ptp0"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no PTP hardware clock: %v", err)
	}
	c, err := OpenPHC(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Source() != "phc:"+path {
		t.Errorf("Source() = %q", c.Source())
	}
	a, b := c.Now(), c.Now()
	if a <= 0 || b < a || c.Failures() != 0 {
		t.Errorf("Now() = %d then %d, %d failures", a, b, c.Failures())
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close() = %v", err)
	}
	if c.Now() <= 0 {
		t.Error("Now after Close must fall back to the system clock")
	}
}
