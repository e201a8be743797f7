// testnode is the part of the test control plane that is ours: a virtual node whose pods run local
// processes, the CSI side of snapshots (a driver for the real csi-snapshotter sidecar) and a stand-in
// for external-provisioner. Everything else (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, snapshot-controller, csi-snapshotter) is built unmodified from published modules.
//
//	testnode certs --dir D               CA, serving and client certificates, service-account keys
//	testnode node  --kubeconfig F ...     the node, the CSI driver socket and the provisioner
//	testnode run   SPEC.json              (internal) a container process inside its own mount namespace
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: testnode certs|node|run ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "certs":
		err = certsMain(os.Args[2:])
	case "node":
		err = nodeMain(os.Args[2:])
	case "run":
		err = runMain(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testnode:", err)
		os.Exit(1)
	}
}
