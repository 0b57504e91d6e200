// Package conf loads and validates daemon configuration: one struct per
// daemon, filled from defaults, then a JSON file, then MEDIAMESH_*
// environment variables, then flags, and validated once, reporting every
// problem with its key. Only cmd/ and this package read flags or the
// environment.
package conf
