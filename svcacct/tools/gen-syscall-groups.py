# Regenerates svcacct/src/exposure/syscall_groups_RELEASE.rs from the
# systemd-analyze and libseccomp it runs with: on a Debian root, run it with
# that root's python3 in hardkit's sandbox (the exposure oracle's way), e.g.
#   python3 svcacct/tools/gen-syscall-groups.py > svcacct/src/exposure/syscall_groups_252.rs
import ctypes, subprocess

lib = ctypes.CDLL("libseccomp.so.2")
lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
lib.seccomp_syscall_resolve_name.restype = ctypes.c_int


class Version(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint)]


lib.seccomp_version.restype = ctypes.POINTER(Version)
v = lib.seccomp_version().contents
seccomp = f"{v.major}.{v.minor}.{v.micro}"
first = subprocess.run(["systemd-analyze", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
# "systemd 257 (257.13-1~deb13u1)"
release = first.split()[1]
full = first.split("(", 1)[1].rstrip(")") if "(" in first else release

out = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager"], capture_output=True, text=True).stdout
groups = {}
order = []
cur = None
for line in out.splitlines():
    if line.startswith("@"):
        cur = line.strip(); groups[cur] = []; order.append(cur); continue
    s = line.strip()
    if not s or s.startswith("#") or cur is None: continue
    groups[cur].append(s)
names = set()
for g in groups.values():
    for n in g:
        if not n.startswith("@"): names.add(n)
native = sorted(n for n in names if lib.seccomp_syscall_resolve_name(n.encode()) >= 0)
print(f"// Generated from `systemd-analyze syscall-filter` of systemd {full} and")
print(f"// libseccomp {seccomp}'s name resolution on x86_64; see svcacct/tools/gen-syscall-groups.py.")
print(f"// Data, not code: the filter sets systemd {release} defines, in systemd's own order.")
print()
print(f"/// The syscall filter sets of systemd {release}, each as its members in order (`@group` entries nest).")
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
