package mcm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// MemifConnParamSize is sizeof(memif_conn_param) on x86-64.
const MemifConnParamSize = 296

// Offsets in memif_conn_param (mcm-api.md §4.2). Pointer fields (timer at
// 144, callbacks at 176, socket handle at 208) are always written as zero:
// the C SDK would call non-NULL allocator pointers.
const (
	cpSocketPath    = 0   // char[108]
	cpAppName       = 108 // char[32]
	cpSecret        = 216 // char[24]
	cpNumS2M        = 240
	cpNumM2S        = 241
	cpBufferSize    = 244 // u32
	cpLog2RingSize  = 248
	cpIsMaster      = 249
	cpInterfaceID   = 252 // u32
	cpInterfaceName = 256 // char[32]
	cpMode          = 288
	socketPathSize  = 108
	nameSize        = 32
	secretSize      = 24
)

// MemifConnParam is the memif slave configuration media-proxy returns to an
// SDK in CreateConnectionResponse.memif_conn_param.
type MemifConnParam struct {
	SocketPath    string
	AppName       string
	InterfaceName string
	Secret        string
	BufferSize    uint32
	Log2RingSize  uint8
	IsMaster      bool
	InterfaceID   uint32
	Mode          uint8
	NumS2M        uint8
	NumM2S        uint8
}

// MarshalSize is MemifConnParamSize.
func (p *MemifConnParam) MarshalSize() int { return MemifConnParamSize }

// MarshalTo writes the C struct byte for byte; all padding is zero.
func (p *MemifConnParam) MarshalTo(b []byte) (int, error) {
	if len(b) < MemifConnParamSize {
		return 0, fmt.Errorf("memif_conn_param: %w: %d bytes, need %d", io.ErrShortBuffer, len(b), MemifConnParamSize)
	}
	b = b[:MemifConnParamSize]
	clear(b)
	for _, f := range []struct {
		off, size int
		s, what   string
	}{
		{cpSocketPath, socketPathSize, p.SocketPath, "socket path"},
		{cpAppName, nameSize, p.AppName, "app name"},
		{cpSecret, secretSize, p.Secret, "secret"},
		{cpInterfaceName, nameSize, p.InterfaceName, "interface name"},
	} {
		if len(f.s) >= f.size || bytes.IndexByte([]byte(f.s), 0) >= 0 {
			return 0, fmt.Errorf("memif_conn_param: %s %q: at most %d bytes, no NUL", f.what, f.s, f.size-1)
		}
		copy(b[f.off:], f.s)
	}
	b[cpNumS2M], b[cpNumM2S] = p.NumS2M, p.NumM2S
	binary.LittleEndian.PutUint32(b[cpBufferSize:], p.BufferSize)
	b[cpLog2RingSize] = p.Log2RingSize
	if p.IsMaster {
		b[cpIsMaster] = 1
	}
	binary.LittleEndian.PutUint32(b[cpInterfaceID:], p.InterfaceID)
	b[cpMode] = p.Mode
	return MemifConnParamSize, nil
}

// Marshal returns the 296-byte block.
func (p *MemifConnParam) Marshal() ([]byte, error) {
	b := make([]byte, MemifConnParamSize)
	if _, err := p.MarshalTo(b); err != nil {
		return nil, err
	}
	return b, nil
}

// Unmarshal reads exactly 296 bytes. Strings end at their first NUL;
// pointer fields are ignored (MCM's proxy leaves them indeterminate,
// §8 #5).
func (p *MemifConnParam) Unmarshal(b []byte) (int, error) {
	if len(b) != MemifConnParamSize {
		return 0, fmt.Errorf("memif_conn_param: %w: %d bytes, want %d", ErrMalformed, len(b), MemifConnParamSize)
	}
	str := func(off, size int) string {
		f := b[off : off+size]
		if i := bytes.IndexByte(f, 0); i >= 0 {
			f = f[:i]
		}
		return string(f)
	}
	*p = MemifConnParam{
		SocketPath:    str(cpSocketPath, socketPathSize),
		AppName:       str(cpAppName, nameSize),
		Secret:        str(cpSecret, secretSize),
		InterfaceName: str(cpInterfaceName, nameSize),
		NumS2M:        b[cpNumS2M],
		NumM2S:        b[cpNumM2S],
		BufferSize:    binary.LittleEndian.Uint32(b[cpBufferSize:]),
		Log2RingSize:  b[cpLog2RingSize],
		IsMaster:      b[cpIsMaster] != 0,
		InterfaceID:   binary.LittleEndian.Uint32(b[cpInterfaceID:]),
		Mode:          b[cpMode] & 0x03,
	}
	if p.Log2RingSize > 14 {
		return 0, fmt.Errorf("memif_conn_param: %w: log2 ring size %d, at most 14", ErrMalformed, p.Log2RingSize)
	}
	return MemifConnParamSize, nil
}
