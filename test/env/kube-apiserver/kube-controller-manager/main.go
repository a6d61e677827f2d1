// Command kube-controller-manager is upstream's kube-controller-manager, built from the same
// k8s.io/kubernetes module as the test kube-apiserver, so that test clusters really roll
// workloads out. Arguments go to the upstream command unchanged.
package main

import (
	"os"
	_ "time/tzdata" // for CronJob time zones, as upstream main does

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}
