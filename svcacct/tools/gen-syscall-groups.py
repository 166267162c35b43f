import ctypes, subprocess, sys
lib = ctypes.CDLL("libseccomp.so.2")
lib.seccomp_syscall_resolve_name.argtypes=[ctypes.c_char_p]
lib.seccomp_syscall_resolve_name.restype=ctypes.c_int
out = subprocess.run(["systemd-analyze","syscall-filter","--no-pager"],capture_output=True,text=True).stdout
groups = {}
order = []
cur = None
for line in out.splitlines():
    if line.startswith("@"):
        cur = line.strip(); groups[cur]=[]; order.append(cur); continue
    s=line.strip()
    if not s or s.startswith("#") or cur is None: continue
    groups[cur].append(s)
names=set()
for g in groups.values():
    for n in g:
        if not n.startswith("@"): names.add(n)
native = sorted(n for n in names if lib.seccomp_syscall_resolve_name(n.encode())>=0)
print("// Generated from `systemd-analyze syscall-filter` of systemd 252.38 (Debian 12) and")
print("// libseccomp 2.5.4's name resolution on x86_64; see svcacct/tools/gen-syscall-groups.py.")
print("// Data, not code: the filter sets systemd 252 defines, in systemd's own order.")
print()
print("/// The syscall filter sets of systemd 252, each as its members in order (`@group` entries nest).")
print("pub const SYSCALL_GROUPS: &[(&str, &[&str])] = &[")
for g in order:

    print(f'    ("{g}", &[')
    for n in groups[g]:
        print(f'        "{n}",')
    print("    ]),")
print("];")
print()
print("/// Names libseccomp resolves on x86_64 (the others are skipped by systemd, as there).")
print("pub const NATIVE_SYSCALLS: &[&str] = &[")
for n in native:
    print(f'    "{n}",')
print("];")
