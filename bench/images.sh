#!/usr/bin/env bash
# bench/images.sh: berth's image layer, measured (issue 4). In one run:
#
#  1. unpack throughput beside umoci on the same OCI archives (many small
#     files, a few large files, a tar of host directories): hyperfine of
#     the CLIs (`berth load` against `umoci raw unpack` and `umoci
#     unpack`), and the Go benchmark BenchmarkUnpackVsUmoci (Store.Unpack
#     alone against `umoci raw unpack`, interleaved);
#  2. the disk 50 containers of one ~20 MB image take, overlay against
#     native (BenchmarkRootfsDisk50);
#  3. the time to make, mount and unmount a container rootfs from a
#     50-layer image, overlay against native
#     (BenchmarkRootfsMount50Layers).
#
# Run as root: bench/images.sh (see bench/README.md for the settings).
# Everything happens in a temp dir inside a private mount namespace; on
# any exit every mount under it is unmounted and it is removed.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" = 0 ] || die "must run as root (unpacks layers with their owners, mounts overlays)"

# A private mount namespace: a mount the benchmarks make cannot reach the
# host's mount table, and goes away with the namespace if all else fails.
if [ "${_BERTH_BENCH_NS:-}" != 1 ]; then
	exec unshare --mount --propagation private env _BERTH_BENCH_NS=1 "$BASH" "$0" "$@"
fi

RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
UNPACK_RUNS=${UNPACK_RUNS:-5}
MOUNT_RUNS=${MOUNT_RUNS:-50}
HOST_PATHS=${HOST_PATHS:-usr/share/doc usr/share/perl usr/share/vim usr/share/i18n usr/share/zoneinfo usr/lib/x86_64-linux-gnu/perl usr/lib/x86_64-linux-gnu/dri}
RESULTS=${RESULTS:-$repo/bench/results/$(date +%Y%m%d-%H%M%S)-images}
GO=${GO:-go}
UMOCI=${UMOCI:-$(command -v umoci || true)}

[ -n "$UMOCI" ] && [ -x "$UMOCI" ] || die "umoci not found: apt-get install umoci"
command -v hyperfine >/dev/null || die "hyperfine not found: run make deps"
command -v jq >/dev/null || die "jq not found: apt-get install jq"
command -v perl >/dev/null || die "perl not found"
[ "$RUNS" -ge 2 ] || die "RUNS=$RUNS: at least 2 runs are needed"

work=$(mktemp -d /tmp/berth-bench-images.XXXXXX)

# cleanup unmounts whatever is still mounted under $work (deepest first;
# the benchmarks unmount their own, this covers a crash or Ctrl-C), then
# removes $work, unless a mount would not go: rm -rf must never run
# through a mount.
cleanup() {
	local rc=$? m left
	trap - EXIT INT TERM
	set +e
	while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" || warn "cannot unmount $m"
	done < <(awk -v w="$work" '$5 == w || index($5, w "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
	left=$(awk -v w="$work" '$5 == w || index($5, w "/") == 1 { print $5 }' /proc/self/mountinfo)
	if [ -z "$left" ]; then
		rm -rf "$work"
	else
		warn "still mounted, $work kept: $left"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$RESULTS" "$work/tmp" "$work/archives"
arch=$work/archives

# The binaries: the CLI (or $BERTH) and the image package's test binary,
# built into $work so that bin/ is left alone.
if [ -n "${BERTH:-}" ]; then
	[ -x "$BERTH" ] || die "$BERTH is not executable"
else
	BERTH=$work/berth
	echo "building berth and the image benchmarks..."
	(cd "$repo" && "$GO" build -o "$BERTH" ./cmd/berth) || die "go build ./cmd/berth failed"
fi
(cd "$repo" && "$GO" test -c -o "$work/image.test" ./image) || die "go test -c ./image failed"

{
	echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "kernel:    $(uname -r)"
	echo "cpus:      $(nproc)"
	echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
	echo "fs:        $(findmnt -no FSTYPE -T "$work") at $work"
	echo "berth:     $("$BERTH" --version | head -1) ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown), with local changes if any)"
	echo "umoci:     $("$UMOCI" --version | head -1)"
	echo "hyperfine: $(hyperfine --version)"
	echo "settings:  RUNS=$RUNS WARMUP=$WARMUP UNPACK_RUNS=$UNPACK_RUNS MOUNT_RUNS=$MOUNT_RUNS"
	echo "host tar:  $HOST_PATHS"
} >"$RESULTS/env.txt"
cat "$RESULTS/env.txt"
echo

# gen_layer writes a synthetic tree into $2: "small" is 20,000 files of
# 0.5 to 7.5 KiB (about 80 MB) in 200 directories with 2,000 symlinks;
# "large" is 4 files of 50 MiB. Half of every file is random and half
# text, so gzip shrinks it to about half, like binaries and text mixed.
gen_layer() {
	perl -e '
		use strict; use warnings;
		my ($kind, $dir) = @ARGV;
		srand(42);
		open(my $r, "<:raw", "/dev/urandom") or die "urandom: $!";
		my $text = "berth unpacks layers into snapshots; umoci into a bundle.\n" x 20000;
		sub body {
			my $n = shift; my $h = int($n / 2);
			read($r, my $b, $h) == $h or die "urandom: short read";
			return $b . substr($text, 0, $n - $h);
		}
		sub put {
			my ($p, $body) = @_;
			open(my $f, ">:raw", $p) or die "$p: $!"; print $f $body; close($f) or die "$p: $!";
		}
		if ($kind eq "small") {
			for my $d (0 .. 199) {
				my $sub = sprintf("%s/usr/share/s%03d", $dir, $d);
				system("mkdir", "-p", $sub) == 0 or die;
				for my $i (0 .. 99) {
					put(sprintf("%s/f%02d", $sub, $i), body(512 + int(rand(7168))));
					symlink(sprintf("f%02d", $i), sprintf("%s/l%02d", $sub, $i)) or die if $i % 10 == 0;
				}
			}
		} else {
			system("mkdir", "-p", "$dir/opt/big") == 0 or die;
			for my $i (0 .. 3) {
				open(my $f, ">:raw", "$dir/opt/big/blob$i") or die; 
				print $f body(1 << 20) for 1 .. 50;
				close($f) or die;
			}
		}' "$1" "$2"
}

# make_archive turns the tar $2 into the OCI archive $arch/$1.tar (berth
# import, then save --format oci) and its extracted layout $arch/$1/, the
# image tagged bench/$1:1 (ref.name "1" for umoci).
make_archive() {
	local name=$1 tarball=$2 store=$work/import-$1
	"$BERTH" --root "$store" --snapshotter overlay import "$tarball" "bench/$name:1" >/dev/null ||
		die "berth import $tarball failed"
	"$BERTH" --root "$store" save --format oci -o "$arch/$name.tar" "bench/$name:1" ||
		die "berth save bench/$name:1 failed"
	rm -rf "$store"
	mkdir "$arch/$name"
	tar -xf "$arch/$name.tar" -C "$arch/$name"
}

# tree_listing prints what an unpacked tree holds, for comparing two: per
# entry its type, mode, owner, size (files) or link target (symlinks),
# then an md5 of each file's content.
tree_listing() {
	(
		cd "$1" || exit 1
		find . -mindepth 1 \( -type f -printf '%y %m %U:%G %s %p\n' \) -o \( ! -type f -printf '%y %m %U:%G %p %l\n' \) | sort
		find . -type f -print0 | sort -z | xargs -0 -r md5sum
	)
}

declare -A tarbytes=()
names=(small-files large-files host-usr)

echo "making the layers..."
gen_layer small "$work/src-small"
gen_layer large "$work/src-large"
# Owners as numbers, no times that vary: both tools restore the same.
tar --numeric-owner --owner=0 --group=0 --sort=name -C "$work/src-small" -cf "$work/small-files.tar" .
tar --numeric-owner --owner=0 --group=0 --sort=name -C "$work/src-large" -cf "$work/large-files.tar" .
rm -rf "$work/src-small" "$work/src-large"
# The host's files are only read. tar exits 1 when a file changed while
# it was read (other jobs install packages): the tar is still whole.
read -ra host_paths <<<"$HOST_PATHS"
present=()
for p in "${host_paths[@]}"; do
	[ -e "/$p" ] && present+=("$p")
done
[ "${#present[@]}" -gt 0 ] || die "none of HOST_PATHS exists"
rc=0
tar --numeric-owner --sort=name -C / -cf "$work/host-usr.tar" "${present[@]}" 2>"$work/host-tar.err" || rc=$?
[ "$rc" -le 1 ] || die "tar of the host paths failed: $(head -3 "$work/host-tar.err")"
for n in "${names[@]}"; do
	tarbytes[$n]=$(stat -c %s "$work/$n.tar")
	make_archive "$n" "$work/$n.tar"
	rm "$work/$n.tar"
done

# Layers as the archives hold them.
{
	echo "| layer | files | dirs | symlinks | tar MB | gzip MB |"
	echo "|---|---|---|---|---|---|"
	for n in "${names[@]}"; do
		"$UMOCI" raw unpack --image "$arch/$n:1" "$work/check-umoci" >/dev/null 2>&1 ||
			die "umoci raw unpack $n failed"
		blob=$(jq -r '.layers[0].digest' "$arch/$n/blobs/sha256/$(jq -r '.manifests[0].digest' "$arch/$n/index.json" | cut -d: -f2)" | cut -d: -f2)
		printf '| %s | %d | %d | %d | %.1f | %.1f |\n' "$n" \
			"$(find "$work/check-umoci" -type f | wc -l)" "$(find "$work/check-umoci" -type d | wc -l)" \
			"$(find "$work/check-umoci" -type l | wc -l)" \
			"$(awk -v b="${tarbytes[$n]}" 'BEGIN { print b / 1048576 }')" \
			"$(awk -v b="$(stat -c %s "$arch/$n/blobs/sha256/$blob")" 'BEGIN { print b / 1048576 }')"

		# Same work: berth's unpacked tree must equal umoci's (types,
		# modes, owners, sizes, link targets, file contents).
		"$BERTH" --root "$work/check-berth" --snapshotter overlay load -q -i "$arch/$n.tar" ||
			die "berth load $n failed"
		fs=$(echo "$work"/check-berth/snapshots/overlay/snapshots/*/fs)
		[ -d "$fs" ] || die "cannot find berth's unpacked layer of $n under $work/check-berth"
		if ! diff <(tree_listing "$fs") <(tree_listing "$work/check-umoci") \
			>"$RESULTS/tree-diff-$n.txt"; then
			warn "$n: berth's and umoci's trees differ (see $RESULTS/tree-diff-$n.txt)"
		else
			rm "$RESULTS/tree-diff-$n.txt"
		fi
		rm -rf "$work/check-umoci" "$work/check-berth"
	done
} | tee "$RESULTS/layers.md"
echo

# 1a. The CLIs, one hyperfine run per archive. --prepare (not timed)
# empties the targets; the archive files stay in the page cache.
h=$work/h
for n in "${names[@]}"; do
	echo "== unpack $n: berth load, umoci raw unpack, umoci unpack"
	hyperfine --runs "$RUNS" --warmup "$WARMUP" --style basic \
		--prepare "rm -rf $h && mkdir $h" \
		--export-json "$RESULTS/unpack-$n.json" --export-markdown "$RESULTS/unpack-$n-hyperfine.md" \
		-n berth-load "$BERTH --root $h/berth --snapshotter overlay load -q -i $arch/$n.tar" \
		-n umoci-raw-unpack "$UMOCI raw unpack --image $arch/$n:1 $h/umoci-raw" \
		-n umoci-unpack "$UMOCI unpack --image $arch/$n:1 $h/umoci-bundle"
	rm -rf "$h"
done

# 1b, 2, 3: the Go benchmarks, run from the package directory with their
# temp dirs under $work.
gobench() {
	local out=$1
	shift
	(cd "$repo/image" && TMPDIR=$work/tmp BERTH_BENCH_ARCHIVES=$arch \
		"$work/image.test" -test.run '^$' -test.timeout 60m "$@") | tee "$out"
	[ "${PIPESTATUS[0]}" = 0 ] || die "$* failed"
	grep -q '^Benchmark' "$out" || die "$*: no benchmark ran (skipped?)"
}
echo "== Store.Unpack against umoci raw unpack, interleaved ($UNPACK_RUNS runs each)"
gobench "$RESULTS/go-unpack.txt" -test.bench '^BenchmarkUnpackVsUmoci$' -test.benchtime "${UNPACK_RUNS}x"
echo "== disk of 50 rootfs of one ~20 MB image"
gobench "$RESULTS/go-disk.txt" -test.bench '^BenchmarkRootfsDisk50$' -test.benchtime 1x
echo "== rootfs of a 50-layer image: prepare + mount + unmount ($MOUNT_RUNS runs)"
gobench "$RESULTS/go-mount.txt" -test.bench '^BenchmarkRootfsMount50Layers$' -test.benchtime "${MOUNT_RUNS}x"

# metric prints the value of unit $3 on benchmark line $2 of file $1.
metric() {
	awk -v name="$2" -v unit="$3" '
		$1 ~ "^" name "(-[0-9]+)?$" { for (i = 3; i < NF; i++) if ($(i + 1) == unit) { print $i; exit } }' "$1"
}

# The summary.
{
	echo "# Image layer benchmarks"
	echo
	echo '```'
	cat "$RESULTS/env.txt"
	echo '```'
	echo
	echo "## Layers"
	echo
	cat "$RESULTS/layers.md"
	echo
	echo "## 1a. Unpack, CLI against CLI (hyperfine, $RUNS runs, s: mean / median; MB/s of the tar)"
	echo
	echo "| layer | berth load | umoci raw unpack | umoci unpack | berth MB/s | umoci raw MB/s | umoci MB/s | berth / umoci raw | berth / umoci |"
	echo "|---|---|---|---|---|---|---|---|---|"
	for n in "${names[@]}"; do
		j=$RESULTS/unpack-$n.json
		jq -r --arg n "$n" --argjson mb "$(awk -v b="${tarbytes[$n]}" 'BEGIN { print b / 1048576 }')" '
			def r(x): (x * 100 | round) / 100;
			def cmd(c): .results[] | select(.command == c);
			cmd("berth-load") as $b | cmd("umoci-raw-unpack") as $r | cmd("umoci-unpack") as $u |
			"| \($n) | \(r($b.mean)) / \(r($b.median)) | \(r($r.mean)) / \(r($r.median)) | \(r($u.mean)) / \(r($u.median)) | \(r($mb / $b.mean)) | \(r($mb / $r.mean)) | \(r($mb / $u.mean)) | \(r($b.mean / $r.mean)) | \(r($b.mean / $u.mean)) |"' "$j"
	done
	echo
	echo "## 1b. Unpack alone: Store.Unpack against umoci raw unpack, interleaved ($UNPACK_RUNS runs each)"
	echo
	echo "| layer | tar MB | berth ms | umoci raw ms | berth MB/s | umoci raw MB/s | berth / umoci |"
	echo "|---|---|---|---|---|---|---|"
	for n in "${names[@]}"; do
		f=$RESULTS/go-unpack.txt b=BenchmarkUnpackVsUmoci/$n
		printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$n" "$(metric "$f" "$b" tar-MB)" \
			"$(metric "$f" "$b" berth-ms)" "$(metric "$f" "$b" umoci-ms)" "$(metric "$f" "$b" berth-MB/s)" \
			"$(metric "$f" "$b" umoci-MB/s)" "$(metric "$f" "$b" berth/umoci)"
	done
	echo
	echo "## 2. Disk of 50 container rootfs of one image (du, hard links once)"
	echo
	echo "| snapshotter | image tar MB | unpacked image MB | 50 rootfs add MB | per rootfs KB | whole store MB | PrepareRootfs ms |"
	echo "|---|---|---|---|---|---|---|"
	for sn in overlay native; do
		f=$RESULTS/go-disk.txt b=BenchmarkRootfsDisk50/$sn
		printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$sn" "$(metric "$f" "$b" tar-MB)" \
			"$(metric "$f" "$b" image-MB)" "$(metric "$f" "$b" rootfs-MB)" "$(metric "$f" "$b" per-rootfs-KB)" \
			"$(metric "$f" "$b" store-MB)" "$(metric "$f" "$b" prepare-ms)"
	done
	echo
	echo "## 3. Rootfs of a 50-layer image ($MOUNT_RUNS runs; us per op)"
	echo
	echo "| snapshotter | PrepareRootfs | MountAll | Unmount | total (ns/op) | RemoveRootfs, not in total | unpack of the 50 layers, ms (once) |"
	echo "|---|---|---|---|---|---|---|"
	for sn in overlay native; do
		f=$RESULTS/go-mount.txt b=BenchmarkRootfsMount50Layers/$sn
		printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$sn" "$(metric "$f" "$b" prepare-us)" \
			"$(metric "$f" "$b" mount-us)" "$(metric "$f" "$b" unmount-us)" \
			"$(awk -v ns="$(metric "$f" "$b" ns/op)" 'BEGIN { printf "%.0f", ns / 1000 }')" \
			"$(metric "$f" "$b" remove-us)" "$(metric "$f" "$b" unpack-ms)"
	done
} >"$RESULTS/images.md"
echo
cat "$RESULTS/images.md"
echo
echo "results in $RESULTS"
