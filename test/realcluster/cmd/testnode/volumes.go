package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// prepareVolumes gives every volume of the pod a folder on this machine: a claim's volume folder
// (CSI volumes of our driver), hostPath as is, and files written for emptyDir, configMap, secret,
// downwardAPI and projected volumes (the service-account token by TokenRequest, as a kubelet).
func (m *podManager) prepareVolumes(ctx context.Context, pod *corev1.Pod, podDir string) (map[string]string, error) {
	out := map[string]string{}
	core := m.n.client.CoreV1()
	for _, v := range pod.Spec.Volumes {
		dir := filepath.Join(podDir, "volumes", v.Name)
		switch {
		case v.PersistentVolumeClaim != nil:
			pvc, err := core.PersistentVolumeClaims(pod.Namespace).Get(ctx, v.PersistentVolumeClaim.ClaimName, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("volume %s: %v", v.Name, err)
			}
			if pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.VolumeName == "" {
				return nil, fmt.Errorf("volume %s: persistentvolumeclaim %q is not bound", v.Name, pvc.Name)
			}
			pv, err := core.PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("volume %s: %v", v.Name, err)
			}
			path, err := m.n.volumePath(pv)
			if err != nil {
				return nil, fmt.Errorf("volume %s: %v", v.Name, err)
			}
			out[v.Name] = path
			continue
		case v.HostPath != nil:
			if v.HostPath.Type != nil && *v.HostPath.Type == corev1.HostPathDirectoryOrCreate {
				if err := os.MkdirAll(v.HostPath.Path, 0o755); err != nil {
					return nil, err
				}
			}
			out[v.Name] = v.HostPath.Path
			continue
		}
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return nil, err
		}
		_ = os.Chmod(dir, 0o777)
		out[v.Name] = dir
		switch {
		case v.EmptyDir != nil:
		case v.ConfigMap != nil:
			cm, err := core.ConfigMaps(pod.Namespace).Get(ctx, v.ConfigMap.Name, metav1.GetOptions{})
			if err != nil {
				if v.ConfigMap.Optional != nil && *v.ConfigMap.Optional {
					continue
				}
				return nil, fmt.Errorf("volume %s: %v", v.Name, err)
			}
			if err := writeKeys(dir, stringBytes(cm.Data, cm.BinaryData), v.ConfigMap.Items, v.ConfigMap.DefaultMode); err != nil {
				return nil, err
			}
		case v.Secret != nil:
			s, err := core.Secrets(pod.Namespace).Get(ctx, v.Secret.SecretName, metav1.GetOptions{})
			if err != nil {
				if v.Secret.Optional != nil && *v.Secret.Optional {
					continue
				}
				return nil, fmt.Errorf("volume %s: %v", v.Name, err)
			}
			if err := writeKeys(dir, s.Data, v.Secret.Items, v.Secret.DefaultMode); err != nil {
				return nil, err
			}
		case v.DownwardAPI != nil:
			if err := writeDownward(dir, pod, v.DownwardAPI.Items); err != nil {
				return nil, err
			}
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				switch {
				case src.ServiceAccountToken != nil:
					exp := int64(3600)
					if src.ServiceAccountToken.ExpirationSeconds != nil {
						exp = *src.ServiceAccountToken.ExpirationSeconds
					}
					req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
						ExpirationSeconds: &exp,
						BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
					}}
					if src.ServiceAccountToken.Audience != "" {
						req.Spec.Audiences = []string{src.ServiceAccountToken.Audience}
					}
					sa := pod.Spec.ServiceAccountName
					if sa == "" {
						sa = "default"
					}
					tok, err := core.ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
					if err != nil {
						return nil, fmt.Errorf("volume %s: token for serviceaccount %q: %v", v.Name, sa, err)
					}
					if err := os.WriteFile(filepath.Join(dir, src.ServiceAccountToken.Path), []byte(tok.Status.Token), 0o644); err != nil {
						return nil, err
					}
				case src.ConfigMap != nil:
					cm, err := core.ConfigMaps(pod.Namespace).Get(ctx, src.ConfigMap.Name, metav1.GetOptions{})
					if err != nil {
						return nil, fmt.Errorf("volume %s: %v", v.Name, err)
					}
					if err := writeKeys(dir, stringBytes(cm.Data, cm.BinaryData), src.ConfigMap.Items, v.Projected.DefaultMode); err != nil {
						return nil, err
					}
				case src.Secret != nil:
					s, err := core.Secrets(pod.Namespace).Get(ctx, src.Secret.Name, metav1.GetOptions{})
					if err != nil {
						return nil, fmt.Errorf("volume %s: %v", v.Name, err)
					}
					if err := writeKeys(dir, s.Data, src.Secret.Items, v.Projected.DefaultMode); err != nil {
						return nil, err
					}
				case src.DownwardAPI != nil:
					if err := writeDownward(dir, pod, src.DownwardAPI.Items); err != nil {
						return nil, err
					}
				}
			}
		default:
			return nil, fmt.Errorf("volume %s: this test node supports persistentVolumeClaim, hostPath, emptyDir, configMap, secret, downwardAPI and projected volumes", v.Name)
		}
	}
	return out, nil
}

func stringBytes(data map[string]string, binary map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range data {
		out[k] = []byte(v)
	}
	for k, v := range binary {
		out[k] = v
	}
	return out
}

func writeKeys(dir string, data map[string][]byte, items []corev1.KeyToPath, mode *int32) error {
	perm := os.FileMode(0o644)
	if mode != nil {
		perm = os.FileMode(*mode)
	}
	write := func(name string, b []byte, p os.FileMode) error {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, b, p); err != nil {
			return err
		}
		return os.Chmod(path, p)
	}
	if len(items) == 0 {
		for _, k := range sortedKeys(data) {
			if err := write(k, data[k], perm); err != nil {
				return err
			}
		}
		return nil
	}
	for _, it := range items {
		b, ok := data[it.Key]
		if !ok {
			return fmt.Errorf("key %q not found", it.Key)
		}
		p := perm
		if it.Mode != nil {
			p = os.FileMode(*it.Mode)
		}
		if err := write(it.Path, b, p); err != nil {
			return err
		}
	}
	return nil
}

func fieldValue(pod *corev1.Pod, path string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP", "status.hostIP":
		return "127.0.0.1", nil
	case "metadata.labels", "metadata.annotations":
		src := pod.Labels
		if path == "metadata.annotations" {
			src = pod.Annotations
		}
		var lines []string
		for _, k := range sortedKeys(src) {
			lines = append(lines, k+"="+strconv.Quote(src[k]))
		}
		return strings.Join(lines, "\n"), nil
	}
	if rest, ok := strings.CutPrefix(path, "metadata.labels['"); ok {
		return pod.Labels[strings.TrimSuffix(rest, "']")], nil
	}
	if rest, ok := strings.CutPrefix(path, "metadata.annotations['"); ok {
		return pod.Annotations[strings.TrimSuffix(rest, "']")], nil
	}
	return "", fmt.Errorf("fieldRef %q is not supported by the test node", path)
}

func writeDownward(dir string, pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile) error {
	for _, it := range items {
		if it.FieldRef == nil {
			continue
		}
		v, err := fieldValue(pod, it.FieldRef.FieldPath)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, it.Path), []byte(v), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// containerSpec resolves a container's environment (env, envFrom, the service variables a kubelet
// adds) and its mounts.
func (m *podManager) containerSpec(ctx context.Context, pod *corev1.Pod, c *corev1.Container, volumes map[string]string) (runSpec, error) {
	core := m.n.client.CoreV1()
	env := map[string]string{
		"PATH":     os.Getenv("PATH"),
		"HOSTNAME": pod.Name,
		"HOME":     "/root",
	}
	// A kubelet always sets these (the kubernetes Service); here they point at the API server itself.
	env["KUBERNETES_SERVICE_HOST"] = m.n.cfg.apiHost
	env["KUBERNETES_SERVICE_PORT"] = m.n.cfg.apiPort
	env["KUBERNETES_SERVICE_PORT_HTTPS"] = m.n.cfg.apiPort
	for _, from := range c.EnvFrom {
		var data map[string][]byte
		switch {
		case from.ConfigMapRef != nil:
			cm, err := core.ConfigMaps(pod.Namespace).Get(ctx, from.ConfigMapRef.Name, metav1.GetOptions{})
			if err != nil {
				if from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional {
					continue
				}
				return runSpec{}, fmt.Errorf("envFrom: %v", err)
			}
			data = stringBytes(cm.Data, nil)
		case from.SecretRef != nil:
			s, err := core.Secrets(pod.Namespace).Get(ctx, from.SecretRef.Name, metav1.GetOptions{})
			if err != nil {
				if from.SecretRef.Optional != nil && *from.SecretRef.Optional {
					continue
				}
				return runSpec{}, fmt.Errorf("envFrom: %v", err)
			}
			data = s.Data
		}
		for k, v := range data {
			env[from.Prefix+k] = string(v)
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = expandEnv(e.Value, env)
			continue
		}
		switch {
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			s, err := core.Secrets(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
			if err != nil || s.Data[ref.Key] == nil {
				if ref.Optional != nil && *ref.Optional {
					continue
				}
				return runSpec{}, fmt.Errorf("env %s: secret %q key %q: %v", e.Name, ref.Name, ref.Key, err)
			}
			env[e.Name] = string(s.Data[ref.Key])
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			cm, err := core.ConfigMaps(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
			v, ok := "", false
			if err == nil {
				v, ok = cm.Data[ref.Key]
			}
			if !ok {
				if ref.Optional != nil && *ref.Optional {
					continue
				}
				return runSpec{}, fmt.Errorf("env %s: configmap %q key %q: %v", e.Name, ref.Name, ref.Key, err)
			}
			env[e.Name] = v
		case e.ValueFrom.FieldRef != nil:
			v, err := fieldValue(pod, e.ValueFrom.FieldRef.FieldPath)
			if err != nil {
				return runSpec{}, err
			}
			env[e.Name] = v
		case e.ValueFrom.ResourceFieldRef != nil:
			env[e.Name] = "0"
		}
	}
	spec := runSpec{Dir: c.WorkingDir}
	for _, k := range sortedKeys(env) {
		spec.Env = append(spec.Env, k+"="+env[k])
	}
	for _, vm := range c.VolumeMounts {
		src, ok := volumes[vm.Name]
		if !ok {
			return runSpec{}, fmt.Errorf("volumeMount %s: no volume of that name", vm.Name)
		}
		if vm.SubPath != "" {
			src = filepath.Join(src, vm.SubPath)
			if _, err := os.Stat(src); os.IsNotExist(err) {
				if err := os.MkdirAll(src, 0o777); err != nil {
					return runSpec{}, err
				}
			}
		}
		spec.Mounts = append(spec.Mounts, mountSpec{Source: src, Target: vm.MountPath, ReadOnly: vm.ReadOnly})
	}
	sort.SliceStable(spec.Mounts, func(i, j int) bool { return len(spec.Mounts[i].Target) < len(spec.Mounts[j].Target) })
	sc := pod.Spec.SecurityContext
	if sc != nil {
		spec.Uid, spec.Gid = sc.RunAsUser, sc.RunAsGroup
	}
	if c.SecurityContext != nil {
		if c.SecurityContext.RunAsUser != nil {
			spec.Uid = c.SecurityContext.RunAsUser
		}
		if c.SecurityContext.RunAsGroup != nil {
			spec.Gid = c.SecurityContext.RunAsGroup
		}
	}
	return spec, nil
}

// expandEnv does the kubelet's $(VAR) expansion of env values.
func expandEnv(s string, env map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '$' && i+1 < len(s) {
			if s[i+1] == '$' {
				b.WriteByte('$')
				i++
				continue
			}
			if s[i+1] == '(' {
				if end := strings.IndexByte(s[i+2:], ')'); end >= 0 {
					name := s[i+2 : i+2+end]
					if v, ok := env[name]; ok {
						b.WriteString(v)
					} else {
						b.WriteString(s[i : i+3+end])
					}
					i += 2 + end
					continue
				}
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
