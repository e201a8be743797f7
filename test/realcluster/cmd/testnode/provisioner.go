package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// The stand-in for external-provisioner (documented as ours): claims of a StorageClass whose
// provisioner is our driver get a CSI PersistentVolume whose volume is a folder, filled from a
// VolumeSnapshot or another claim when the claim names one. kube-controller-manager's PV
// controller does the binding; released volumes with reclaimPolicy Delete are deleted, data and
// all, as a real provisioner does.
const (
	annProvisioner     = "volume.kubernetes.io/storage-provisioner"
	annBetaProvisioner = "volume.beta.kubernetes.io/storage-provisioner"
	annSelectedNode    = "volume.kubernetes.io/selected-node"
	annProvisionedBy   = "pv.kubernetes.io/provisioned-by"
	pvFinalizer        = "external-provisioner.volume.kubernetes.io/finalizer"
)

var (
	snapshotGVR = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshots"}
	contentGVR  = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshotcontents"}
)

type provisioner struct {
	n        *node
	factory  informers.SharedInformerFactory
	claims   cache.SharedIndexInformer
	volumes  cache.SharedIndexInformer
	classes  cache.SharedIndexInformer
	poke     chan struct{}
	mu       sync.Mutex
	reported map[string]string // claim uid -> last warning, so an event is not repeated every second
}

func runProvisioner(ctx context.Context, n *node) error {
	p := &provisioner{n: n, poke: make(chan struct{}, 1), reported: map[string]string{}}
	p.factory = informers.NewSharedInformerFactory(n.client, 0)
	p.claims = p.factory.Core().V1().PersistentVolumeClaims().Informer()
	p.volumes = p.factory.Core().V1().PersistentVolumes().Informer()
	p.classes = p.factory.Storage().V1().StorageClasses().Informer()
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { p.wake() },
		UpdateFunc: func(any, any) { p.wake() },
	}
	for _, inf := range []cache.SharedIndexInformer{p.claims, p.volumes} {
		_, _ = inf.AddEventHandler(handler)
	}
	p.factory.Start(ctx.Done())
	p.factory.WaitForCacheSync(ctx.Done())
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		p.reconcile(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-p.poke:
		case <-tick.C:
		}
	}
}

func (p *provisioner) wake() {
	select {
	case p.poke <- struct{}{}:
	default:
	}
}

func (p *provisioner) reconcile(ctx context.Context) {
	for _, o := range p.claims.GetStore().List() {
		pvc := o.(*corev1.PersistentVolumeClaim)
		if pvc.Spec.VolumeName != "" || pvc.Status.Phase != corev1.ClaimPending || pvc.DeletionTimestamp != nil {
			continue
		}
		prov := pvc.Annotations[annProvisioner]
		if prov == "" {
			prov = pvc.Annotations[annBetaProvisioner]
		}
		if prov != p.n.cfg.driver {
			continue
		}
		if err := p.provision(ctx, pvc); err != nil {
			p.warn(ctx, pvc, err.Error())
		}
	}
	for _, o := range p.volumes.GetStore().List() {
		pv := o.(*corev1.PersistentVolume)
		if pv.Annotations[annProvisionedBy] != p.n.cfg.driver {
			continue
		}
		released := pv.Status.Phase == corev1.VolumeReleased && pv.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimDelete
		if released || pv.DeletionTimestamp != nil {
			p.deleteVolume(ctx, pv, released)
		}
	}
}

func (p *provisioner) provision(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	name := "pvc-" + string(pvc.UID)
	if _, exists, _ := p.volumes.GetStore().GetByKey(name); exists {
		return nil
	}
	className := ""
	if pvc.Spec.StorageClassName != nil {
		className = *pvc.Spec.StorageClassName
	}
	o, ok, _ := p.classes.GetStore().GetByKey(className)
	if !ok {
		return fmt.Errorf("storageclass %q not found", className)
	}
	class := o.(*storagev1.StorageClass)
	if class.VolumeBindingMode != nil && *class.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer && pvc.Annotations[annSelectedNode] == "" {
		return nil // the scheduler picks the node first
	}
	request := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	dir := filepath.Join(p.n.cfg.root, "volumes", name)
	source, err := p.sourceDir(ctx, pvc, request)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	_ = os.Chmod(dir, 0o777)
	if source != "" {
		if err := copyTree(source, dir); err != nil {
			return err
		}
	}
	reclaim := corev1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		reclaim = *class.ReclaimPolicy
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{annProvisionedBy: p.n.cfg.driver}, Finalizers: []string{pvFinalizer}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: request},
			AccessModes:                   pvc.Spec.AccessModes,
			ClaimRef:                      &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID, ResourceVersion: pvc.ResourceVersion},
			PersistentVolumeReclaimPolicy: reclaim,
			StorageClassName:              className,
			MountOptions:                  class.MountOptions,
			VolumeMode:                    pvc.Spec.VolumeMode,
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
				Driver: p.n.cfg.driver, VolumeHandle: name, FSType: "ext4",
				VolumeAttributes: map[string]string{"storage.kubernetes.io/csiProvisionerIdentity": "testnode"},
			}},
		},
	}
	if _, err := p.n.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	p.event(ctx, pvc, corev1.EventTypeNormal, "ProvisioningSucceeded", "Successfully provisioned volume "+name)
	return nil
}

// sourceDir is the folder a new volume is filled from: a ready VolumeSnapshot's copy or another
// claim's volume; "" for an empty volume.
func (p *provisioner) sourceDir(ctx context.Context, pvc *corev1.PersistentVolumeClaim, request resource.Quantity) (string, error) {
	kind, name, group := "", "", ""
	if ref := pvc.Spec.DataSourceRef; ref != nil {
		kind, name = ref.Kind, ref.Name
		if ref.APIGroup != nil {
			group = *ref.APIGroup
		}
	} else if ds := pvc.Spec.DataSource; ds != nil {
		kind, name = ds.Kind, ds.Name
		if ds.APIGroup != nil {
			group = *ds.APIGroup
		}
	}
	switch {
	case kind == "":
		return "", nil
	case kind == "VolumeSnapshot" && group == "snapshot.storage.k8s.io":
		vs, err := p.n.dynamic.Resource(snapshotGVR).Namespace(pvc.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return "", fmt.Errorf("error getting snapshot %s from api server: %v", name, err)
		}
		ready, _, _ := unstructured.NestedBool(vs.Object, "status", "readyToUse")
		contentName, _, _ := unstructured.NestedString(vs.Object, "status", "boundVolumeSnapshotContentName")
		if !ready || contentName == "" {
			return "", fmt.Errorf("snapshot %s is not Ready", name)
		}
		content, err := p.n.dynamic.Resource(contentGVR).Get(ctx, contentName, metav1.GetOptions{})
		if err != nil {
			return "", fmt.Errorf("error getting snapshot content %s: %v", contentName, err)
		}
		handle, _, _ := unstructured.NestedString(content.Object, "status", "snapshotHandle")
		if size, ok, _ := unstructured.NestedInt64(content.Object, "status", "restoreSize"); ok && request.Value() < size {
			return "", fmt.Errorf("requested volume size %d is less than the size %d for the source snapshot %s", request.Value(), size, name)
		}
		dir := filepath.Join(p.n.cfg.root, "snapshots", handle)
		if _, err := os.Stat(dir); handle == "" || err != nil {
			return "", fmt.Errorf("snapshot %s: no data for handle %q", name, handle)
		}
		return dir, nil
	case kind == "PersistentVolumeClaim" && group == "":
		src, err := p.n.client.CoreV1().PersistentVolumeClaims(pvc.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return "", fmt.Errorf("error getting PVC %s: %v", name, err)
		}
		if src.Spec.VolumeName == "" {
			return "", fmt.Errorf("source PVC %s is not bound", name)
		}
		return filepath.Join(p.n.cfg.root, "volumes", src.Spec.VolumeName), nil
	}
	return "", fmt.Errorf("data source %s %s/%s is not supported by %s", kind, group, name, p.n.cfg.driver)
}

func (p *provisioner) deleteVolume(ctx context.Context, pv *corev1.PersistentVolume, released bool) {
	if pv.Spec.CSI != nil && pv.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimDelete {
		if err := os.RemoveAll(filepath.Join(p.n.cfg.root, "volumes", pv.Spec.CSI.VolumeHandle)); err != nil {
			klog.Errorf("deleting volume %s: %v", pv.Name, err)
			return
		}
	}
	pvs := p.n.client.CoreV1().PersistentVolumes()
	if pv.DeletionTimestamp == nil && released {
		if err := pvs.Delete(ctx, pv.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			klog.Errorf("deleting pv %s: %v", pv.Name, err)
		}
		return
	}
	if pv.DeletionTimestamp != nil {
		cur, err := pvs.Get(ctx, pv.Name, metav1.GetOptions{})
		if err != nil {
			return
		}
		var keep []string
		for _, f := range cur.Finalizers {
			if f != pvFinalizer {
				keep = append(keep, f)
			}
		}
		if len(keep) != len(cur.Finalizers) {
			cur.Finalizers = keep
			_, _ = pvs.Update(ctx, cur, metav1.UpdateOptions{})
		}
	}
}

func (p *provisioner) warn(ctx context.Context, pvc *corev1.PersistentVolumeClaim, msg string) {
	p.mu.Lock()
	seen := p.reported[string(pvc.UID)] == msg
	p.reported[string(pvc.UID)] = msg
	p.mu.Unlock()
	if !seen {
		p.event(ctx, pvc, corev1.EventTypeWarning, "ProvisioningFailed", msg)
	}
}

func (p *provisioner) event(ctx context.Context, pvc *corev1.PersistentVolumeClaim, kind, reason, msg string) {
	now := metav1.Now()
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{GenerateName: pvc.Name + ".", Namespace: pvc.Namespace},
		InvolvedObject: corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID, ResourceVersion: pvc.ResourceVersion},
		Reason:         reason, Message: msg, Type: kind, Count: 1, FirstTimestamp: now, LastTimestamp: now,
		Source: corev1.EventSource{Component: p.n.cfg.driver + "_testnode"},
	}
	_, _ = p.n.client.CoreV1().Events(pvc.Namespace).Create(ctx, ev, metav1.CreateOptions{})
}
