package memif

// defaultCacheLine is C of the ring layout (memif.md §2): libmemif and VPP
// builds for aarch64 use 128.
const defaultCacheLine = 128
