//go:build !linux

package netio

import (
	"net/netip"
	"time"
)

// Conn is a UDP socket; off Linux every operation fails with
// ErrUnsupported.
type Conn struct{}

// Listen reports ErrUnsupported off Linux.
func Listen(Config) (*Conn, error) { return nil, ErrUnsupported }

// Dial reports ErrUnsupported off Linux.
func Dial(Config) (*Conn, error) { return nil, ErrUnsupported }

// Close does nothing off Linux.
func (c *Conn) Close() error { return nil }

// LocalAddr returns the zero address off Linux.
func (c *Conn) LocalAddr() netip.AddrPort { return netip.AddrPort{} }

// Caps returns no capabilities off Linux.
func (c *Conn) Caps() Caps { return Caps{} }

// Stats returns zero counters off Linux.
func (c *Conn) Stats() Stats { return Stats{} }

// Send reports ErrUnsupported off Linux.
func (c *Conn) Send(*Batch, Mode, int64) (int, error) { return 0, ErrUnsupported }

// Recv reports ErrUnsupported off Linux.
func (c *Conn) Recv(*RecvBatch) ([]Message, error) { return nil, ErrUnsupported }

// TryRecv reports ErrUnsupported off Linux.
func (c *Conn) TryRecv(*RecvBatch) ([]Message, error) { return nil, ErrUnsupported }

// SetReadDeadline reports ErrUnsupported off Linux.
func (c *Conn) SetReadDeadline(time.Time) error { return ErrUnsupported }

// SetWriteDeadline reports ErrUnsupported off Linux.
func (c *Conn) SetWriteDeadline(time.Time) error { return ErrUnsupported }

type batchSys struct{}

func (*batchSys) init(int, int)      {}
func (*batchSys) setIov(int, []byte) {}
func (*batchSys) clear(int)          {}

type recvSys struct{}

func (*recvSys) init([]byte, int, int) {}
