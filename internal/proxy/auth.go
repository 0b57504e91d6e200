package proxy

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// Cred is the identity of a local peer as the kernel reports it.
type Cred struct {
	PID      int32
	UID, GID uint32
}

// credAddr is the remote address of a unix-socket client; it carries the
// peer's credentials into gRPC handlers through peer.FromContext.
type credAddr struct {
	net.Addr
	cred Cred
}

type credConn struct {
	net.Conn
	addr credAddr
}

func (c *credConn) RemoteAddr() net.Addr { return c.addr }

// credListener reads SO_PEERCRED of each accepted unix connection, logs it
// and refuses peers outside the allow-list before any byte is read.
type credListener struct {
	net.Listener
	allowUIDs, allowGIDs []uint32
	log                  *slog.Logger
}

func (l *credListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		cred, err := peerCred(c)
		if err != nil {
			l.log.Warn("sdk socket: cannot read peer credentials", "err", err)
			_ = c.Close()
			continue
		}
		if !l.allowed(cred) {
			l.log.Warn("sdk socket: peer refused", "pid", cred.PID, "uid", cred.UID, "gid", cred.GID)
			_ = c.Close()
			continue
		}
		l.log.Debug("sdk socket: peer connected", "pid", cred.PID, "uid", cred.UID, "gid", cred.GID)
		return &credConn{Conn: c, addr: credAddr{Addr: c.RemoteAddr(), cred: cred}}, nil
	}
}

func (l *credListener) allowed(c Cred) bool {
	if len(l.allowUIDs) == 0 && len(l.allowGIDs) == 0 {
		return true // the socket's 0660 mode and group decide
	}
	return slices.Contains(l.allowUIDs, c.UID) || slices.Contains(l.allowGIDs, c.GID)
}

func peerCred(c net.Conn) (Cred, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Cred{}, fmt.Errorf("not a unix connection: %T", c)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Cred{}, err
	}
	var (
		ucred *unix.Ucred
		serr  error
	)
	if err := raw.Control(func(fd uintptr) {
		ucred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Cred{}, err
	}
	if serr != nil {
		return Cred{}, serr
	}
	return Cred{PID: ucred.Pid, UID: ucred.Uid, GID: ucred.Gid}, nil
}

// callerCred returns the credentials of a unix-socket caller.
func callerCred(ctx context.Context) (Cred, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return Cred{}, false
	}
	a, ok := p.Addr.(credAddr)
	return a.cred, ok
}

// tokenInterceptor demands "authorization: Bearer <token>" from TCP callers
// when a token is configured. Unix-socket callers were vetted at accept.
func tokenInterceptor(token string) grpc.UnaryServerInterceptor {
	want := []byte(token)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if _, local := callerCred(ctx); local || token == "" {
			return h(ctx, req)
		}
		md, _ := metadata.FromIncomingContext(ctx)
		for _, v := range md.Get("authorization") {
			got, ok := strings.CutPrefix(v, "Bearer ")
			if ok && subtle.ConstantTimeCompare([]byte(got), want) == 1 {
				return h(ctx, req)
			}
		}
		return nil, status.Error(codes.Unauthenticated, "missing or wrong bearer token")
	}
}
