// Package sdk is mediamesh's Go SDK: what a media app imports to exchange
// video frames, audio packets and blobs with other apps through
// media-proxy.
//
// It speaks MCM's SDK API and memif, so it accepts MCM's JSON client and
// connection configs unchanged and works against MCM's media_proxy as well
// as ours. The flow mirrors MCM's mesh_dp.h:
//
//	client, _ := sdk.NewClient(sdk.ClientConfig{})            // mesh_create_client
//	tx, _ := client.CreateTxConnection(ctx, connCfg)          // mesh_create_tx_connection
//	buf, _ := tx.GetBuffer(ctx)                               // mesh_get_buffer
//	copy(buf.Payload(), frame)
//	_ = tx.PutBuffer(buf)                                     // mesh_put_buffer
//	_ = tx.Close()                                            // mesh_delete_connection
//
// Buffers live in shared memory: a Buffer's slices are valid until it is
// put back, and the data path allocates nothing per buffer. A received
// buffer may be the sender's own memory, mapped read-only (zero-copy): read
// it, never write it.
//
// Timeouts follow MCM's semantics with Go types: GetBuffer takes its
// deadline from ctx; GetBufferTimeout takes a duration where TimeoutInfinite
// (-1) blocks and 0 polls once. A timeout is reported as ErrTimeout (MCM
// reported it as "connection closed").
//
// When media-proxy restarts, a connection reconnects by itself in the
// background: GetBuffer returns ErrTimeout or an error matching ErrTransient
// until the new link is up, then carries on. Sequence numbers restart with
// the new link only for the proxy's stamping; the SDK keeps counting.
package sdk
