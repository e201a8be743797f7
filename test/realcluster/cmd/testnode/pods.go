package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// A container is one process (or none: a container whose image we cannot run stays Running idle,
// so that pods/exec can run commands "in" it, which is all a database container needs here).
type container struct {
	name, image  string
	spec         runSpec
	argv         []string // empty: idle
	cmd          *exec.Cmd
	running      bool
	started      metav1.Time
	finished     metav1.Time
	exitCode     int32
	terminated   bool
	restartCount int32
	waiting      string
}

type podState struct {
	mu          sync.Mutex
	pod         *corev1.Pod
	dir         string
	init        []*container
	containers  []*container
	initialized bool
	phase       corev1.PodPhase
	startTime   metav1.Time
	message     string
	cancel      context.CancelFunc
	done        chan struct{}
}

type podManager struct {
	n    *node
	mu   sync.Mutex
	pods map[types.UID]*podState
}

func newPodManager(n *node) *podManager { return &podManager{n: n, pods: map[types.UID]*podState{}} }

func (m *podManager) run(ctx context.Context) {
	factory := informers.NewSharedInformerFactoryWithOptions(m.n.client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", m.n.cfg.name).String()
	}))
	inf := factory.Core().V1().Pods().Informer()
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { m.observe(ctx, o.(*corev1.Pod)) },
		UpdateFunc: func(_, o any) { m.observe(ctx, o.(*corev1.Pod)) },
		DeleteFunc: func(o any) {
			if p, ok := o.(*corev1.Pod); ok {
				m.forget(p.UID)
			} else if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
				if p, ok := t.Obj.(*corev1.Pod); ok {
					m.forget(p.UID)
				}
			}
		},
	})
	factory.Start(ctx.Done())
	<-ctx.Done()
}

func (m *podManager) observe(ctx context.Context, pod *corev1.Pod) {
	m.mu.Lock()
	st, known := m.pods[pod.UID]
	if !known {
		if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			m.mu.Unlock()
			// Not ours to run (a node restart, or already finished): a deleted one is finished off.
			if pod.DeletionTimestamp != nil {
				m.finalDelete(ctx, pod)
			}
			return
		}
		pctx, cancel := context.WithCancel(ctx)
		st = &podState{pod: pod.DeepCopy(), dir: filepath.Join(m.n.cfg.root, "pods", string(pod.UID)), cancel: cancel, done: make(chan struct{}), phase: corev1.PodPending, startTime: metav1.Now()}
		m.pods[pod.UID] = st
		m.mu.Unlock()
		go m.work(pctx, st)
		return
	}
	m.mu.Unlock()
	st.mu.Lock()
	st.pod = pod.DeepCopy()
	st.mu.Unlock()
	if pod.DeletionTimestamp != nil {
		go m.terminate(ctx, st)
	}
}

func (m *podManager) forget(uid types.UID) {
	m.mu.Lock()
	st := m.pods[uid]
	delete(m.pods, uid)
	m.mu.Unlock()
	if st != nil {
		st.cancel()
		st.killAll(0)
	}
}

func (m *podManager) stopAll() {
	m.mu.Lock()
	all := make([]*podState, 0, len(m.pods))
	for _, st := range m.pods {
		all = append(all, st)
	}
	m.mu.Unlock()
	for _, st := range all {
		st.cancel()
		st.killAll(2 * time.Second)
	}
}

// terminate is the kubelet's side of a graceful delete: SIGTERM, the grace period (at most 30 s
// here), SIGKILL, then the final delete with grace 0 that removes the object.
func (m *podManager) terminate(ctx context.Context, st *podState) {
	st.mu.Lock()
	pod := st.pod
	st.mu.Unlock()
	grace := 30 * time.Second
	if pod.DeletionGracePeriodSeconds != nil && time.Duration(*pod.DeletionGracePeriodSeconds)*time.Second < grace {
		grace = time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	}
	st.cancel()
	st.killAll(grace)
	m.finalDelete(ctx, pod)
}

func (m *podManager) finalDelete(ctx context.Context, pod *corev1.Pod) {
	zero := int64(0)
	uid := pod.UID
	err := m.n.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		klog.Infof("deleting pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
}

func (st *podState) killAll(grace time.Duration) {
	st.mu.Lock()
	var procs []*exec.Cmd
	for _, c := range append(append([]*container{}, st.init...), st.containers...) {
		if c.running && c.cmd != nil && c.cmd.Process != nil {
			procs = append(procs, c.cmd)
		}
	}
	st.mu.Unlock()
	for _, p := range procs {
		_ = syscall.Kill(-p.Process.Pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for _, p := range procs {
		for time.Now().Before(deadline) && p.ProcessState == nil && syscall.Kill(p.Process.Pid, 0) == nil {
			time.Sleep(50 * time.Millisecond)
		}
		_ = syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
	}
}

func (m *podManager) work(ctx context.Context, st *podState) {
	defer close(st.done)
	if err := os.MkdirAll(st.dir, 0o755); err != nil {
		klog.Errorf("pod dir: %v", err)
		return
	}
	st.mu.Lock()
	pod := st.pod
	st.mu.Unlock()
	for _, c := range pod.Spec.InitContainers {
		st.init = append(st.init, &container{name: c.Name, image: c.Image, waiting: "PodInitializing"})
	}
	for _, c := range pod.Spec.Containers {
		st.containers = append(st.containers, &container{name: c.Name, image: c.Image, waiting: "ContainerCreating"})
	}
	m.report(ctx, st)

	// Volumes and environment: retried until they can be had (a claim not yet bound, a Secret not
	// yet created), as a kubelet does.
	var mounts map[string]string
	for {
		var err error
		mounts, err = m.prepareVolumes(ctx, pod, st.dir)
		if err == nil {
			break
		}
		st.setMessage(err.Error())
		m.report(ctx, st)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	st.setMessage("")
	for i, c := range pod.Spec.InitContainers {
		spec, err := m.containerSpec(ctx, pod, &pod.Spec.InitContainers[i], mounts)
		if err != nil {
			st.fail(err.Error())
			m.report(ctx, st)
			return
		}
		ct := st.init[i]
		ct.spec, ct.argv = spec, m.argv(&c)
		for {
			code := m.runToEnd(ctx, st, ct)
			if ctx.Err() != nil {
				return
			}
			if code == 0 {
				break
			}
			if pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
				st.fail(fmt.Sprintf("init container %s exited with %d", c.Name, code))
				m.report(ctx, st)
				return
			}
			time.Sleep(time.Second)
		}
	}
	st.mu.Lock()
	st.initialized = true
	st.mu.Unlock()
	var wg sync.WaitGroup
	for i := range pod.Spec.Containers {
		spec, err := m.containerSpec(ctx, pod, &pod.Spec.Containers[i], mounts)
		if err != nil {
			st.fail(err.Error())
			m.report(ctx, st)
			return
		}
		ct := st.containers[i]
		ct.spec, ct.argv = spec, m.argv(&pod.Spec.Containers[i])
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				code := m.runToEnd(ctx, st, ct)
				if ctx.Err() != nil {
					return
				}
				policy := pod.Spec.RestartPolicy
				if policy == corev1.RestartPolicyNever || (policy == corev1.RestartPolicyOnFailure && code == 0) {
					return
				}
				time.Sleep(time.Second)
				st.mu.Lock()
				ct.restartCount++
				st.mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	st.mu.Lock()
	st.phase = corev1.PodSucceeded
	for _, c := range st.containers {
		if c.exitCode != 0 {
			st.phase = corev1.PodFailed
		}
	}
	st.mu.Unlock()
	m.report(ctx, st)
}

func (st *podState) setMessage(msg string) {
	st.mu.Lock()
	st.message = msg
	st.mu.Unlock()
}

func (st *podState) fail(msg string) {
	st.mu.Lock()
	st.phase, st.message = corev1.PodFailed, msg
	st.mu.Unlock()
}

// argv is what the container runs: its command and args, or the entrypoint configured for its
// image; none means the container idles.
func (m *podManager) argv(c *corev1.Container) []string {
	if len(c.Command) > 0 {
		return append(append([]string{}, c.Command...), c.Args...)
	}
	repo := c.Image
	if i := strings.LastIndex(repo, "@"); i > 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	for _, candidate := range []string{repo, repo[strings.LastIndex(repo, "/")+1:]} {
		if entry, ok := m.n.cfg.images[candidate]; ok {
			return append(append([]string{}, entry...), c.Args...)
		}
	}
	return nil
}

// runToEnd runs one container process to its end and returns its exit code; an idle container
// waits for the pod's end.
func (m *podManager) runToEnd(ctx context.Context, st *podState, ct *container) int32 {
	st.mu.Lock()
	ct.running, ct.terminated, ct.waiting, ct.started = true, false, "", metav1.Now()
	st.phase = corev1.PodRunning
	st.mu.Unlock()
	if len(ct.argv) == 0 {
		m.report(ctx, st)
		<-ctx.Done()
		return 0
	}
	spec := ct.spec
	spec.Argv = ct.argv
	logFile, err := os.OpenFile(filepath.Join(st.dir, ct.name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	code := int32(128)
	if err == nil {
		cmd, startErr := m.n.startInSandbox(spec, st.dir, nil, logFile, logFile)
		if startErr != nil {
			fmt.Fprintf(logFile, "testnode: %v\n", startErr)
			code = 127
		} else {
			st.mu.Lock()
			ct.cmd = cmd
			st.mu.Unlock()
			m.report(ctx, st)
			code = exitCode(cmd.Wait())
		}
		logFile.Close()
	}
	st.mu.Lock()
	ct.running, ct.terminated, ct.exitCode, ct.finished = false, true, code, metav1.Now()
	st.mu.Unlock()
	m.report(ctx, st)
	return code
}

func exitCode(err error) int32 {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int32(ws.Signal())
		}
		return int32(ee.ExitCode())
	}
	return 128
}

func (c *container) status(pod *corev1.Pod) corev1.ContainerStatus {
	s := corev1.ContainerStatus{Name: c.name, Image: c.image, ImageID: "testnode://" + c.image, RestartCount: c.restartCount}
	switch {
	case c.running:
		s.State.Running = &corev1.ContainerStateRunning{StartedAt: c.started}
		s.Ready = true
		s.ContainerID = fmt.Sprintf("testnode://%s/%s", pod.UID, c.name)
	case c.terminated:
		reason := "Completed"
		if c.exitCode != 0 {
			reason = "Error"
		}
		s.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: c.exitCode, Reason: reason, StartedAt: c.started, FinishedAt: c.finished}
		s.ContainerID = fmt.Sprintf("testnode://%s/%s", pod.UID, c.name)
	default:
		s.State.Waiting = &corev1.ContainerStateWaiting{Reason: c.waiting}
	}
	started := c.running
	s.Started = &started
	return s
}

// report writes the pod's status as the kubelet sees it (retried on conflicts).
func (m *podManager) report(ctx context.Context, st *podState) {
	st.mu.Lock()
	pod := st.pod
	status := corev1.PodStatus{Phase: st.phase, HostIP: "127.0.0.1", HostIPs: []corev1.HostIP{{IP: "127.0.0.1"}}, StartTime: &st.startTime, Message: st.message}
	if st.phase != corev1.PodPending || st.initialized {
		status.PodIP, status.PodIPs = "127.0.0.1", []corev1.PodIP{{IP: "127.0.0.1"}}
	}
	allReady := len(st.containers) > 0
	for _, c := range st.init {
		status.InitContainerStatuses = append(status.InitContainerStatuses, c.status(pod))
	}
	for _, c := range st.containers {
		cs := c.status(pod)
		allReady = allReady && cs.Ready
		status.ContainerStatuses = append(status.ContainerStatuses, cs)
	}
	st.mu.Unlock()
	now := metav1.Now()
	boolCond := func(t corev1.PodConditionType, ok bool) corev1.PodCondition {
		s := corev1.ConditionFalse
		if ok {
			s = corev1.ConditionTrue
		}
		return corev1.PodCondition{Type: t, Status: s, LastTransitionTime: now}
	}
	status.Conditions = []corev1.PodCondition{
		boolCond(corev1.PodReadyToStartContainers, st.initialized),
		boolCond(corev1.PodInitialized, st.initialized),
		boolCond(corev1.ContainersReady, allReady),
		boolCond(corev1.PodReady, allReady),
		boolCond(corev1.PodScheduled, true),
	}
	for attempt := 0; attempt < 10; attempt++ {
		cur, err := m.n.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil || cur.UID != pod.UID {
			return
		}
		// Keep the transition times of conditions that did not change.
		for i := range status.Conditions {
			for _, old := range cur.Status.Conditions {
				if old.Type == status.Conditions[i].Type && old.Status == status.Conditions[i].Status {
					status.Conditions[i].LastTransitionTime = old.LastTransitionTime
				}
			}
		}
		// The API server sets the QoS class when the pod is created, from its resources; it never changes.
		status.QOSClass = cur.Status.QOSClass
		cur.Status = status
		_, err = m.n.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		if err == nil || apierrors.IsNotFound(err) || ctx.Err() != nil {
			return
		}
		if !apierrors.IsConflict(err) {
			klog.Infof("pod status %s/%s: %v", pod.Namespace, pod.Name, err)
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// lookup finds a running (or idle) container of a pod for pods/exec and logs.
func (m *podManager) lookup(ns, name, containerName string) (*podState, *container, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, st := range m.pods {
		st.mu.Lock()
		match := st.pod.Namespace == ns && st.pod.Name == name
		var found *container
		if match {
			for _, c := range append(append([]*container{}, st.init...), st.containers...) {
				if c.name == containerName {
					found = c
				}
			}
		}
		st.mu.Unlock()
		if !match {
			continue
		}
		if found == nil {
			return st, nil, fmt.Errorf("container not found (%q)", containerName)
		}
		return st, found, nil
	}
	return nil, nil, fmt.Errorf("pod %s/%s is not running on this node", ns, name)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}
