package bridge

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Every message starts with this prefix (doc.go has the full diagrams):
//
//	0  u16 magic 0x6d62 ("mb")
//	2  u8  version (1)
//	3  u8  type
//	4  u32 group: GroupID of the connection's URN
const (
	// Magic opens every message: resynchronisation is never attempted, so
	// a stream that loses its framing fails at the next header.
	Magic uint16 = 0x6d62
	// Version is the framing version this package speaks.
	Version uint8 = 1
	// HeaderSize is the fixed part of every message: a data frame's whole
	// header, the front of a Hello or Refusal.
	HeaderSize = 32
	// MaxText bounds a URN, a token and a refusal's text, so a hostile
	// handshake cannot make a reader allocate more than 3 × MaxText.
	MaxText = 1024

	offMagic   = 0
	offVersion = 2
	offType    = 3
	offGroup   = 4
)

// Type is a message's kind.
type Type uint8

// Message types. Values are wire format: never renumber.
const (
	TypeHello   Type = 1
	TypeData    Type = 2
	TypeRefusal Type = 3
)

// GroupID is the 32-bit FNV-1a hash of a URN that every message of a
// connection carries: a cheap check that a stream has not lost its framing
// or crossed groups, not an identifier to look groups up by.
func GroupID(urn string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(urn); i++ {
		h ^= uint32(urn[i])
		h *= 16777619
	}
	return h
}

func putPrefix(b []byte, t Type, group uint32) {
	binary.BigEndian.PutUint16(b[offMagic:], Magic)
	b[offVersion] = Version
	b[offType] = byte(t)
	binary.BigEndian.PutUint32(b[offGroup:], group)
}

// parsePrefix checks b's magic and version and returns its type; b holds
// at least HeaderSize bytes.
func parsePrefix(b []byte) (Type, error) {
	if m := binary.BigEndian.Uint16(b[offMagic:]); m != Magic {
		return 0, fmt.Errorf("%w: magic %#04x, want %#04x", ErrMalformed, m, Magic)
	}
	if v := b[offVersion]; v != Version {
		return 0, fmt.Errorf("%w: version %d, this side speaks %d", ErrMalformed, v, Version)
	}
	t := Type(b[offType])
	if t < TypeHello || t > TypeRefusal {
		return 0, fmt.Errorf("%w: unknown type %d", ErrMalformed, t)
	}
	return t, nil
}

// checkHeader checks that b holds a header of type want.
func checkHeader(b []byte, want Type) error {
	if len(b) < HeaderSize {
		return fmt.Errorf("%w: %d bytes, a header needs %d", ErrMalformed, len(b), HeaderSize)
	}
	t, err := parsePrefix(b)
	if err != nil {
		return err
	}
	if t != want {
		return fmt.Errorf("%w: type %d, want %d", ErrMalformed, t, want)
	}
	return nil
}

func shortBuffer(what string, got, need int) error {
	return fmt.Errorf("bridge: %s: %w: %d bytes, need %d", what, io.ErrShortBuffer, got, need)
}

func checkText(what string, n int) error {
	if n > MaxText {
		return fmt.Errorf("%w: %s of %d bytes, at most %d", ErrMalformed, what, n, MaxText)
	}
	return nil
}
