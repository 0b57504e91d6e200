package mcm

import "errors"

// ErrInvalidConfig wraps every validation failure of a connection config.
var ErrInvalidConfig = errors.New("invalid connection config")

// ErrMalformed wraps decoding failures of binary structures.
var ErrMalformed = errors.New("malformed")
