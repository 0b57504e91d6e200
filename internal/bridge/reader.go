package bridge

import (
	"fmt"
	"io"
)

// Reader reads bridge messages from a stream without reading ahead: each
// header is one io.ReadFull of HeaderSize bytes, and a data frame's body is
// read straight into the caller's slices (on a receiver, the local group's
// shared buffer), so received bytes are copied once, by the kernel. A
// frame's lengths are checked against the negotiated maxima before any of
// its body is read: no input makes a Reader allocate, or wait for, more
// than it agreed to.
//
// io.EOF is returned only at a message boundary; a stream that ends inside
// a message gives io.ErrUnexpectedEOF. A Reader is for one goroutine.
type Reader struct {
	r     io.Reader
	hdr   [HeaderSize]byte
	group uint32
	// Limits for data frames; data is refused until SetLimits.
	limits      bool
	maxPayload  uint32
	maxMetadata uint32
	// The body of the frame whose header was read last, still unread.
	inBody            bool
	bodyPay, bodyMeta uint32
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

// SetLimits sets the group every data frame must belong to and the largest
// payload and metadata it may carry: what the handshake agreed.
func (r *Reader) SetLimits(group uint32, maxPayload, maxMetadata uint32) {
	r.group, r.maxPayload, r.maxMetadata, r.limits = group, maxPayload, maxMetadata, true
}

// readHeader reads the next fixed header and returns its type.
func (r *Reader) readHeader() (Type, error) {
	if r.inBody {
		return 0, fmt.Errorf("%w: the previous frame's body was not read", ErrProtocol)
	}
	if _, err := io.ReadFull(r.r, r.hdr[:]); err != nil {
		return 0, err
	}
	return parsePrefix(r.hdr[:])
}

// readMessage reads the rest of a Hello or Refusal whose header is in
// r.hdr, body bytes long (at most 2 × MaxText: checked by the caller).
func (r *Reader) readMessage(body int) ([]byte, error) {
	b := make([]byte, HeaderSize+body)
	copy(b, r.hdr[:])
	if _, err := io.ReadFull(r.r, b[HeaderSize:]); err != nil {
		return nil, unexpected(err)
	}
	return b, nil
}

// refusal reads the Refusal whose header is in r.hdr and returns it as a
// *RemoteError (or the error that kept it from being read).
func (r *Reader) refusal() error {
	n, err := refusalBodyLen(r.hdr[:])
	if err != nil {
		return err
	}
	b, err := r.readMessage(n)
	if err != nil {
		return err
	}
	var m Refusal
	if _, err := m.Unmarshal(b); err != nil {
		return err
	}
	return m.Err()
}

// ReadHello reads the handshake into m. A Refusal in its place is returned
// as a *RemoteError.
func (r *Reader) ReadHello(m *Hello) error {
	t, err := r.readHeader()
	if err != nil {
		return err
	}
	switch t {
	case TypeRefusal:
		return r.refusal()
	case TypeData:
		return fmt.Errorf("%w: a data frame before the handshake", ErrProtocol)
	}
	urn, token, err := helloBodyLen(r.hdr[:])
	if err != nil {
		return err
	}
	b, err := r.readMessage(urn + token)
	if err != nil {
		return err
	}
	_, err = m.Unmarshal(b)
	return err
}

// ReadHeader reads the next data frame's header into h and checks it
// against the limits; the caller then reads its body with ReadBody. A
// Refusal is returned as a *RemoteError.
func (r *Reader) ReadHeader(h *Header) error {
	t, err := r.readHeader()
	if err != nil {
		return err
	}
	switch t {
	case TypeRefusal:
		return r.refusal()
	case TypeHello:
		return fmt.Errorf("%w: a hello after the handshake", ErrProtocol)
	}
	if _, err := h.Unmarshal(r.hdr[:]); err != nil {
		return err
	}
	switch {
	case !r.limits:
		return fmt.Errorf("%w: a data frame before the handshake", ErrProtocol)
	case h.Group != r.group:
		return fmt.Errorf("%w: frame of group %#08x on a connection of group %#08x", ErrProtocol, h.Group, r.group)
	case h.PayloadLen > r.maxPayload:
		return fmt.Errorf("%w: payload of %d bytes, at most %d", ErrTooLarge, h.PayloadLen, r.maxPayload)
	case h.MetadataLen > r.maxMetadata:
		return fmt.Errorf("%w: metadata of %d bytes, at most %d", ErrTooLarge, h.MetadataLen, r.maxMetadata)
	}
	r.inBody, r.bodyPay, r.bodyMeta = true, h.PayloadLen, h.MetadataLen
	return nil
}

// ReadBody reads the body of the frame whose header was read last into
// payload and metadata, which must be exactly its lengths.
func (r *Reader) ReadBody(payload, metadata []byte) error {
	if !r.inBody {
		return fmt.Errorf("%w: no frame header was read", ErrProtocol)
	}
	if len(payload) != int(r.bodyPay) || len(metadata) != int(r.bodyMeta) {
		return fmt.Errorf("bridge: read body: %w: got %d+%d bytes for a frame of %d+%d",
			io.ErrShortBuffer, len(payload), len(metadata), r.bodyPay, r.bodyMeta)
	}
	r.inBody = false
	if _, err := io.ReadFull(r.r, payload); err != nil {
		return unexpected(err)
	}
	if _, err := io.ReadFull(r.r, metadata); err != nil {
		return unexpected(err)
	}
	return nil
}

// unexpected turns an EOF inside a message into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
