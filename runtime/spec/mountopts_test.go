package spec

import (
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseMountOptions(t *testing.T) {
	const atime = unix.MOUNT_ATTR__ATIME
	tests := []struct {
		name string
		opts []string
		want MountOptions
	}{
		{"none", nil, MountOptions{}},
		{"empty options are skipped", []string{"", ""}, MountOptions{}},
		{"defaults", []string{"defaults"}, MountOptions{}},
		{
			"flags",
			[]string{"nosuid", "nodev", "noexec", "ro", "noatime", "nodiratime", "sync", "dirsync", "mand", "remount"},
			MountOptions{Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY | unix.MS_NOATIME |
				unix.MS_NODIRATIME | unix.MS_SYNCHRONOUS | unix.MS_DIRSYNC | unix.MS_MANDLOCK | unix.MS_REMOUNT},
		},
		{"relatime and strictatime", []string{"relatime", "strictatime"}, MountOptions{Flags: unix.MS_RELATIME | unix.MS_STRICTATIME}},
		{"clears", []string{"rw", "suid", "dev", "exec", "async", "atime", "diratime", "nomand", "norelatime", "nostrictatime"},
			MountOptions{Clear: unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_SYNCHRONOUS |
				unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_MANDLOCK | unix.MS_RELATIME | unix.MS_STRICTATIME}},
		{"rw after ro clears", []string{"ro", "rw"}, MountOptions{Clear: unix.MS_RDONLY}},
		{"ro after rw sets", []string{"rw", "ro"}, MountOptions{Flags: unix.MS_RDONLY}},
		{"exec after noexec", []string{"nosuid", "noexec", "exec"}, MountOptions{Flags: unix.MS_NOSUID, Clear: unix.MS_NOEXEC}},
		{"bind", []string{"bind"}, MountOptions{Flags: unix.MS_BIND}},
		{"rbind", []string{"rbind", "ro"}, MountOptions{Flags: unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY}},
		{
			"propagation keeps its order",
			[]string{"rslave", "private", "nosuid", "shared", "runbindable", "rprivate", "rshared", "slave", "unbindable"},
			MountOptions{Flags: unix.MS_NOSUID, Propagation: []uintptr{
				unix.MS_SLAVE | unix.MS_REC, unix.MS_PRIVATE, unix.MS_SHARED, unix.MS_UNBINDABLE | unix.MS_REC,
				unix.MS_PRIVATE | unix.MS_REC, unix.MS_SHARED | unix.MS_REC, unix.MS_SLAVE, unix.MS_UNBINDABLE,
			}},
		},
		{"repeated propagation is kept", []string{"private", "private"}, MountOptions{Propagation: []uintptr{unix.MS_PRIVATE, unix.MS_PRIVATE}}},
		{
			"recursive attributes",
			[]string{"rro", "rnosuid", "rnodev", "rnoexec", "rnodiratime"},
			MountOptions{RecAttrSet: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV |
				unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NODIRATIME},
		},
		{
			"recursive clears",
			[]string{"rrw", "rsuid", "rdev", "rexec", "rdiratime"},
			MountOptions{RecAttrClr: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV |
				unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NODIRATIME},
		},
		{"rrw after rro", []string{"rro", "rrw"}, MountOptions{RecAttrClr: unix.MOUNT_ATTR_RDONLY}},
		{"rro after rrw", []string{"rrw", "rro"}, MountOptions{RecAttrSet: unix.MOUNT_ATTR_RDONLY}},
		{"rnoatime", []string{"rnoatime"}, MountOptions{RecAttrSet: unix.MOUNT_ATTR_NOATIME, RecAttrClr: atime}},
		{"rstrictatime", []string{"rstrictatime"}, MountOptions{RecAttrSet: unix.MOUNT_ATTR_STRICTATIME, RecAttrClr: atime}},
		// MOUNT_ATTR_RELATIME is 0: the mode is set by clearing the field.
		{"rrelatime", []string{"rrelatime"}, MountOptions{RecAttrSet: unix.MOUNT_ATTR_RELATIME, RecAttrClr: atime}},
		{"last atime mode wins", []string{"rnoatime", "rstrictatime"}, MountOptions{RecAttrSet: unix.MOUNT_ATTR_STRICTATIME, RecAttrClr: atime}},
		{"rrelatime after rnoatime", []string{"rnoatime", "rrelatime"}, MountOptions{RecAttrClr: atime}},
		{"rnodiratime beside an atime mode", []string{"rnodiratime", "rnoatime", "rro"},
			MountOptions{RecAttrSet: unix.MOUNT_ATTR_NODIRATIME | unix.MOUNT_ATTR_NOATIME | unix.MOUNT_ATTR_RDONLY, RecAttrClr: atime}},
		{
			"data passthrough in order",
			[]string{"nosuid", "mode=755", "size=65536k", "strictatime", "uid=0", "newinstance", "ptmxmode=0666"},
			MountOptions{Flags: unix.MS_NOSUID | unix.MS_STRICTATIME, Data: "mode=755,size=65536k,uid=0,newinstance,ptmxmode=0666"},
		},
		{
			"overlay data",
			[]string{"lowerdir=/a:/b", "upperdir=/u", "workdir=/w", "index=off"},
			MountOptions{Data: "lowerdir=/a:/b,upperdir=/u,workdir=/w,index=off"},
		},
		{"unknown options go to the filesystem", []string{"RO", "x-systemd.automount", "nofail"}, MountOptions{Data: "RO,x-systemd.automount,nofail"}},
		{"tmpcopyup", []string{"tmpcopyup", "mode=755"}, MountOptions{TmpCopyUp: true, Data: "mode=755"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMountOptions(tc.opts)
			if err != nil {
				t.Fatalf("ParseMountOptions(%q): %v", tc.opts, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseMountOptions(%q)\n got %+v\nwant %+v", tc.opts, got, tc.want)
			}
		})
	}
}

func TestParseMountOptionsErrors(t *testing.T) {
	tests := []struct {
		name string
		opts []string
		want string
	}{
		{"idmap", []string{"rbind", "idmap"}, `id-mapped mounts ("idmap") are not supported`},
		{"ridmap", []string{"ridmap"}, `id-mapped mounts ("ridmap") are not supported`},
		{"comma smuggles a flag into data", []string{"mode=755,suid"}, `option "mode=755,suid" contains a comma`},
		{"lone comma", []string{","}, "contains a comma"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseMountOptions(tc.opts)
			if err == nil {
				t.Fatalf("ParseMountOptions(%q) succeeded, want an error", tc.opts)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseMountOptions(%q): %v\nwant an error containing %q", tc.opts, err, tc.want)
			}
		})
	}
}

func TestMountOptionsBindRecursive(t *testing.T) {
	tests := []struct {
		opts            []string
		bind, recursive bool
	}{
		{nil, false, false},
		{[]string{"bind"}, true, false},
		{[]string{"rbind"}, true, true},
		{[]string{"rprivate"}, false, false},
		{[]string{"rro"}, false, false},
	}
	for _, tc := range tests {
		o, err := ParseMountOptions(tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		if o.Bind() != tc.bind || o.Recursive() != tc.recursive {
			t.Errorf("%q: Bind %v Recursive %v, want %v %v", tc.opts, o.Bind(), o.Recursive(), tc.bind, tc.recursive)
		}
	}
}
