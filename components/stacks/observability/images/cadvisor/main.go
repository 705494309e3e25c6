// swarm-etl-cadvisor: container metrics of one node, for Prometheus — cAdvisor's own library
// (github.com/google/cadvisor v0.53.0, Apache-2.0: its manager, its Docker plugin and its
// Prometheus collectors) behind a small main of ours. cAdvisor's released program lives in a
// module of its own (github.com/google/cadvisor/cmd) that the Go module proxy here does not serve,
// and from v0.60 on the library's manager is no longer in the root module: so this is the newest
// library that has all it needs. Only /metrics and /healthz are served: no web UI, no REST API.
//
// It reads its node's cgroups (/sys/fs/cgroup, read only) and asks its daemon about each container
// through a read-only socket proxy (GET /version, /info and /containers/<id>/json). cAdvisor's own
// flags apply (-docker, -docker_only, -housekeeping_interval, ...); ours are -listen, -labels.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/google/cadvisor/cache/memory"
	"github.com/google/cadvisor/container"
	"github.com/google/cadvisor/container/docker"
	_ "github.com/google/cadvisor/container/docker/install"
	v2 "github.com/google/cadvisor/info/v2"
	"github.com/google/cadvisor/manager"
	"github.com/google/cadvisor/metrics"
	"github.com/google/cadvisor/utils/sysfs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

var (
	listen = flag.String("listen", ":8080", "address to serve /metrics and /healthz on")
	labels = flag.String("labels", "com.docker.swarm.service.name,com.docker.swarm.task.name,com.docker.swarm.node.id,com.docker.stack.namespace",
		"container labels to put on each container's series (comma-separated)")
	keep = flag.Duration("storage_duration", 2*time.Minute, "how long to keep stats in memory")
	wait = flag.Duration("docker_wait", time.Minute, "how long to wait for the Docker API (-docker) to answer before giving up (Swarm starts the task again)")
	raw  = flag.String("raw_cgroup_prefix_whitelist", "", "cgroup path prefixes reported beside the containers when -docker_only is set (comma-separated)")
)

// Costly or unneeded here: what cAdvisor's own program leaves out by default, and more.
var ignored = container.MetricSet{
	container.MemoryNumaMetrics: {}, container.NetworkTcpUsageMetrics: {}, container.NetworkUdpUsageMetrics: {},
	container.NetworkAdvancedTcpUsageMetrics: {}, container.ProcessSchedulerMetrics: {}, container.ProcessMetrics: {},
	container.HugetlbUsageMetrics: {}, container.ReferencedMemoryMetrics: {}, container.CPUTopologyMetrics: {},
	container.ResctrlMetrics: {}, container.CPUSetMetrics: {}, container.PerfMetrics: {},
	// A du of every container's writable layer: costly, and the node exporter has the disks.
	container.DiskUsageMetrics: {},
	// CPU time per core, per container: a series per core where the total is what is read.
	container.PerCpuUsageMetrics: {},
}

func main() {
	klog.InitFlags(nil)
	flag.Parse()
	defer klog.Flush()

	// Without its daemon cAdvisor would start anyway and report no container at all (-docker_only):
	// wait for the API (the node's socket proxy may start after this), or exit and be restarted.
	if err := dockerAnswers(*docker.ArgDockerEndpoint, *wait); err != nil {
		klog.Fatalf("cadvisor: the Docker API at %s: %v", *docker.ArgDockerEndpoint, err)
	}
	included := container.AllMetrics.Difference(ignored)
	m, err := manager.New(memory.New(*keep, nil), sysfs.NewRealSysFs(), manager.HousekeepingConfigFlags, included,
		http.DefaultClient, strings.Split(*raw, ","), []string{""}, "", 0)
	if err != nil {
		klog.Fatalf("cadvisor: the manager: %v", err)
	}
	if err := m.Start(); err != nil {
		klog.Fatalf("cadvisor: starting the manager: %v", err)
	}

	reg := prometheus.NewRegistry()
	opts := v2.RequestOptions{IdType: v2.TypeName, Count: 1, Recursive: true}
	reg.MustRegister(
		metrics.NewPrometheusCollector(m, metrics.BaseContainerLabels(strings.Split(*labels, ",")), included, clock.RealClock{}, opts),
		metrics.NewPrometheusMachineCollector(m, included),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-stop
		_ = m.Stop()
		os.Exit(0)
	}()
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	klog.Infof("cadvisor: serving /metrics on %s", *listen)
	klog.Fatal(srv.ListenAndServe())
}

// dockerAnswers waits until GET /_ping on a unix:// endpoint answers 200, for at most `limit`.
func dockerAnswers(endpoint string, limit time.Duration) error {
	sock, ok := strings.CutPrefix(endpoint, "unix://")
	if !ok {
		return nil
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	deadline := time.Now().Add(limit)
	for {
		r, err := client.Get("http://docker/_ping")
		if err == nil {
			_ = r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET /_ping: %s", r.Status)
		}
		if time.Now().After(deadline) {
			return err
		}
		klog.Infof("cadvisor: waiting for the Docker API: %v", err)
		time.Sleep(2 * time.Second)
	}
}
