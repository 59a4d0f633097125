package spec

// warmConfig has a field of each kind a container's config.json has.
const warmConfig = `{"ociVersion":"1.2.0","process":{"terminal":false,"user":{"uid":0,"gid":0,"additionalGids":[1]},
"args":["sh"],"env":["PATH=/bin"],"cwd":"/","capabilities":{"bounding":["CAP_KILL"],"effective":["CAP_KILL"],
"permitted":["CAP_KILL"],"inheritable":["CAP_KILL"],"ambient":["CAP_KILL"]},"rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}],
"noNewPrivileges":true,"oomScoreAdj":0},"root":{"path":"/","readonly":false},"hostname":"h",
"mounts":[{"destination":"/proc","type":"proc","source":"proc","options":["nosuid"]}],
"linux":{"resources":{"devices":[{"allow":false,"access":"rwm"}],"memory":{"limit":1},"cpu":{"shares":1},"pids":{"limit":1},
"blockIO":{"weight":1}},"cgroupsPath":"/x","namespaces":[{"type":"pid"},{"type":"mount"},{"type":"uts"},{"type":"ipc"},{"type":"network"}],"devices":[{"path":"/dev/x","type":"c","major":1,"minor":1}],
"seccomp":{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"architectures":["SCMP_ARCH_X86_64"],
"syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"valueTwo":0,"op":"SCMP_CMP_EQ"}]}]},
"maskedPaths":["/proc/kcore"],"readonlyPaths":["/proc/bus"],"sysctl":{"net.ipv4.ip_forward":"1"}},"annotations":{"a":"b"}}`

// Warm decodes a small config, so that a process about to Load one
// has the decoder's code and tables ready (its first decode of the
// config's types costs about a millisecond more than later ones).
func Warm() { _, _ = Parse([]byte(warmConfig)) }
