// Package openapi holds the OpenAPI 3 documents of mediamesh's REST APIs,
// embedded so that each daemon serves the document it was built with.
// internal/agent/rest checks agent.yaml against its handlers.
package openapi

import _ "embed"

//go:embed agent.yaml
var agentYAML string

// Agent is mesh-agent's Control API document (agent.yaml), served at
// GET /api/v1/openapi.yaml.
func Agent() string { return agentYAML }
