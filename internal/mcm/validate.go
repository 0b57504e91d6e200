package mcm

import (
	"fmt"

	sdkpb "mediamesh/api/mcm/sdk"
)

// Enum names as MCM's SDK JSON spells them, indexed by the proto value.
var (
	PixelFormats = []string{PixYUV422P10LE, PixV210, PixYUV422P10RFC4175}
	SampleRates  = []uint32{48000, 96000, 44100}
	AudioFormats = []string{"pcm_s8", "pcm_s16be", "pcm_s24be"}
	PacketTimes  = []string{"1ms", "125us", "250us", "333us", "4ms", "80us", "1.09ms", "0.14ms", "0.09ms"}
)

// PayloadSize computes calculated_payload_size of a proto config.
func PayloadSize(cfg *sdkpb.ConnectionConfig) (uint32, error) {
	return payloadSize(cfg, Extensions{})
}

// Extensions are mediamesh settings (WireOptions) that change what a
// config means: they come beside MCM's proto, never inside it.
type Extensions struct {
	// BlobOnWire allows a blob payload on an st2110 connection (ST 2110-40
	// carries ancillary data, not video or audio).
	BlobOnWire bool
	// PixelFormat overrides payload.video.pixel_format ("uyvy").
	PixelFormat string
}

func payloadSize(cfg *sdkpb.ConnectionConfig, ext Extensions) (uint32, error) {
	switch p := cfg.GetPayload().(type) {
	case *sdkpb.ConnectionConfig_Video:
		v := p.Video
		if int(v.GetPixelFormat()) >= len(PixelFormats) || v.GetPixelFormat() < 0 {
			return 0, fmt.Errorf("%w: video.pixel_format %d unknown", ErrInvalidConfig, v.GetPixelFormat())
		}
		if v.GetFps() < 0 || v.GetFps() > 1000 {
			return 0, fmt.Errorf("%w: video.fps %g: want 0-1000", ErrInvalidConfig, v.GetFps())
		}
		pix := PixelFormats[v.GetPixelFormat()]
		if ext.PixelFormat != "" {
			pix = ext.PixelFormat
		}
		return VideoPayloadSize(v.GetWidth(), v.GetHeight(), pix)
	case *sdkpb.ConnectionConfig_Audio:
		a := p.Audio
		sr, f, pt := int(a.GetSampleRate()), int(a.GetFormat()), int(a.GetPacketTime())
		switch {
		case sr < 0 || sr >= len(SampleRates):
			return 0, fmt.Errorf("%w: audio.sample_rate %d unknown", ErrInvalidConfig, sr)
		case f < 0 || f >= len(AudioFormats):
			return 0, fmt.Errorf("%w: audio.format %d unknown", ErrInvalidConfig, f)
		case pt < 0 || pt >= len(PacketTimes):
			return 0, fmt.Errorf("%w: audio.packet_time %d unknown", ErrInvalidConfig, pt)
		}
		return AudioPayloadSize(a.GetChannels(), SampleRates[sr], AudioFormats[f], PacketTimes[pt])
	default: // blob, or no payload: MCM treats both as blob
		if cfg.GetMaxPayloadSize() == 0 {
			return 0, fmt.Errorf("%w: blob payload needs max_payload_size > 0", ErrInvalidConfig)
		}
		return cfg.GetMaxPayloadSize(), nil
	}
}

// ValidateConnectionConfig checks what an SDK sent in CreateConnection and
// returns the buffer layout. Unlike MCM's proxy, which trusted the sizes it
// was given (mcm-api.md §8 #3), it recomputes the partitions and refuses any
// mismatch.
func ValidateConnectionConfig(cfg *sdkpb.ConnectionConfig) (Layout, error) {
	return ValidateConnectionConfigExt(cfg, Extensions{})
}

// ValidateConnectionConfigExt is ValidateConnectionConfig with mediamesh's
// extensions applied.
func ValidateConnectionConfigExt(cfg *sdkpb.ConnectionConfig, ext Extensions) (Layout, error) {
	if cfg == nil {
		return Layout{}, fmt.Errorf("%w: no config", ErrInvalidConfig)
	}
	if k := cfg.GetKind(); k != sdkpb.ConnectionKind_CONN_KIND_TRANSMITTER && k != sdkpb.ConnectionKind_CONN_KIND_RECEIVER {
		return Layout{}, fmt.Errorf("%w: kind %d: want transmitter (0) or receiver (1)", ErrInvalidConfig, k)
	}
	if err := ValidateQueueCapacity(cfg.GetBufQueueCapacity()); err != nil {
		return Layout{}, err
	}
	_, blob := cfg.GetPayload().(*sdkpb.ConnectionConfig_Blob)
	blob = blob || cfg.GetPayload() == nil
	switch c := cfg.GetConn().(type) {
	case *sdkpb.ConnectionConfig_MultipointGroup:
		if c.MultipointGroup.GetUrn() == "" {
			return Layout{}, fmt.Errorf("%w: multipoint_group.urn is empty", ErrInvalidConfig)
		}
		if len(c.MultipointGroup.GetUrn()) > 512 {
			return Layout{}, fmt.Errorf("%w: multipoint_group.urn is %d bytes, at most 512", ErrInvalidConfig, len(c.MultipointGroup.GetUrn()))
		}
	case *sdkpb.ConnectionConfig_St2110:
		s := c.St2110
		switch {
		case blob && !ext.BlobOnWire:
			return Layout{}, fmt.Errorf("%w: blob payloads need a multipoint group, not st2110", ErrIncompatible)
		case !blob && ext.BlobOnWire:
			return Layout{}, fmt.Errorf("%w: st2110-40 carries a blob payload (the ANC data), not video or audio", ErrIncompatible)
		case s.GetTransport() < 0 || s.GetTransport() > sdkpb.ST2110Transport_CONN_TRANSPORT_ST2110_30:
			return Layout{}, fmt.Errorf("%w: st2110.transport %d unknown", ErrInvalidConfig, s.GetTransport())
		case s.GetPort() == 0 || s.GetPort() > 65535:
			return Layout{}, fmt.Errorf("%w: st2110.port %d: want 1-65535", ErrInvalidConfig, s.GetPort())
		case s.GetPayloadType() > 127:
			return Layout{}, fmt.Errorf("%w: st2110.payload_type %d: want 0-127", ErrInvalidConfig, s.GetPayloadType())
		}
	case *sdkpb.ConnectionConfig_Rdma:
		if blob {
			return Layout{}, fmt.Errorf("%w: blob payloads need a multipoint group, not rdma", ErrIncompatible)
		}
	default:
		return Layout{}, fmt.Errorf("%w: connection: want one of multipoint_group, st2110, rdma", ErrInvalidConfig)
	}
	size, err := payloadSize(cfg, ext)
	if err != nil {
		return Layout{}, err
	}
	if cfg.GetCalculatedPayloadSize() != size {
		return Layout{}, fmt.Errorf("%w: calculated_payload_size %d, the payload config gives %d",
			ErrInvalidConfig, cfg.GetCalculatedPayloadSize(), size)
	}
	l, err := NewLayout(size, cfg.GetMaxMetadataSize())
	if err != nil {
		return Layout{}, err
	}
	bp := cfg.GetBufParts()
	if bp == nil || bp.GetPayload() == nil || bp.GetMetadata() == nil || bp.GetSysdata() == nil {
		return Layout{}, fmt.Errorf("%w: buf_parts: payload, metadata and sysdata are required", ErrInvalidConfig)
	}
	got := Layout{
		Sysdata:  Partition{Offset: bp.GetSysdata().GetOffset(), Size: bp.GetSysdata().GetSize()},
		Payload:  Partition{Offset: bp.GetPayload().GetOffset(), Size: bp.GetPayload().GetSize()},
		Metadata: Partition{Offset: bp.GetMetadata().GetOffset(), Size: bp.GetMetadata().GetSize()},
		Total:    l.Total,
	}
	if got != l {
		return Layout{}, fmt.Errorf("%w: buf_parts %+v do not match the computed layout %+v", ErrInvalidConfig, got, l)
	}
	if err := CheckRegion(l.Total, Log2RingSize(cfg.GetBufQueueCapacity())); err != nil {
		return Layout{}, err
	}
	return l, nil
}

// Parts converts a Layout to MCM's proto partitions.
func (l Layout) Parts() *sdkpb.BufferPartitions {
	return &sdkpb.BufferPartitions{
		Sysdata:  &sdkpb.BufferPartition{Offset: l.Sysdata.Offset, Size: l.Sysdata.Size},
		Payload:  &sdkpb.BufferPartition{Offset: l.Payload.Offset, Size: l.Payload.Size},
		Metadata: &sdkpb.BufferPartition{Offset: l.Metadata.Offset, Size: l.Metadata.Size},
	}
}
