package rest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"mediamesh/internal/agent/rest"
	"mediamesh/internal/agent/rest/resttest"
)

// BenchmarkList renders the registry of the scale, 1,000
// connections over 50 proxies (20 groups, a sender and 49 receivers
// each, so 49 bridge pairs per group), as the full listings.
func BenchmarkList(b *testing.B) {
	a := resttest.Start(b, rest.Config{Token: resttest.Token})
	const proxies, groups = 50, 20
	for p := range proxies {
		a.Proxy(b, fmt.Sprintf("p%02d", p), fmt.Sprintf("10.0.%d.%d", p/200, p%200+1))
	}
	for g := range groups {
		urn := fmt.Sprintf("g%02d", g)
		for p := range proxies {
			kind := receiver
			if p == g {
				kind = sender
			}
			a.Conn(b, fmt.Sprintf("p%02d", p), fmt.Sprintf("c-%s-%02d", urn, p), resttest.Video(kind, urn))
		}
	}
	for _, path := range []string{"/media-proxy?status&config", "/connection?status&config", "/bridge?status&config"} {
		b.Run(path, func(b *testing.B) {
			req := httptest.NewRequest("GET", path, nil)
			req.Header.Set("Authorization", "Bearer "+resttest.Token)
			var size int
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				a.Handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code, rec.Body)
				}
				size = rec.Body.Len()
			}
			b.SetBytes(int64(size))
			b.ReportMetric(float64(size), "body-B")
		})
	}
}
