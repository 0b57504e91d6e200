package netio

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// InterfaceByIP returns the interface that has address ip, in the calling
// thread's network namespace. When none has it the error wraps ErrNotLocal
// and lists the host's addresses, so a mistyped -i is fixed in one go.
func InterfaceByIP(ip netip.Addr) (*net.Interface, error) {
	ip = ip.Unmap()
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("netio: list interfaces: %w", err)
	}
	var all []string
	for i := range ifs {
		addrs, err := ifs[i].Addrs()
		if err != nil {
			return nil, fmt.Errorf("netio: addresses of %s: %w", ifs[i].Name, err)
		}
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			addr, ok := netip.AddrFromSlice(n.IP)
			if !ok {
				continue
			}
			addr = addr.Unmap()
			if ip.IsValid() && addr == ip {
				return &ifs[i], nil
			}
			all = append(all, addr.String())
		}
	}
	return nil, fmt.Errorf("netio: %v is %w (addresses: %s)", ip, ErrNotLocal, strings.Join(all, ", "))
}
