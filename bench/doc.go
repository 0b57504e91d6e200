// Package bench holds cross-component benchmarks of mediamesh against
// peers measured in the same run (`make bench`): the local data path
// (SDK → media-proxy → SDK over memif) against the same transfer over a
// unix stream socket, and the cost of fan-out.
package bench
