package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
	corev1 "k8s.io/api/core/v1"
)

// The CSI driver behind the real csi-snapshotter sidecar: a volume is a folder, a snapshot a copy
// of it (cp -a: owners, modes and hard links kept).
type csiDriver struct {
	csi.UnimplementedIdentityServer
	csi.UnimplementedControllerServer
	n  *node
	mu sync.Mutex
}

type snapshotRecord struct {
	ID, Name, Source string
	Size             int64
	Created          time.Time
}

func serveCSI(ctx context.Context, n *node) error {
	_ = os.Remove(n.cfg.csiSocket)
	ln, err := net.Listen("unix", n.cfg.csiSocket)
	if err != nil {
		return err
	}
	srv := grpc.NewServer()
	d := &csiDriver{n: n}
	csi.RegisterIdentityServer(srv, d)
	csi.RegisterControllerServer(srv, d)
	go func() { <-ctx.Done(); srv.Stop() }()
	err = srv.Serve(ln)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (n *node) volumePath(pv *corev1.PersistentVolume) (string, error) {
	switch {
	case pv.Spec.CSI != nil && pv.Spec.CSI.Driver == n.cfg.driver:
		return filepath.Join(n.cfg.root, "volumes", pv.Spec.CSI.VolumeHandle), nil
	case pv.Spec.HostPath != nil:
		return pv.Spec.HostPath.Path, nil
	case pv.Spec.Local != nil:
		return pv.Spec.Local.Path, nil
	}
	return "", fmt.Errorf("persistentvolume %q is neither a %s CSI volume nor hostPath/local", pv.Name, n.cfg.driver)
}

func (d *csiDriver) GetPluginInfo(context.Context, *csi.GetPluginInfoRequest) (*csi.GetPluginInfoResponse, error) {
	return &csi.GetPluginInfoResponse{Name: d.n.cfg.driver, VendorVersion: "1.0.0"}, nil
}

func (d *csiDriver) GetPluginCapabilities(context.Context, *csi.GetPluginCapabilitiesRequest) (*csi.GetPluginCapabilitiesResponse, error) {
	return &csi.GetPluginCapabilitiesResponse{Capabilities: []*csi.PluginCapability{{
		Type: &csi.PluginCapability_Service_{Service: &csi.PluginCapability_Service{Type: csi.PluginCapability_Service_CONTROLLER_SERVICE}},
	}}}, nil
}

func (d *csiDriver) Probe(context.Context, *csi.ProbeRequest) (*csi.ProbeResponse, error) {
	return &csi.ProbeResponse{}, nil
}

func (d *csiDriver) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	capability := func(t csi.ControllerServiceCapability_RPC_Type) *csi.ControllerServiceCapability {
		return &csi.ControllerServiceCapability{Type: &csi.ControllerServiceCapability_Rpc{Rpc: &csi.ControllerServiceCapability_RPC{Type: t}}}
	}
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: []*csi.ControllerServiceCapability{
		capability(csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT),
		capability(csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS),
	}}, nil
}

func (d *csiDriver) snapshotDir(id string) string {
	return filepath.Join(d.n.cfg.root, "snapshots", id)
}

func (d *csiDriver) csiSnapshot(r snapshotRecord) *csi.Snapshot {
	return &csi.Snapshot{
		SnapshotId: r.ID, SourceVolumeId: r.Source, SizeBytes: r.Size,
		CreationTime: timestamppb.New(r.Created),
		ReadyToUse:   time.Since(r.Created) >= d.n.cfg.snapshotReadyAfter,
	}
}

func (d *csiDriver) readRecord(id string) (snapshotRecord, bool) {
	var r snapshotRecord
	b, err := os.ReadFile(d.snapshotDir(id) + ".json")
	if err != nil || json.Unmarshal(b, &r) != nil {
		return r, false
	}
	return r, true
}

// CreateSnapshot is idempotent by name, as CSI requires: the sidecar calls it again until ready.
func (d *csiDriver) CreateSnapshot(_ context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	if req.Name == "" || req.SourceVolumeId == "" {
		return nil, status.Error(codes.InvalidArgument, "name and source volume id are required")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	sum := sha256.Sum256([]byte(req.Name))
	id := "snap-" + hex.EncodeToString(sum[:10])
	if r, ok := d.readRecord(id); ok {
		if r.Source != req.SourceVolumeId {
			return nil, status.Errorf(codes.AlreadyExists, "snapshot %s exists for another volume", req.Name)
		}
		return &csi.CreateSnapshotResponse{Snapshot: d.csiSnapshot(r)}, nil
	}
	src := filepath.Join(d.n.cfg.root, "volumes", req.SourceVolumeId)
	if _, err := os.Stat(src); err != nil {
		return nil, status.Errorf(codes.NotFound, "volume %s: %v", req.SourceVolumeId, err)
	}
	dst := d.snapshotDir(id)
	if err := copyTree(src, dst); err != nil {
		return nil, status.Errorf(codes.Internal, "copy: %v", err)
	}
	r := snapshotRecord{ID: id, Name: req.Name, Source: req.SourceVolumeId, Size: treeSize(dst), Created: time.Now()}
	if err := writeJSON(dst+".json", r); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.CreateSnapshotResponse{Snapshot: d.csiSnapshot(r)}, nil
}

func (d *csiDriver) DeleteSnapshot(_ context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := os.RemoveAll(d.snapshotDir(req.SnapshotId)); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	_ = os.Remove(d.snapshotDir(req.SnapshotId) + ".json")
	return &csi.DeleteSnapshotResponse{}, nil
}

func (d *csiDriver) ListSnapshots(_ context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var entries []*csi.ListSnapshotsResponse_Entry
	matches, _ := filepath.Glob(filepath.Join(d.n.cfg.root, "snapshots", "*.json"))
	for _, m := range matches {
		id := filepath.Base(m[:len(m)-len(".json")])
		r, ok := d.readRecord(id)
		if !ok || (req.SnapshotId != "" && r.ID != req.SnapshotId) || (req.SourceVolumeId != "" && r.Source != req.SourceVolumeId) {
			continue
		}
		entries = append(entries, &csi.ListSnapshotsResponse_Entry{Snapshot: d.csiSnapshot(r)})
	}
	return &csi.ListSnapshotsResponse{Entries: entries}, nil
}

func copyTree(src, dst string) error {
	if err := os.MkdirAll(dst, 0o777); err != nil {
		return err
	}
	out, err := exec.Command("cp", "-a", src+"/.", dst+"/").CombinedOutput()
	if err != nil {
		return fmt.Errorf("cp -a: %v: %s", err, out)
	}
	return nil
}

func treeSize(dir string) int64 {
	var total int64
	_ = filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			if info, err := e.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	return total
}
