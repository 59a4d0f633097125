#!/usr/bin/env bash
# bench/pull.sh: pulling an image from a loopback registry (issue 8).
#
# A 5-layer image of about 200 MB of random, incompressible data is
# written as an OCI layout, pushed with skopeo to Debian's docker-registry
# (distribution 2.8) on 127.0.0.1, and pulled, several runs, each into an
# empty store, by:
#
#   berth          berth pull (verified blobs in berth's content store)
#   skopeo-oci     skopeo copy docker://... oci:DIR (blobs into a layout)
#   podman         podman pull (into containers-storage, layers unpacked)
#   berth+unpack   berth pull, then berth create (unpacks the layers),
#                  the work podman pull does
#
# Wall time and peak memory (GNU time's maximum resident set size: the
# largest process of the command's tree) of each run; medians and the
# ratios to berth in $RESULTS/pull.txt, every run in pull.tsv.
#
# Run as root: bench/pull.sh. Settings: RUNS (5), LAYERS (5), LAYER_MB
# (40), BERTH (bin/berth), RESULTS. Everything happens in a temp dir in a
# private mount namespace; the registry is stopped by its PID and every
# mount under the dir undone on any exit.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" = 0 ] || die "must run as root (berth and podman unpack layers with their owners)"
if [ "${_BERTH_BENCH_NS:-}" != 1 ]; then
	exec unshare --mount --propagation private env _BERTH_BENCH_NS=1 "$BASH" "$0" "$@"
fi
# Podman 4.3 refuses the hybrid cgroup layout; this namespace only.
if grep -q ' /sys/fs/cgroup/unified ' /proc/self/mountinfo; then
	umount /sys/fs/cgroup/unified
fi

RUNS=${RUNS:-5}
LAYERS=${LAYERS:-5}
LAYER_MB=${LAYER_MB:-40}
BERTH=${BERTH:-$repo/bin/berth}
RESULTS=${RESULTS:-$repo/bench/results/$(date +%Y%m%d-%H%M%S)-pull}
REGISTRY=${REGISTRY:-/usr/bin/docker-registry}

[ -x "$BERTH" ] || die "$BERTH not found: run make build"
[ -x "$REGISTRY" ] || die "$REGISTRY not found: apt-get install docker-registry"
command -v skopeo >/dev/null || die "skopeo not found: apt-get install skopeo"
command -v podman >/dev/null || die "podman not found: apt-get install podman"
[ -x /usr/bin/time ] || die "/usr/bin/time not found: apt-get install time"
[ "$RUNS" -ge 3 ] || die "RUNS=$RUNS: at least 3 runs are needed"

work=$(mktemp -d /tmp/berth-bench-pull.XXXXXX)
reg_pid=

mounts_under() {
	awk -v w="$work" '$5 == w || index($5, w "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

cleanup() {
	local rc=$? m
	trap - EXIT INT TERM
	set +e
	[ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
	while read -r m; do
		[ -n "$m" ] && { umount "$m" 2>/dev/null || umount -l "$m"; }
	done < <(mounts_under)
	if [ -z "$(mounts_under)" ]; then
		rm -rf "$work"
	else
		warn "mounts left under $work; not removed"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$RESULTS"

# The registry, on a free loopback port.
port=
for p in $(shuf -i 20000-60000 -n 20); do
	if ! ss -ltn "sport = :$p" | grep -q LISTEN; then port=$p; break; fi
done
[ -n "$port" ] || die "no free port"
cat > "$work/registry.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
YML
"$REGISTRY" serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
reg_pid=$!
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
for _ in $(seq 100); do
	listening && break
	sleep 0.1
done
listening || die "registry did not start: $(cat "$work/registry.log")"

# The image: an OCI layout of LAYERS gzip layers of LAYER_MB random MB.
layout=$work/layout
mkdir -p "$layout/blobs/sha256"
blob() { # file -> moves it into the layout, prints its digest
	local d
	d=$(sha256sum "$1" | cut -d' ' -f1)
	mv "$1" "$layout/blobs/sha256/$d"
	echo "$d"
}
diffs=() layers=()
for i in $(seq "$LAYERS"); do
	mkdir -p "$work/l$i"
	head -c "${LAYER_MB}M" /dev/urandom >"$work/l$i/data$i"
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/l$i" -cf "$work/l$i.tar" .
	diffs+=("\"sha256:$(sha256sum "$work/l$i.tar" | cut -d' ' -f1)\"")
	gzip -1 -n -c "$work/l$i.tar" >"$work/l$i.tgz"
	size=$(stat -c %s "$work/l$i.tgz")
	layers+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$(blob "$work/l$i.tgz")\",\"size\":$size}")
	rm -rf "$work/l$i" "$work/l$i.tar"
done
arch=$(uname -m | sed 's/x86_64/amd64/; s/aarch64/arm64/')
printf '{"architecture":"%s","os":"linux","config":{"Cmd":["true"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
	"$arch" "$(IFS=,; echo "${diffs[*]}")" >"$work/config.json"
csize=$(stat -c %s "$work/config.json")
cdig=$(blob "$work/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
	"$cdig" "$csize" "$(IFS=,; echo "${layers[*]}")" >"$work/manifest.json"
msize=$(stat -c %s "$work/manifest.json")
mdig=$(blob "$work/manifest.json")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"big"}}]}' \
	"$mdig" "$msize" >"$layout/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
image=127.0.0.1:$port/bench/big:1
skopeo copy -q --dest-tls-verify=false "oci:$layout:big" "docker://$image" || die "skopeo could not push the image"
total=$(du -sb "$layout/blobs" | cut -f1)
echo "image: $LAYERS layers, $((total / 1000000)) MB compressed, sha256:$mdig"

# measure NAME CMD...: one timed run into pull.tsv.
measure() {
	local name=$1
	shift
	/usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/out" 2>&1 || die "$name failed: $(tail -5 "$work/out")"
	read -r wall rss <"$work/time"
	printf '%s\t%s\t%s\t%s\n' "$name" "$run" "$wall" "$rss" >>"$RESULTS/pull.tsv"
	printf '  %-13s %6.2f s %7d KB\n' "$name" "$wall" "$rss"
}

# fresh DIR: empty it, undoing mounts under it first (podman's overlay).
fresh() {
	local m
	while read -r m; do
		[ -n "$m" ] && { umount "$m" 2>/dev/null || umount -l "$m"; }
	done < <(awk -v w="$1" '$5 == w || index($5, w "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
	rm -rf "$1"
	mkdir -p "$1"
}

printf 'tool\trun\twall_s\tmaxrss_kb\n' >"$RESULTS/pull.tsv"
podman_args=(--root "$work/podman" --runroot "$work/podman-run" --storage-driver overlay --cgroup-manager cgroupfs --events-backend none)
for run in $(seq "$RUNS"); do
	echo "run $run"
	fresh "$work/berth"
	measure berth "$BERTH" --root "$work/berth" pull -q "$image"
	fresh "$work/oci"
	measure skopeo-oci skopeo copy -q --src-tls-verify=false "docker://$image" "oci:$work/oci:big"
	fresh "$work/podman"
	fresh "$work/podman-run"
	measure podman podman "${podman_args[@]}" pull -q --tls-verify=false "$image"
	fresh "$work/podman"
	fresh "$work/podman-run"
	fresh "$work/berth"
	measure berth+unpack sh -c "'$BERTH' --root '$work/berth' pull -q '$image' && '$BERTH' --root '$work/berth' create --network none '$image' >/dev/null"
	"$BERTH" --root "$work/berth" rm -f "$("$BERTH" --root "$work/berth" ps -aq)" >/dev/null 2>&1 || true
	fresh "$work/berth"
done

# Medians and ratios.
{
	echo "pull of $LAYERS x $LAYER_MB MB layers ($((total / 1000000)) MB) from docker-registry on loopback, $RUNS runs"
	echo "$(nproc) CPUs, $(uname -r), $(skopeo --version), $(podman --version)"
	printf '%-13s %10s %14s %10s %10s\n' tool wall_s maxrss_MB 'time/berth' 'mem/berth'
	awk -F'\t' 'NR > 1 { w[$1] = w[$1] " " $3; m[$1] = m[$1] " " $4 }
	function median(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	END {
		bw = median(w["berth"]); bm = median(m["berth"])
		split("berth skopeo-oci podman berth+unpack", order, " ")
		for (k = 1; k <= 4; k++) { t = order[k]; if (!(t in w)) continue
			mw = median(w[t]); mm = median(m[t])
			printf "%-13s %10.2f %14.1f %10.2f %10.2f\n", t, mw, mm / 1024, mw / bw, mm / bm }
	}' "$RESULTS/pull.tsv"
} | tee "$RESULTS/pull.txt"
