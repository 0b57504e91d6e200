package mediaclock

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

const clockTAI = unix.CLOCK_TAI

// System returns the system clock in TAI: CLOCK_TAI when the kernel's TAI
// offset (adjtimex → timex.tai) is set, which ptp4l/phc2sys and chrony with
// leapsectz do; otherwise CLOCK_REALTIME + 37 s, with Warning saying why.
// The choice is made once: call System again after the offset changes.
func System() *Clock {
	var tx unix.Timex // Modes 0: read only, no privilege needed
	_, adjErr := unix.Adjtimex(&tx)
	var taiErr error
	if adjErr == nil && tx.Tai != 0 {
		_, taiErr = readClock(clockTAI)
	}
	return systemClock(tx.Tai, adjErr, taiErr)
}

// OpenPHC opens a PTP hardware clock (/dev/ptpN, as disciplined by ptp4l)
// read-only and reads it with clock_gettime on its dynamic clock id
// ((^fd << 3) | 3, the kernel's FD_TO_CLOCKID). A NIC's PHC runs in TAI.
// The Clock owns the file descriptor until Close.
func OpenPHC(path string) (*Clock, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%w; omit --ptp-clock to use system TAI", &os.PathError{Op: "open", Path: path, Err: err})
	}
	id := int32((^fd << 3) | 3)
	if _, err := readClock(id); err != nil {
		_ = unix.Close(fd) // never handed out: nothing else can hold it
		return nil, fmt.Errorf("%w: clock_gettime on %s: %w; omit --ptp-clock to use system TAI", ErrNotPHC, path, err)
	}
	var tx unix.Timex
	_, _ = unix.Adjtimex(&tx) // on failure Tai stays 0: assume 37 s
	return &Clock{kind: kindPHC, id: id, fd: fd, utc: utcOffsetFrom(tx.Tai), source: sourcePHC + path}, nil
}

// readClock is one clock_gettime system call; it does not allocate.
func readClock(id int32) (int64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(id, &ts); err != nil {
		return 0, err
	}
	return ts.Nano(), nil
}

func closeFD(fd int) error { return unix.Close(fd) }
