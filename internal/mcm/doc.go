// Package mcm holds the wire facts of Media Communications Mesh that
// media-proxy and the SDK share (shared/spec/mcm-api.md): buffer layouts and
// payload sizes (§3.8, §3.9), ring sizing (memif.md §10.2), the sysdata
// header at the start of every buffer, the 296-byte memif_conn_param block
// of CreateConnectionResponse (§4.2), and validation of the
// ConnectionConfig an SDK sends.
package mcm
