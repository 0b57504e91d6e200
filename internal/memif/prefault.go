package memif

import "unsafe"

// alignedInterior returns the largest page-aligned sub-slice of b.
func alignedInterior(b []byte, page int) []byte {
	if len(b) == 0 {
		return nil
	}
	addr := uintptr(unsafe.Pointer(&b[0]))
	skip := int((uintptr(page) - addr%uintptr(page)) % uintptr(page))
	if skip >= len(b) {
		return nil
	}
	b = b[skip:]
	return b[:len(b)/page*page]
}
