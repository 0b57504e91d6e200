package agent

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	sdkpb "mediamesh/api/mcm/sdk"
)

// compatible checks a new member's config against its group's (the first
// member's): MCM's rules (mcm-api.md §5.4) — payload size, ST 2110
// destination and format, the video, audio or blob parameters — plus the
// metadata size, since every member of a mediamesh group shares one buffer
// layout, across bridges too — but not for ST 2110, where each end has
// its own buffers and only the wire is shared (a receiver's metadata holds
// its FrameInfo, a sender's need not). Queue capacity and options are per
// connection.
func compatible(group, c *sdkpb.ConnectionConfig) error {
	switch {
	case c.GetCalculatedPayloadSize() != group.GetCalculatedPayloadSize():
		return fmt.Errorf("%w: calculated_payload_size %d, the group's is %d",
			ErrIncompatible, c.GetCalculatedPayloadSize(), group.GetCalculatedPayloadSize())
	case c.GetSt2110() == nil && c.GetMaxMetadataSize() != group.GetMaxMetadataSize():
		return fmt.Errorf("%w: max_metadata_size %d, the group's is %d",
			ErrIncompatible, c.GetMaxMetadataSize(), group.GetMaxMetadataSize())
	}
	if gs, cs := group.GetSt2110(), c.GetSt2110(); (gs == nil) != (cs == nil) {
		return fmt.Errorf("%w: st2110 and multipoint group connections cannot share a group", ErrIncompatible)
	} else if gs != nil && (gs.GetTransport() != cs.GetTransport() || gs.GetPayloadType() != cs.GetPayloadType()) {
		return fmt.Errorf("%w: st2110 transport %v payload type %d, the group's is %v payload type %d",
			ErrIncompatible, cs.GetTransport(), cs.GetPayloadType(), gs.GetTransport(), gs.GetPayloadType())
	}
	switch g := group.GetPayload().(type) {
	case *sdkpb.ConnectionConfig_Video:
		if v := c.GetVideo(); !proto.Equal(v, g.Video) {
			return fmt.Errorf("%w: video %s, the group's is %s", ErrIncompatible, describe(c), describe(group))
		}
	case *sdkpb.ConnectionConfig_Audio:
		if a := c.GetAudio(); !proto.Equal(a, g.Audio) {
			return fmt.Errorf("%w: audio %s, the group's is %s", ErrIncompatible, describe(c), describe(group))
		}
	default: // blob, or none: MCM treats both as blob
		if c.GetVideo() != nil || c.GetAudio() != nil {
			return fmt.Errorf("%w: payload %s, the group's is %s", ErrIncompatible, describe(c), describe(group))
		}
		if c.GetMaxPayloadSize() != group.GetMaxPayloadSize() {
			return fmt.Errorf("%w: blob max_payload_size %d, the group's is %d",
				ErrIncompatible, c.GetMaxPayloadSize(), group.GetMaxPayloadSize())
		}
	}
	return nil
}

// describe names a config's payload for error messages.
func describe(c *sdkpb.ConnectionConfig) string {
	if v := c.GetVideo(); v != nil {
		return fmt.Sprintf("%dx%d@%g %v", v.GetWidth(), v.GetHeight(), v.GetFps(), v.GetPixelFormat())
	}
	if a := c.GetAudio(); a != nil {
		return fmt.Sprintf("%d ch %v %v %v", a.GetChannels(), a.GetSampleRate(), a.GetFormat(), a.GetPacketTime())
	}
	return fmt.Sprintf("blob of %d bytes", c.GetMaxPayloadSize())
}
