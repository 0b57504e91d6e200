package agent

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"unicode"
)

// newUUID returns a random (version 4) UUID, as MCM's agent assigns.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

// nameUUID returns a name-based UUID (version 8, SHA-256 of the parts):
// the same parts always give the same id, which makes planning
// deterministic.
func nameUUID(parts ...string) string {
	var buf []byte
	for _, p := range parts {
		// Length-prefixed so that ("ab","c") and ("a","bc") differ.
		buf = strconv.AppendInt(buf, int64(len(p)), 10)
		buf = append(append(buf, ':'), p...)
	}
	sum := sha256.Sum256(buf)
	var b [16]byte
	copy(b[:], sum[:])
	b[6] = b[6]&0x0f | 0x80
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// bridgeToken derives a bridge pair's shared secret from the agent's
// secret and the pair's key.
func bridgeToken(secret []byte, pairKey string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(pairKey))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// maxIDLen bounds ids a proxy chooses (previous ids when recovering).
const maxIDLen = 128

// checkID accepts a client-chosen id: 1-128 printable characters without
// spaces or '/' (MCM's group ids are "<group>/<proxy id>").
func checkID(what, id string) error {
	if id == "" || len(id) > maxIDLen {
		return fmt.Errorf("%w: %s: %d bytes, want 1-%d", ErrInvalid, what, len(id), maxIDLen)
	}
	for _, r := range id {
		if r == '/' || r > unicode.MaxASCII || !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return fmt.Errorf("%w: %s %q: only printable ASCII without spaces or '/'", ErrInvalid, what, id)
		}
	}
	return nil
}
