#!/bin/sh
# run-v2.sh boots a qemu guest with a pure cgroup v2 userland (Debian kernel,
# cgroup_no_v1=all, busybox in an initramfs) and runs Go test binaries in it.
# The script's exit status is that of the guest's test run (first failing
# binary's status, 0 when all pass), 124 when the guest timed out, 125 when
# no result marker was seen (kernel panic, boot failure).
#
# usage: scripts/vm/run-v2.sh [-t SECONDS] [-l LOG] [-r RUNTIME] [-e] [-f SRC[:DST]]... [TEST.BIN[=FLAGS]...]
#   -t  guest timeout (default $VM_TIMEOUT or 1200)
#   -l  serial log (default bin/vm/run-v2.log)
#   -f  extra file copied into the initramfs at DST (default /opt/<basename>),
#       e.g. -f bin/berth-runtime:/usr/local/bin/berth-runtime
#   -r  a prebuilt static berth-runtime (make build's bin/berth-runtime,
#       berth-runtime-init beside it): the guest has no Go, so a `go` shim
#       in its PATH answers tests/runtime's TestMain `go build ... -o OUT
#       berth/cmd/berth-runtime` (and -init) by copying them
#   -e  also the engine: tests/cli's end-to-end tests of the berth CLI
#       ($VM_CLI_RUN selects them: run, stop, restart policies, a killed
#       monitor, stats/update/pause, --init, volumes) with make build's
#       bin/berth, bin/berth-full, bin/berth-init, the -r runtime and a static build of the
#       C monitor, handed to the tests through BERTH_TEST_BINDIR
#   TEST.BIN: static Go test binaries (go test -c, see below); run in order
#       in the guest, from /tmp, with $VM_TESTFLAGS (default -test.v
#       -test.count=1) or, after "=", flags of its own (one word each, e.g.
#       bin/vm/runtime.test=-test.run=^TestCgroupV2).
#   With no TEST.BIN, builds and runs ./runtime/cgroups's test binary and,
#   when -r is given, ./tests/runtime's with -test.run=$VM_RUNTIME_RUN
#   (default: the cgroup v2 controller, update, events, pause, OOM, device
#   and a few lifecycle tests; "." runs all, about 12 min of guest time).
# The guest has 2 vCPUs, 2 GiB, and a 64 MiB scratch virtio disk
# (bin/vm/disk.img, /dev/vda) so that io.max throttles have a whole disk.
# Environment: VM_KVM=1 tries -accel kvm (does not boot on this host's
# paravirtual /dev/kvm: tcg is the default); VM_ENV="K=V ..." is exported in
# the guest before the tests run; VM_APPEND adds kernel arguments.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=$ROOT/bin/vm
TIMEOUT=${VM_TIMEOUT:-1200}
LOG=$CACHE/run-v2.log
TESTFLAGS=${VM_TESTFLAGS:--test.v -test.count=1}
KPKG=${VM_KERNEL_PKG:-linux-image-amd64}
MODULES=${VM_MODULES:-overlay veth bridge virtio_pci virtio_blk}
EXTRA=""

RUNTIME=""
ENGINE=0
while getopts t:l:f:r:e o; do
	case $o in
	t) TIMEOUT=$OPTARG ;;
	l) LOG=$OPTARG ;;
	f) EXTRA="$EXTRA $OPTARG" ;;
	r) RUNTIME=$OPTARG ;;
	e) ENGINE=1 ;;
	*) sed -n '2,30p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
mkdir -p "$CACHE/debs"

# Host packages: qemu, busybox-static, the C toolchain for the static cgo
# test binaries.
need=""
command -v qemu-system-x86_64 >/dev/null 2>&1 || need="$need qemu-system-x86"
[ -x /bin/busybox ] && /bin/busybox --list | grep -qx cpio || need="$need busybox-static"
if [ -n "$need" ]; then
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need
fi

# The kernel: the .deb of the package linux-image-amd64 depends on, fetched
# into the cache and unpacked there (never installed on the host).
kpkg=$(apt-cache depends "$KPKG" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)/\1/p' | head -1)
[ -n "$kpkg" ] || kpkg=$KPKG
deb=$(ls "$CACHE"/debs/"${kpkg}"_*.deb 2>/dev/null | tail -1 || true)
if [ -z "$deb" ]; then
	(cd "$CACHE/debs" && apt-get download "$kpkg")
	deb=$(ls "$CACHE"/debs/"${kpkg}"_*.deb | tail -1)
fi
kdir=$CACHE/kernel/$(basename "$deb" .deb)
if [ ! -d "$kdir/boot" ]; then
	rm -rf "$kdir.tmp" && mkdir -p "$kdir.tmp"
	dpkg-deb -x "$deb" "$kdir.tmp"
	mv "$kdir.tmp" "$kdir"
fi
vmlinuz=$(ls "$kdir"/boot/vmlinuz-* | head -1)
kver=${vmlinuz##*/vmlinuz-}
moddir=$kdir/lib/modules/$kver

# Test binaries: default is runtime/cgroups and, with -r, tests/runtime,
# built static like `make build`.
# The tests/runtime selection: every cgroup v2 controller test and the v1
# ones (they skip here), update, events, pause, OOM, devices, cgroup
# namespace, and lifecycle tests whose cleanup goes through the cgroup.
RUNTIME_RUN=${VM_RUNTIME_RUN:-'^(TestCgroup.*|TestUpdate.*|TestEvents.*|TestPauseResume|TestOOMKill|TestForkBombPidsLimit|TestBlkioWeight|TestHugetlbLimit|TestUnapplicableLimits|TestFeatureCgroupNamespace|TestFeatureDefaultDevices|TestFeatureLinuxDevices|TestExecJoinsNamespacesAndCgroup|TestRunForegroundExitStatus|TestCreateStartDeleteLifecycle|TestKillAll|TestDeleteStoppedKillsLeftovers|TestDeleteForceRunning|TestPsHostPids)$'}
CLI_RUN=${VM_CLI_RUN:-'^(TestRunForeground|TestRunDetachedLifecycle|TestRestartPolicyAndKilledMonitor|TestStatsUpdateInfo|TestInit|TestVolumes|TestStopTimeouts)$'}
if [ $# -eq 0 ]; then
	GO=${GO:-$(command -v go 2>/dev/null || ls /usr/local/go/bin/go /usr/lib/go-1.23/bin/go 2>/dev/null | head -1)}
	(cd "$ROOT" && CGO_ENABLED=1 "$GO" test -c -tags osusergo,netgo \
		-ldflags '-extldflags "-static"' -o "$CACHE/cgroups.test" ./runtime/cgroups)
	set -- "$CACHE/cgroups.test"
	if [ -n "$RUNTIME" ]; then
		(cd "$ROOT" && CGO_ENABLED=1 "$GO" test -c -tags osusergo,netgo \
			-ldflags '-extldflags "-static"' -o "$CACHE/runtime.test" ./tests/runtime)
		set -- "$@" "$CACHE/runtime.test=-test.v -test.count=1 -test.timeout=15m -test.run=$RUNTIME_RUN"
	fi
	if [ "$ENGINE" = 1 ]; then
		[ -n "$RUNTIME" ] || { echo "run-v2: -e needs -r" >&2; exit 2; }
		(cd "$ROOT" && CGO_ENABLED=0 "$GO" test -c -tags osusergo,netgo -o "$CACHE/cli.test" ./tests/cli)
		set -- "$@" "$CACHE/cli.test=-test.v -test.count=1 -test.timeout=15m -test.run=$CLI_RUN"
	fi
fi

# The scratch disk: sparse, made once.
disk=$CACHE/disk.img
[ -f "$disk" ] || truncate -s 64M "$disk"

# The initramfs.
ird=$CACHE/initramfs
rm -rf "$ird"
mkdir -p "$ird"/bin "$ird"/sbin "$ird"/usr/bin "$ird"/usr/sbin "$ird"/usr/local/bin \
	"$ird"/proc "$ird"/sys "$ird"/dev "$ird"/run "$ird"/tmp "$ird"/root \
	"$ird"/etc "$ird"/etc/test-flags.d "$ird"/tests "$ird"/opt "$ird"/lib/modules
cp /bin/busybox "$ird/bin/busybox"
for a in $(/bin/busybox --list-full); do
	[ -e "$ird/$a" ] || ln -s /bin/busybox "$ird/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$ird/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$ird/etc/group"
echo berth-v2 >"$ird/etc/hostname"

# Modules with their dependencies (from each .ko's modinfo "depends="),
# listed dependencies first, for insmod in /init. Built-ins are skipped.
modlist=""
addmod() {
	case " $modlist " in *" $1 "*) return ;; esac
	f=$(find "$moddir/kernel" -name "$1.ko" -o -name "$1.ko.xz" -o -name "$1.ko.zst" | head -1)
	if [ -z "$f" ]; then
		grep -q "/$1.ko\$" "$moddir/modules.builtin" 2>/dev/null || echo "run-v2: module $1 not found, skipped" >&2
		return
	fi
	case $f in
	*.xz) xz -dc "$f" >"$ird/lib/modules/$1.ko" ;;
	*.zst) zstd -qdc "$f" >"$ird/lib/modules/$1.ko" ;;
	*) cp "$f" "$ird/lib/modules/$1.ko" ;;
	esac
	for d in $(tr '\0' '\n' <"$ird/lib/modules/$1.ko" | sed -n 's/^depends=//p' | tr ',' ' '); do
		addmod "$d"
	done
	modlist="$modlist $1"
}
for m in $MODULES; do addmod "$m"; done
echo "$modlist" >"$ird/etc/modules"

n=0
for t in "$@"; do
	n=$((n + 1))
	bin=${t%%=*}
	name=$(printf %02d "$n")-$(basename "$bin")
	cp "$bin" "$ird/tests/$name"
	[ "$bin" = "$t" ] || printf '%s\n' "${t#*=}" >"$ird/etc/test-flags.d/$name"
done
for e in $EXTRA; do
	src=${e%%:*}
	dst=${e#*:}
	[ "$dst" != "$e" ] || dst=/opt/$(basename "$src")
	mkdir -p "$ird$(dirname "$dst")"
	cp "$src" "$ird$dst"
done
if [ -n "$RUNTIME" ]; then
	cp "$RUNTIME" "$ird/usr/local/libexec-berth-runtime"
	cp "$(dirname "$RUNTIME")/berth-runtime-init" "$ird/usr/local/libexec-berth-runtime-init"
	cat >"$ird/usr/local/bin/go" <<'EOF'
#!/bin/sh
# go shim: only `go build ... -o OUT berth/cmd/berth-runtime` and
# berth/cmd/berth-runtime-init (tests/runtime's TestMain), answered with
# the prebuilt binaries run-v2.sh -r put in the guest.
[ "$1" = build ] || { echo "go shim: only 'go build' of berth-runtime" >&2; exit 2; }
out="" pkg=""
while [ $# -gt 0 ]; do
	case $1 in -o) out=$2; shift ;; *) pkg=$1 ;; esac
	shift
done
[ -n "$out" ] || { echo "go shim: no -o" >&2; exit 2; }
case $pkg in
berth/cmd/berth-runtime) src=/usr/local/libexec-berth-runtime ;;
berth/cmd/berth-runtime-init) src=/usr/local/libexec-berth-runtime-init ;;
*) echo "go shim: cannot build $pkg" >&2; exit 2 ;;
esac
cp "$src" "$out" && chmod 755 "$out"
EOF
	chmod 755 "$ird/usr/local/bin/go"
fi
if [ "$ENGINE" = 1 ]; then
	# The berth binaries for tests/cli (BERTH_TEST_BINDIR); the monitor is
	# linked statically here, the guest has no libc.
	mkdir -p "$ird/opt/berth-bin"
	${CC:-cc} -static -O2 -o "$ird/opt/berth-bin/berth-monitor" "$ROOT"/cmd/berth-monitor/*.c
	cp "$ROOT/bin/berth" "$ROOT/bin/berth-full" "$ROOT/bin/berth-init" "$ird/opt/berth-bin/"
	cp "$RUNTIME" "$ird/opt/berth-bin/berth-runtime"
	cp "$(dirname "$RUNTIME")/berth-runtime-init" "$ird/opt/berth-bin/"
	VM_ENV="${VM_ENV:-} BERTH_TEST_BINDIR=/opt/berth-bin"
fi
printf '%s\n' "${VM_ENV:-}" >"$ird/etc/test-env"
printf '%s\n' "$TESTFLAGS" >"$ird/etc/test-flags"

cat >"$ird/init" <<'EOF'
#!/bin/sh
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/root TMPDIR=/tmp
# pivot_root(2) fails (EINVAL) on the initramfs rootfs: copy the tree into a
# tmpfs and switch_root there first, as a distribution's initramfs does.
if [ ! -e /.switched ]; then
	mkdir /newroot
	mount -t tmpfs -o mode=0755 tmpfs /newroot
	for d in /*; do
		[ "$d" = /newroot ] || cp -a "$d" /newroot/
	done
	touch /newroot/.switched
	exec switch_root /newroot /init
fi
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
hostname -F /etc/hostname
ip link set lo up
for m in $(cat /etc/modules); do insmod /lib/modules/$m.ko || echo "init: insmod $m failed"; done
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
	echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || echo "init: cannot enable $c"
done
echo "BERTH-VM kernel $(uname -r) up $(cut -d' ' -f1 /proc/uptime)s"
echo "BERTH-VM mounts: $(grep cgroup /proc/mounts | tr '\n' ';')"
echo "BERTH-VM controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
set -a
. /etc/test-env
set +a
rc=0
cd /tmp
for t in /tests/*; do
	flags=/etc/test-flags
	[ -f "/etc/test-flags.d/${t##*/}" ] && flags=/etc/test-flags.d/${t##*/}
	echo "BERTH-VM run $t $(cat $flags)"
	# No globbing of the flags: a -test.run regex has * in it.
	set -f
	"$t" $(cat $flags) 2>&1
	r=$?
	set +f
	echo "BERTH-VM done $t rc=$r up $(cut -d' ' -f1 /proc/uptime)s"
	[ $r -eq 0 ] || [ $rc -ne 0 ] || rc=$r
done
# The tests assert their own cleanup; this line shows it at a glance.
echo "BERTH-VM cgroups left under /sys/fs/cgroup/berth: $(find /sys/fs/cgroup/berth -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l)"
echo "BERTH-VM-RESULT rc=$rc"
sync
poweroff -f
EOF
chmod 755 "$ird/init"
initrd=$CACHE/initramfs.cpio.gz
(cd "$ird" && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -1 >"$initrd")

accel=tcg
[ "${VM_KVM:-0}" = 1 ] && accel=kvm
echo "run-v2: kernel $kver, initramfs $(du -h "$initrd" | cut -f1), accel $accel, timeout ${TIMEOUT}s, log $LOG" >&2
start=$(date +%s)
set +e
timeout "$TIMEOUT" qemu-system-x86_64 -accel "$accel" -cpu max -m 2048 -smp 2 -nographic \
	-kernel "$vmlinuz" -initrd "$initrd" \
	-drive "file=$disk,format=raw,if=virtio,cache=unsafe" \
	-append "console=ttyS0 cgroup_no_v1=all quiet panic=-1 ${VM_APPEND:-}" \
	-no-reboot </dev/null 2>&1 | tr -d '\r' | tee "$LOG"
qrc=$?
set -e
echo "run-v2: guest ran $(($(date +%s) - start))s" >&2
rc=$(sed -n 's/^BERTH-VM-RESULT rc=\([0-9]*\).*/\1/p' "$LOG" | tail -1)
if [ -z "$rc" ]; then
	echo "run-v2: no result marker in $LOG" >&2
	grep -q 'BERTH-VM run' "$LOG" && exit 124
	exit 125
fi
exit "$rc"
