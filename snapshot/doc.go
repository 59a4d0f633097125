// Package snapshot defines how berth stores unpacked image layers and
// container root filesystems: the Snapshotter interface, the Mount type
// snapshotters return, and MountAll/Unmount that put those mounts in place.
//
// The model is containerd's: every method takes a context first and returns
// mounts instead of mounting, so the caller decides where and when a
// snapshot is mounted. Two implementations exist: snapshot/overlay (each
// layer stored once and stacked with overlayfs) and snapshot/native (a full
// copy per snapshot, for filesystems where overlay cannot be mounted).
// snapshot/auto picks one; snapshot/snapshottest is the conformance suite
// both pass.
//
// # Snapshots
//
// A snapshot is active (writable: a layer being unpacked or a container's
// rootfs), a view (read-only) or committed (immutable, usable as a parent).
// Committed snapshots are named by the caller, for image layers with the
// layer's chain ID, so a layer shared by several images is stored once.
//
// # Unpacking a layer (the contract with package image)
//
//	mounts, err := sn.Prepare(ctx, tmpKey, parentChainID)
//	// one "bind" mount: apply the tar into mounts[0].Source with merge
//	//   semantics (whiteouts delete the files they name);
//	// one "overlay" mount: apply the tar straight into the path of its
//	//   "upperdir=" option (see UpperDir) with overlay semantics (a whiteout
//	//   becomes a 0:0 character device, an opaque directory gets
//	//   trusted.overlay.opaque="y");
//	err = sn.Commit(ctx, chainID, tmpKey)
//
// The overlay snapshotter returns a bind mount for a snapshot without a
// parent, so the first layer of every image is the simple case. On any
// failure the caller removes tmpKey.
//
// # Mounting
//
// MountAll mounts overlay with the new mount API (fsopen, one fsconfig
// "lowerdir+" per layer, fsmount, move_mount) where the kernel has it (6.8
// and later, found by probing, not by version), which has no limit on the
// length of the layer list. Older kernels get mount(2), whose option string
// must fit in one page: when it does not, the layers' common directory
// becomes the working directory of a dedicated thread and the lower paths
// are given relative to it. The overlay snapshotter names its layers by
// six-character links in one directory, as Docker's overlay2 does, so all
// MaxLayers (500) layers fit. Unmount undoes MountAll.
package snapshot
