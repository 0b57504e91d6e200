package mcm

import (
	"fmt"
	"math/bits"
)

// SysdataSize is the aligned size of the header at offset 0 of a buffer.
const SysdataSize = 24

// Partition is one part of a buffer.
type Partition struct {
	Offset, Size uint32
}

// Layout is how one memif buffer is partitioned (mcm-api.md §3.9):
// sysdata, payload, metadata, each 8-byte aligned. Every member of a group
// must use the same Layout: MCM's receiver rejects buffers of another size.
type Layout struct {
	Sysdata, Payload, Metadata Partition
	Total                      uint32
}

func round8(x uint64) uint64 { return (x + 7) &^ 7 }

// NewLayout partitions a buffer for a payload and metadata size.
func NewLayout(payloadSize, maxMetadataSize uint32) (Layout, error) {
	p := round8(uint64(payloadSize))
	m := round8(uint64(maxMetadataSize))
	total := SysdataSize + p + m
	if total > 1<<32-1 {
		return Layout{}, fmt.Errorf("%w: buffer of %d bytes exceeds 4 GiB", ErrInvalidConfig, total)
	}
	return Layout{
		Sysdata:  Partition{Offset: 0, Size: SysdataSize},
		Payload:  Partition{Offset: SysdataSize, Size: uint32(p)},
		Metadata: Partition{Offset: SysdataSize + uint32(p), Size: uint32(m)},
		Total:    uint32(total),
	}, nil
}

// Queue capacities accepted (bufferQueueCapacity); MCM's docs say 2–128.
const (
	MinQueueCapacity     = 2
	MaxQueueCapacity     = 128
	DefaultQueueCapacity = 16
)

// Log2RingSize maps bufferQueueCapacity to the memif ring size as MCM does
// (memif.md §10.2): floor(log2(capacity)); 0 or 1 give the default 16 slots.
func Log2RingSize(capacity uint32) uint8 {
	if capacity <= 1 {
		return 4
	}
	return uint8(min(bits.Len32(capacity)-1, 14))
}

// ValidateQueueCapacity accepts 0 (default) or 2–128.
func ValidateQueueCapacity(c uint32) error {
	if c != 0 && (c < MinQueueCapacity || c > MaxQueueCapacity) {
		return fmt.Errorf("%w: bufferQueueCapacity %d: want %d-%d", ErrInvalidConfig, c, MinQueueCapacity, MaxQueueCapacity)
	}
	return nil
}

// CheckRegion verifies that a connection's buffer region stays below the
// 4 GiB that u32 descriptor offsets address: total × slots × 2 rings (MCM's
// SDK always creates one ring of each direction).
func CheckRegion(total uint32, log2 uint8) error {
	if need := uint64(total) << log2 * 2; need >= 1<<32 {
		return fmt.Errorf("%w: %d-byte buffers × %d slots × 2 rings = %d bytes, must stay below 4 GiB; lower bufferQueueCapacity",
			ErrInvalidConfig, total, 1<<log2, need)
	}
	return nil
}

// Video pixel formats as MCM's SDK JSON names them.
const (
	PixYUV422P10LE      = "yuv422p10le"
	PixV210             = "v210"
	PixYUV422P10RFC4175 = "yuv422p10rfc4175"
	// PixUYVY (mediamesh) is 8-bit 4:2:2 as RFC 4175 pgroups, Cb Y0 Cr Y1;
	// MCM's enum has no value for it: the SDK sends it in WireOptions.
	PixUYVY = "uyvy"
)

// VideoPayloadSize is the calculated frame size (§3.8: no padding, no stride).
func VideoPayloadSize(width, height uint32, pix string) (uint32, error) {
	p := uint64(width) * uint64(height)
	if width == 0 || height == 0 {
		return 0, fmt.Errorf("%w: payload.video: %dx%d, both must be positive", ErrInvalidConfig, width, height)
	}
	var n uint64
	switch pix {
	case PixYUV422P10LE:
		n = p * 4
	case PixV210:
		if p%3 != 0 {
			return 0, fmt.Errorf("%w: payload.video: v210 needs width×height divisible by 3, got %d", ErrInvalidConfig, p)
		}
		n = p * 8 / 3
	case PixYUV422P10RFC4175:
		if p%2 != 0 {
			return 0, fmt.Errorf("%w: payload.video: yuv422p10rfc4175 needs an even width×height, got %d", ErrInvalidConfig, p)
		}
		n = p * 5 / 2
	case PixUYVY:
		if width%2 != 0 {
			return 0, fmt.Errorf("%w: payload.video: uyvy needs an even width, got %d", ErrInvalidConfig, width)
		}
		n = p * 2
	default:
		return 0, fmt.Errorf("%w: payload.video.pixelFormat %q: want yuv422p10le, v210, yuv422p10rfc4175 or (st2110) uyvy", ErrInvalidConfig, pix)
	}
	if n > 1<<31 {
		return 0, fmt.Errorf("%w: payload.video: %dx%d frames of %d bytes are too large", ErrInvalidConfig, width, height, n)
	}
	return uint32(n), nil
}

// AudioSampleSize returns bytes per sample of an MCM audio format.
func AudioSampleSize(format string) (uint32, error) {
	switch format {
	case "pcm_s8":
		return 1, nil
	case "pcm_s16be":
		return 2, nil
	case "pcm_s24be":
		return 3, nil
	}
	return 0, fmt.Errorf("%w: payload.audio.format %q: want pcm_s24be, pcm_s16be or pcm_s8", ErrInvalidConfig, format)
}

// AudioSamples returns samples per packet time (§3.8). "0.09ms" at 44.1 kHz
// is 4 samples; upstream maps it to 48 by a parsing bug, which we do not
// copy.
func AudioSamples(sampleRate uint32, packetTime string) (uint32, error) {
	at48 := map[string]uint32{"1ms": 48, "125us": 6, "250us": 12, "333us": 16, "4ms": 192, "80us": 4}
	at441 := map[string]uint32{"1.09ms": 48, "0.14ms": 6, "0.09ms": 4}
	switch sampleRate {
	case 48000, 96000:
		n, ok := at48[packetTime]
		if !ok {
			return 0, fmt.Errorf("%w: payload.audio.packetTime %q not allowed at %d Hz; want one of 1ms, 125us, 250us, 333us, 4ms, 80us",
				ErrIncompatible, packetTime, sampleRate)
		}
		return n * sampleRate / 48000, nil
	case 44100:
		n, ok := at441[packetTime]
		if !ok {
			return 0, fmt.Errorf("%w: payload.audio.packetTime %q not allowed at 44100 Hz; want one of 1.09ms, 0.14ms, 0.09ms",
				ErrIncompatible, packetTime)
		}
		return n, nil
	}
	return 0, fmt.Errorf("%w: payload.audio.sampleRate %d: want 48000, 96000 or 44100", ErrInvalidConfig, sampleRate)
}

// ErrIncompatible marks settings that are each valid but not together
// (MCM's -1010).
var ErrIncompatible = fmt.Errorf("%w: incompatible settings", ErrInvalidConfig)

// AudioPayloadSize is channels × sample size × samples per packet time.
func AudioPayloadSize(channels, sampleRate uint32, format, packetTime string) (uint32, error) {
	if channels == 0 || channels > 64 {
		return 0, fmt.Errorf("%w: payload.audio.channels %d: want 1-64", ErrInvalidConfig, channels)
	}
	ss, err := AudioSampleSize(format)
	if err != nil {
		return 0, err
	}
	n, err := AudioSamples(sampleRate, packetTime)
	if err != nil {
		return 0, err
	}
	return channels * ss * n, nil
}
