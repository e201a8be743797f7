package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

type nodeConfig struct {
	kubeconfig, name, root, driver, csiSocket string
	kubeletPort                               int
	tlsCert, tlsKey                           string
	apiHost, apiPort                          string
	images                                    map[string][]string
	snapshotReadyAfter                        time.Duration
	self                                      string
}

type node struct {
	cfg     nodeConfig
	client  kubernetes.Interface
	dynamic dynamic.Interface
	pods    *podManager
}

func errf(format string, a ...any) error { return fmt.Errorf(format, a...) }

func nodeMain(args []string) error {
	fs := flag.NewFlagSet("node", flag.ExitOnError)
	var cfg nodeConfig
	var images multiFlag
	fs.StringVar(&cfg.kubeconfig, "kubeconfig", "", "kubeconfig of a user allowed to act as node, provisioner and CSI driver")
	fs.StringVar(&cfg.name, "name", "testnode-1", "node name")
	fs.StringVar(&cfg.root, "root", "", "state folder: volumes, snapshots, pods")
	fs.StringVar(&cfg.driver, "driver", "hostpath.csi.nsbackup.test", "CSI driver and provisioner name")
	fs.StringVar(&cfg.csiSocket, "csi-socket", "", "unix socket the CSI driver listens on (for csi-snapshotter)")
	fs.IntVar(&cfg.kubeletPort, "kubelet-port", 10250, "port of the kubelet API on 127.0.0.1")
	fs.StringVar(&cfg.tlsCert, "tls-cert", "", "kubelet serving certificate")
	fs.StringVar(&cfg.tlsKey, "tls-key", "", "kubelet serving key")
	fs.StringVar(&cfg.apiHost, "api-host", "127.0.0.1", "KUBERNETES_SERVICE_HOST given to containers")
	fs.StringVar(&cfg.apiPort, "api-port", "", "KUBERNETES_SERVICE_PORT given to containers")
	fs.Var(&images, "image", "IMAGE=ENTRYPOINT[,ARG...]: what a container of IMAGE (repository, any tag) runs when it names no command")
	fs.DurationVar(&cfg.snapshotReadyAfter, "snapshot-ready-after", 0, "a snapshot reports readyToUse only this long after it was cut")
	klog.InitFlags(fs)
	_ = fs.Parse(args)
	if cfg.kubeconfig == "" || cfg.root == "" || cfg.csiSocket == "" || cfg.tlsCert == "" || cfg.tlsKey == "" {
		return errf("node: --kubeconfig, --root, --csi-socket, --tls-cert and --tls-key are required")
	}
	cfg.images = map[string][]string{}
	for _, m := range images {
		name, entry, ok := strings.Cut(m, "=")
		if !ok {
			return errf("node: --image %q is not IMAGE=ENTRYPOINT", m)
		}
		cfg.images[name] = strings.Split(entry, ",")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cfg.self = self
	for _, d := range []string{"volumes", "snapshots", "pods"} {
		if err := os.MkdirAll(filepath.Join(cfg.root, d), 0o755); err != nil {
			return err
		}
	}
	rest, err := clientcmd.BuildConfigFromFlags("", cfg.kubeconfig)
	if err != nil {
		return err
	}
	rest.QPS, rest.Burst = 200, 400
	n := &node{cfg: cfg}
	if n.client, err = kubernetes.NewForConfig(rest); err != nil {
		return err
	}
	if n.dynamic, err = dynamic.NewForConfig(rest); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	if err := n.register(ctx); err != nil {
		return err
	}
	go n.heartbeat(ctx)
	n.pods = newPodManager(n)
	errs := make(chan error, 3)
	go func() { errs <- serveKubelet(ctx, n) }()
	go func() { errs <- serveCSI(ctx, n) }()
	go func() { errs <- runProvisioner(ctx, n) }()
	go n.pods.run(ctx)
	select {
	case <-ctx.Done():
		n.pods.stopAll()
		return nil
	case err := <-errs:
		n.pods.stopAll()
		return err
	}
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func (n *node) nodeStatus() corev1.NodeStatus {
	now := metav1.Now()
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI),
		corev1.ResourceMemory:           resource.MustParse("16Gi"),
		corev1.ResourcePods:             resource.MustParse("250"),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
	return corev1.NodeStatus{
		Capacity:    capacity,
		Allocatable: capacity,
		Conditions: []corev1.NodeCondition{
			cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "testnode has sufficient memory"),
			cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "testnode has no disk pressure"),
			cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "testnode has sufficient PID"),
			cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "testnode is posting ready status"),
		},
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: "127.0.0.1"},
			{Type: corev1.NodeHostName, Address: n.cfg.name},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(n.cfg.kubeletPort)}},
		NodeInfo: corev1.NodeSystemInfo{
			KubeletVersion: "v1.37.2", OperatingSystem: "linux", Architecture: runtime.GOARCH,
			ContainerRuntimeVersion: "testnode://1", OSImage: "local processes", KernelVersion: "host",
		},
	}
}

// register creates (or takes over) the Node object, as a kubelet does at start.
func (n *node) register(ctx context.Context) error {
	obj := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.cfg.name, Labels: map[string]string{
			"kubernetes.io/hostname": n.cfg.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": runtime.GOARCH,
			"node-role.kubernetes.io/control-plane": "",
		}},
	}
	for {
		created, err := n.client.CoreV1().Nodes().Create(ctx, obj, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			created, err = n.client.CoreV1().Nodes().Get(ctx, n.cfg.name, metav1.GetOptions{})
		}
		if err == nil {
			created.Status = n.nodeStatus()
			_, err = n.client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{})
		}
		if err == nil {
			return nil
		}
		klog.Infof("registering node: %v", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// heartbeat renews the node's Lease every 10 s and its status every 40 s, so the node lifecycle
// controller keeps it Ready.
func (n *node) heartbeat(ctx context.Context) {
	leases := n.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	duration := int32(40)
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for i := 0; ; i++ {
		now := metav1.NewMicroTime(time.Now())
		lease, err := leases.Get(ctx, n.cfg.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = leases.Create(ctx, &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: n.cfg.name},
				Spec:       coordinationv1.LeaseSpec{HolderIdentity: &n.cfg.name, LeaseDurationSeconds: &duration, RenewTime: &now},
			}, metav1.CreateOptions{})
		} else if err == nil {
			lease.Spec.RenewTime = &now
			_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
		}
		if err != nil && ctx.Err() == nil {
			klog.Infof("lease: %v", err)
		}
		if i%4 == 3 {
			if cur, err := n.client.CoreV1().Nodes().Get(ctx, n.cfg.name, metav1.GetOptions{}); err == nil {
				cur.Status = n.nodeStatus()
				_, _ = n.client.CoreV1().Nodes().UpdateStatus(ctx, cur, metav1.UpdateOptions{})
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
