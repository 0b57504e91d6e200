//go:build !arm64

package memif

// defaultCacheLine is C of the ring layout (memif.md §2): 64 on x86-64.
const defaultCacheLine = 64
