// Command eso-controller is the real External Secrets Operator controller, built from its
// Go module for the test environment (test/env/eso.ts starts one per test cluster).
//
// It is ESO's own entry point: cmd/controller's Execute runs the cobra root command, whose
// default action is the controller manager (ExternalSecret, ClusterExternalSecret,
// SecretStore, PushSecret, generator reconcilers). The webhook and cert-controller are
// separate subcommands and do not start. Flags are ESO's; the environment passes
// KUBECONFIG and --metrics-addr=0.
package main

import "github.com/external-secrets/external-secrets/cmd/controller"

func main() {
	controller.Execute()
}
