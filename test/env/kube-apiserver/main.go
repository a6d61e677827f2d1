// Command kube-apiserver is a test-only kube-apiserver with an embedded etcd.
//
// It starts a single-member etcd on loopback, then runs the real kube-apiserver command
// (k8s.io/kubernetes/cmd/kube-apiserver/app) against it. Flags of its own, all required:
//
//	--etcd-client-port=N  loopback port for etcd clients (the apiserver)
//	--etcd-peer-port=N    loopback port for etcd peer traffic (unused, but etcd needs one)
//	--etcd-data-dir=DIR   etcd data directory
//
// and one optional switch:
//
//	--exit-on-stdin-eof   shut down (as on SIGTERM) when stdin reaches end of file, so a
//	                      parent that dies without cleaning up (SIGKILL) takes it along
//
// Every other argument goes to kube-apiserver unchanged; --etcd-servers is added.
// On SIGTERM/SIGINT the apiserver shuts down, then etcd is closed.
package main

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "time/tzdata" // for timeZone support in CronJob, as upstream main does

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	args, exitOnStdinEOF := takeSwitch(os.Args[1:], "--exit-on-stdin-eof")
	own, rest, err := splitArgs(args, "etcd-client-port", "etcd-peer-port", "etcd-data-dir")
	if err != nil {
		fail(err)
	}
	clientPort, err := port(own, "etcd-client-port")
	if err != nil {
		fail(err)
	}
	peerPort, err := port(own, "etcd-peer-port")
	if err != nil {
		fail(err)
	}
	dataDir := own["etcd-data-dir"]
	if dataDir == "" {
		fail(fmt.Errorf("--etcd-data-dir is required"))
	}

	etcd, err := startEtcd(dataDir, clientPort, peerPort)
	if err != nil {
		fail(fmt.Errorf("embedded etcd: %w", err))
	}

	command := app.NewAPIServerCommand() // installs the SIGTERM/SIGINT handler
	if exitOnStdinEOF {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
		}()
	}
	command.SetArgs(append([]string{fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", clientPort)}, rest...))
	code := cli.Run(command)

	etcd.Close()
	os.Exit(code)
}

func startEtcd(dir string, clientPort, peerPort int) (*embed.Etcd, error) {
	clientURL := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", clientPort)}
	peerURL := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", peerPort)}

	cfg := embed.NewConfig()
	cfg.Name = "rotor-test"
	cfg.Dir = dir
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ListenMetricsUrls = nil
	cfg.EnableGRPCGateway = false
	cfg.UnsafeNoFsync = true // throwaway data: speed over durability
	cfg.Logger = "zap"
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{"stderr"}

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, err
	case <-time.After(60 * time.Second):
		e.Server.Stop()
		e.Close()
		return nil, fmt.Errorf("not ready after 60s")
	}
}

// takeSwitch removes every occurrence of a boolean switch from args.
func takeSwitch(args []string, name string) ([]string, bool) {
	var rest []string
	found := false
	for _, a := range args {
		if a == name || a == name+"=true" {
			found = true
		} else {
			rest = append(rest, a)
		}
	}
	return rest, found
}

// splitArgs takes the named flags (--name=value or --name value) out of args.
func splitArgs(args []string, names ...string) (map[string]string, []string, error) {
	own := map[string]string{}
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		matched := false
		for _, n := range names {
			prefix := "--" + n
			if a == prefix {
				if i+1 >= len(args) {
					return nil, nil, fmt.Errorf("%s needs a value", prefix)
				}
				own[n] = args[i+1]
				i++
				matched = true
			} else if strings.HasPrefix(a, prefix+"=") {
				own[n] = strings.TrimPrefix(a, prefix+"=")
				matched = true
			}
		}
		if !matched {
			rest = append(rest, a)
		}
	}
	return own, rest, nil
}

func port(own map[string]string, name string) (int, error) {
	p, err := strconv.Atoi(own[name])
	if err != nil || p <= 0 || p > 65535 {
		return 0, fmt.Errorf("--%s must be a port number, got %q", name, own[name])
	}
	return p, nil
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "kube-apiserver (rotor test): %v\n", err)
	os.Exit(2)
}
