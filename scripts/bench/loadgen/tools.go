//go:build tools

// Package tools records vegeta as a dependency, so `go build github.com/tsenart/vegeta/v12`
// builds the version go.mod pins.
package tools

import _ "github.com/tsenart/vegeta/v12"
