package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

type mountSpec struct {
	Source, Target string
	ReadOnly       bool
}

// runSpec is one process of a container: what `testnode run` sets up before it execs the command.
type runSpec struct {
	Argv     []string
	Env      []string
	Dir      string
	Mounts   []mountSpec
	Uid, Gid *int64
}

// startInSandbox starts `testnode run SPEC` in a new mount namespace, its own process group.
func (n *node) startInSandbox(spec runSpec, podDir string, stdin io.Reader, stdout, stderr io.Writer) (*exec.Cmd, error) {
	f, err := os.CreateTemp(podDir, "run-*.json")
	if err != nil {
		return nil, err
	}
	f.Close()
	if err := writeJSON(f.Name(), spec); err != nil {
		return nil, err
	}
	cmd := exec.Command(n.cfg.self, "run", f.Name())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	// Go remounts / private in the child when CLONE_NEWNS is unshared, so our binds stay ours.
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS, Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return cmd, nil
}

// runMain is the container side: bind the volumes at their mount paths, drop to the container's
// user, exec the command. It runs in a fresh mount namespace, so nothing here is seen outside.
func runMain(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("run: one spec file expected")
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	_ = os.Remove(args[0])
	var spec runSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		return err
	}
	if len(spec.Argv) == 0 {
		return fmt.Errorf("run: no command")
	}
	// Every source is opened before the first mount: a mount target such as /tmp (an emptyDir) may cover the
	// folder the node keeps the other volumes in, and a path looked up after that mount would be the new one.
	sources := make([]*os.File, len(spec.Mounts))
	for i, m := range spec.Mounts {
		f, err := os.OpenFile(m.Source, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("mount %s: %v", m.Target, err)
		}
		sources[i] = f
	}
	for i, m := range spec.Mounts {
		info, err := sources[i].Stat()
		if err != nil {
			return fmt.Errorf("mount %s: %v", m.Target, err)
		}
		if info.IsDir() {
			err = os.MkdirAll(m.Target, 0o755)
		} else if _, statErr := os.Stat(m.Target); os.IsNotExist(statErr) {
			if err = os.MkdirAll(filepath.Dir(m.Target), 0o755); err == nil {
				err = os.WriteFile(m.Target, nil, 0o644)
			}
		}
		if err != nil {
			return fmt.Errorf("mount point %s: %v", m.Target, err)
		}
		source := fmt.Sprintf("/proc/self/fd/%d", sources[i].Fd())
		if err := syscall.Mount(source, m.Target, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s: %v", m.Target, err)
		}
		if m.ReadOnly {
			if err := syscall.Mount("", m.Target, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY|syscall.MS_REC, ""); err != nil {
				return fmt.Errorf("read-only %s: %v", m.Target, err)
			}
		}
	}
	for _, f := range sources {
		f.Close()
	}
	dir := spec.Dir
	if dir == "" {
		dir = "/"
	}
	if err := os.Chdir(dir); err != nil {
		return fmt.Errorf("workingDir %s: %v", dir, err)
	}
	path := ""
	for _, e := range spec.Env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	bin := spec.Argv[0]
	if !strings.Contains(bin, "/") {
		found := ""
		for _, d := range filepath.SplitList(path) {
			if st, err := os.Stat(filepath.Join(d, bin)); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				found = filepath.Join(d, bin)
				break
			}
		}
		if found == "" {
			fmt.Fprintf(os.Stderr, "exec: %q: executable file not found in $PATH\n", bin)
			os.Exit(127)
		}
		bin = found
	}
	if spec.Gid != nil {
		if err := syscall.Setgroups([]int{int(*spec.Gid)}); err != nil {
			return err
		}
		if err := syscall.Setgid(int(*spec.Gid)); err != nil {
			return err
		}
	}
	if spec.Uid != nil {
		if spec.Gid == nil {
			if err := syscall.Setgroups([]int{}); err != nil {
				return err
			}
		}
		if err := syscall.Setuid(int(*spec.Uid)); err != nil {
			return err
		}
	}
	err = syscall.Exec(bin, spec.Argv, spec.Env)
	fmt.Fprintf(os.Stderr, "exec %s: %v\n", bin, err)
	os.Exit(126)
	return nil
}
