//go:build tools

// kube-router, built in this module so that its dependencies can be newer than v2.1.0's own
// (the one release the module proxy serves here; its golang.org/x modules had known flaws).
// The lab runs only its NetworkPolicy firewall (iptables and ipset).
package tools

import _ "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"
