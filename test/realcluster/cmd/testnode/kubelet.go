package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"
)

// serveKubelet is the kubelet API the API server proxies pods/exec and pods/log to. Exec is
// served with the kubelet's own streaming code (SPDY; the API server translates WebSocket clients).
func serveKubelet(ctx context.Context, n *node) error {
	cert, err := tls.LoadX509KeyPair(n.cfg.tlsCert, n.cfg.tlsKey)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/exec/", n.handleExec)
	mux.HandleFunc("/containerLogs/", n.handleLogs)
	srv := &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, ReadHeaderTimeout: 30 * time.Second}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", n.cfg.kubeletPort))
	if err != nil {
		return err
	}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	err = srv.ServeTLS(ln, "", "")
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// /exec/{namespace}/{pod}/{container} or /exec/{namespace}/{pod}/{uid}/{container}
func (n *node) handleExec(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/exec/"), "/")
	if len(parts) != 3 && len(parts) != 4 {
		http.Error(w, "bad exec path", http.StatusBadRequest)
		return
	}
	ns, pod, containerName := parts[0], parts[1], parts[len(parts)-1]
	opts, err := remotecommand.NewOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if _, _, err := n.pods.lookup(ns, pod, containerName); err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	cmd := r.URL.Query()["command"]
	remotecommand.ServeExec(w, r, &executor{n: n}, ns+"/"+pod, "", containerName, cmd, opts,
		4*time.Hour, remotecommand.DefaultStreamCreationTimeout, remotecommandconsts.SupportedStreamingProtocols)
}

type executor struct{ n *node }

func (e *executor) ExecInContainer(ctx context.Context, name, _ string, containerName string, cmd []string, in io.Reader, out, errw io.WriteCloser, _ bool, _ <-chan remotecommand.TerminalSize, _ time.Duration) error {
	ns, pod, _ := strings.Cut(name, "/")
	st, c, err := e.n.pods.lookup(ns, pod, containerName)
	if err != nil {
		return err
	}
	st.mu.Lock()
	running, spec, dir := c.running, c.spec, st.dir
	st.mu.Unlock()
	if !running {
		return fmt.Errorf("container %q is not running", containerName)
	}
	if len(cmd) == 0 {
		return fmt.Errorf("no command given")
	}
	spec.Argv = cmd
	var stdout, stderr io.Writer = io.Discard, io.Discard
	if out != nil {
		stdout = out
	}
	if errw != nil {
		stderr = errw
	}
	var stdinR *os.File
	var stdinW *os.File
	if in != nil {
		stdinR, stdinW, err = os.Pipe()
		if err != nil {
			return err
		}
	}
	var stdin io.Reader
	if stdinR != nil {
		stdin = stdinR
	}
	proc, err := e.n.startInSandbox(spec, dir, stdin, stdout, stderr)
	if stdinR != nil {
		stdinR.Close()
	}
	if err != nil {
		if stdinW != nil {
			stdinW.Close()
		}
		return err
	}
	if stdinW != nil {
		// Not waited for: a command may exit without reading all of its input.
		go func() { _, _ = io.Copy(stdinW, in); stdinW.Close() }()
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = syscall.Kill(-proc.Process.Pid, syscall.SIGKILL)
		case <-done:
		}
	}()
	werr := proc.Wait()
	close(done)
	if code := exitCode(werr); code != 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: int(code)}
	}
	return nil
}

// /containerLogs/{namespace}/{pod}/{container}: what the container printed (tailLines, limitBytes).
func (n *node) handleLogs(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/containerLogs/"), "/")
	if len(parts) != 3 {
		http.Error(w, "bad log path", http.StatusBadRequest)
		return
	}
	st, c, err := n.pods.lookup(parts[0], parts[1], parts[2])
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	b, err := os.ReadFile(filepath.Join(st.dir, c.name+".log"))
	if err != nil && !os.IsNotExist(err) {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if t := r.URL.Query().Get("tailLines"); t != "" {
		if k, err := strconv.Atoi(t); err == nil {
			lines := strings.SplitAfter(string(b), "\n")
			if len(lines) > 0 && lines[len(lines)-1] == "" {
				lines = lines[:len(lines)-1]
			}
			if len(lines) > k {
				lines = lines[len(lines)-k:]
			}
			b = []byte(strings.Join(lines, ""))
		}
	}
	if l := r.URL.Query().Get("limitBytes"); l != "" {
		if k, err := strconv.Atoi(l); err == nil && len(b) > k {
			b = b[:k]
		}
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write(b)
}
