"""Docker engines of the compose test's own, each with an isolated
configuration, and the images the stack needs, built with nothing pulled
from a registry. Two engines (ENGINES):
- "20.10": Debian 12's docker.io and docker-compose 1.29 (the system's,
  `make deps`); it builds the images;
- "26": Debian 13's docker.io 26.1 and Compose v2 2.26 (the `docker compose`
  plugin), unpacked by `make deps-compose-test` under CACHE/engine-26/root
  without replacing the system's; bookworm's containerd and runc run its
  containers. Compose v2 builds its images itself (BuildKit), from the same
  debootstrap base; only the test's Prometheus stand-in comes from the 20.10
  engine, by `docker save | docker load`.

Isolation (docs/containers.md, "Tested against a real engine"):
- its own unix socket, pidfile and exec-root in a fresh run directory under
  /run; its data-root is the cache below (images and build layers only: every
  container, network and volume is removed before and after a run), always
  on the overlay2 driver (DataRoots: an ext4 loop file where the cache's own
  filesystem cannot host overlay2);
- `iptables: false`, `ip-forward: false`, `ip-masq: false`, no default bridge
  (`bridge: none`): the host's firewall, NAT and forwarding are never touched.
  Published ports go through docker-proxy on 127.0.0.1;
- every address it may hand out is in a /21 of its own near the top of
  198.18.0.0/15: 198.19.248.0/21 (20.10) and 198.19.232.0/21 (26), apart
  from each other (the lab's default owns 198.18.0.0/16, named labs take
  /20s of 198.19.0.0/16 from the bottom, the compose networks are
  198.19.240-244.0/24).

The cache (NETWATCH_COMPOSE_CACHE, default /var/cache/netwatch-compose-test):
the debootstrap base as a tarball named by a key of what made it (imported,
plus the host's local CA certificates so that the build's `npm ci` trusts
what the host's npm trusts, as an image tagged by a key of both), and the
daemon's data-root, whose layer cache keys every image by its Dockerfile
step and build context. A fresh machine builds once; later runs rebuild only
what changed. One run at a time per machine holds CACHE/lock.
"""
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

CACHE = os.environ.get("NETWATCH_COMPOSE_CACHE", "/var/cache/netwatch-compose-test")
DEBOOTSTRAP = "/usr/sbin/debootstrap"
ENGINE26 = os.path.join(CACHE, "engine-26", "root")  # make deps-compose-test


class Flavour:
    """One engine and its compose: binaries, the compose file docs/containers.md
    gives for it, and what it may hand out."""

    def __init__(self, name, dockerd, docker, compose, compose_file, data_dir, pool,
                 caps, plugin=None, proxy=None):
        self.name, self.dockerd, self.docker, self.compose = name, dockerd, docker, compose
        # data_dir: the data-root's name in DataRoots.dir.
        self.compose_file, self.data_dir, self.pool = compose_file, data_dir, pool
        self.caps, self.plugin, self.proxy = caps, plugin, proxy

    def missing(self):
        exes = [self.dockerd, self.docker, self.compose[0]] + ([self.plugin] if self.plugin else [])
        return [x for x in exes if not os.access(x, os.X_OK)]


ENGINES = {
    # Debian 12: the system's docker.io and docker-compose 1.29.
    "20.10": Flavour("20.10", "/usr/sbin/dockerd", "/usr/bin/docker", ["/usr/bin/docker-compose"],
                     "docker-compose.docker20.yml", "docker",
                     {"base": "198.19.248.0/21", "size": 26},
                     caps={"SYS_ADMIN", "NET_ADMIN", "SETPCAP"}),
    # Current: Debian 13's docker.io 26 and `docker compose` (v2) as a CLI
    # plugin (DOCKER_CONFIG/cli-plugins), on the least-privilege file.
    "26": Flavour("26", f"{ENGINE26}/usr/sbin/dockerd", f"{ENGINE26}/usr/bin/docker",
                  [f"{ENGINE26}/usr/bin/docker", "compose"], "docker-compose.yml",
                  "docker-26", {"base": "198.19.232.0/21", "size": 26},
                  caps={"BPF", "PERFMON", "NET_ADMIN", "SETPCAP"},
                  plugin=f"{ENGINE26}/usr/libexec/docker/cli-plugins/docker-compose",
                  proxy=f"{ENGINE26}/usr/sbin/docker-proxy"),
}

# What the base is made of; its key names the cached tarball and the image.
SUITE = "bookworm"
VARIANT = "minbase"
BASE_RECIPE = f"debootstrap --variant={VARIANT} {SUITE} (default mirror) v2"


# The host's own trust anchors beyond Debian's (a site whose TLS goes through
# an inspecting proxy puts its CA here): the build stage's `npm ci` must trust
# what the host's npm trusts. Public certificates, no secret.
LOCAL_CA_DIR = "/usr/local/share/ca-certificates"


def base_key():
    return hashlib.sha256(BASE_RECIPE.encode()).hexdigest()[:12]


def local_cas():
    out = []
    for root, _, files in os.walk(LOCAL_CA_DIR):
        out += [os.path.join(root, f) for f in files if f.endswith(".crt")]
    return sorted(out)


# The base: the debootstrap tree, plus the host's local CAs, which Debian's
# ca-certificates (installed by the build stage before `make deps`) adds to
# its bundle, and npm pointed at that bundle.
BASE_DOCKERFILE = """FROM {raw}
COPY certs/ /usr/local/share/ca-certificates/
COPY npmrc /etc/npmrc
"""
NPMRC = "cafile=/etc/ssl/certs/ca-certificates.crt\n"


# Where the cache's filesystem cannot host overlay2 (a root on overlayfs, as
# in CI's fresh-machine chroot), dockerd would fall back to vfs, which copies
# every layer whole: `up --build` took 1876 s there and left the daemon too
# busy to answer its embedded DNS. The data-roots then go on an ext4 file
# system in a sparse file in the cache, loop-mounted for the run: its layer
# cache persists like the plain directories' (a warm run stays warm), and it
# costs disk only for what is written. Not a tmpfs: the two data-roots and
# the build stage's layers would sit in RAM, and every run would start cold
# or spend minutes on `docker save`/`docker load` of the layer cache.
LOOP_FILE = "data-root.ext4"   # in the cache
LOOP_MNT = "data-root.mnt"
LOOP_SIZE = 48 << 30   # sparse: a cold run of both engines wrote 5.4 GiB of it
# Backing file systems overlay2 refuses whatever a probe says (dockerd's
# own list: overlay on overlay, aufs, ecryptfs).
NO_OVERLAY2 = {"overlayfs", "aufs", "ecryptfs"}


def overlay2_unsupported(path):
    """None if overlay2 can live under `path`, else why not: the file
    system's type, then a real overlay mount made there (lower, upper, work
    on that file system) and removed."""
    fstype = subprocess.run(["stat", "-f", "-c", "%T", path], capture_output=True, text=True,
                            check=True).stdout.strip()
    if fstype in NO_OVERLAY2:
        return f"{path} is on {fstype}"
    probe = tempfile.mkdtemp(prefix="overlay-probe-", dir=path)
    try:
        d = {k: os.path.join(probe, k) for k in ("lower", "upper", "work", "merged")}
        for v in d.values():
            os.mkdir(v)
        res = subprocess.run(["mount", "-t", "overlay", "nwcompose-probe", "-o",
                              f"lowerdir={d['lower']},upperdir={d['upper']},workdir={d['work']}",
                              d["merged"]], capture_output=True, text=True)
        if res.returncode:
            return f"an overlay mount on {path} ({fstype}) fails: {res.stderr.strip()}"
        subprocess.run(["umount", d["merged"]], check=True)
        return None
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def release_loop(loop_file, mnt):
    """A killed run's loop mount of loop_file, unmounted and detached. Under
    the machine lock no live run holds it; a daemon a killed run left behind
    still may, and then this stops with an error rather than mount the file
    system twice."""
    for m in sorted(mounts_under(mnt), reverse=True):
        res = subprocess.run(["umount", m], capture_output=True, text=True)
        if res.returncode:
            raise AssertionError(f"{m} is mounted and busy ({res.stderr.strip()}): a "
                                 f"dockerd from a killed run? (fuser -vm {mnt})")
    if os.path.exists(loop_file):
        out = subprocess.run(["losetup", "-n", "-O", "NAME", "-j", loop_file],
                             capture_output=True, text=True).stdout
        for dev in out.split():
            subprocess.run(["losetup", "-d", dev], capture_output=True)


class DataRoots:
    """The directory the engines' data-roots go in (Flavour.data_dir under
    .dir): the cache itself, or an ext4 loop file system mounted at
    cache/LOOP_MNT where the cache's file system cannot host overlay2.
    Entered and left under the machine lock; leaving (also on failure)
    unmounts it, so the engines must be stopped first."""

    def __init__(self, log, cache_dir=CACHE, size=LOOP_SIZE):
        self.log, self.dir, self.size = log, cache_dir, size
        self.loop_file = os.path.join(cache_dir, LOOP_FILE)
        self.mnt = os.path.join(cache_dir, LOOP_MNT)
        self.loop, self.why = False, None

    def __enter__(self):
        release_loop(self.loop_file, self.mnt)
        self.why = overlay2_unsupported(self.dir)
        if self.why is None:
            return self
        if not os.path.exists(self.loop_file):
            part = self.loop_file + ".part"
            with open(part, "wb") as f:
                f.truncate(self.size)
            # -m 0: nothing reserved for root; the data-roots are all there is.
            run(["mkfs.ext4", "-q", "-F", "-m", "0", "-L", "nwcompose", part], self.log,
                timeout=300)
            os.rename(part, self.loop_file)
        os.makedirs(self.mnt, exist_ok=True)
        run(["mount", "-o", "loop,noatime", self.loop_file, self.mnt], self.log)
        self.loop, self.dir = True, self.mnt
        try:
            still = overlay2_unsupported(self.dir)
            if still:
                raise AssertionError(f"overlay2 is not possible on the loop file system either: "
                                     f"{still}")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        if self.loop:
            # What a daemon mounted inside and left (dockerd 20.10 binds its
            # data-root onto itself), then the file system; mount -o loop set
            # autoclear, so the loop device goes with it.
            for m in sorted(mounts_under(self.mnt), reverse=True):
                if m != self.mnt:
                    run(["umount", m], self.log, check=False)
            res = run(["umount", self.mnt], self.log, check=False)
            if res.returncode:
                raise AssertionError(f"umount {self.mnt}: {res.stderr.strip()}")
            self.loop = False
        return False

    def describe(self):
        if not self.loop:
            return f"data-roots in {self.dir} (overlay2)"
        return f"data-roots on ext4 in {self.loop_file} (overlay2), as {self.why}"


@contextlib.contextmanager
def machine_lock(timeout):
    """One engine test per machine: the compose networks' subnets are fixed."""
    os.makedirs(CACHE, exist_ok=True)
    with open(os.path.join(CACHE, "lock"), "w") as f:
        end = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > end:
                    raise AssertionError(f"another compose engine test holds {CACHE}/lock")
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def base_tarball(log):
    """The debootstrap base as a tarball, made once per recipe."""
    tar = os.path.join(CACHE, f"base-{SUITE}-{base_key()}.tar")
    if os.path.exists(tar):
        return tar
    root = tempfile.mkdtemp(prefix="base-", dir=CACHE)
    # mkdtemp makes the directory 0700, and the tarball's "./" entry becomes
    # the image's "/": a container user other than root could then reach no
    # file ("stat /usr/local/bin/netwatch-dc: permission denied").
    os.chmod(root, 0o755)
    try:
        run([DEBOOTSTRAP, f"--variant={VARIANT}", SUITE, root], log, timeout=900)
        run(["tar", "-C", root, "--numeric-owner", "-cf", tar + ".part", "."], log, timeout=300)
        os.rename(tar + ".part", tar)
    finally:
        # An interrupted debootstrap leaves its /proc (and /sys) mounted in
        # the tree: unmounted first, and rm stays on this file system.
        for m in sorted(mounts_under(root), reverse=True):
            subprocess.run(["umount", "-l", m], capture_output=True)
        subprocess.run(["rm", "-rf", "--one-file-system", root], capture_output=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tar + ".part")
    return tar


def run(cmd, log=None, timeout=60, check=True, env=None, input=None):
    """cmd's output goes to `log` (a file) as well as back to the caller."""
    t0 = time.monotonic()
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                         input=input)
    if log:
        log.write(f"$ {' '.join(cmd)}  [{time.monotonic() - t0:.1f}s rc={res.returncode}]\n")
        log.write(res.stdout[-20000:])
        log.write(res.stderr[-20000:])
        log.flush()
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({res.returncode}):\n"
                             f"{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return res


BUILD_CACHE_KEEP = "8GB"  # a cold BuildKit build of the three images: see docs/containers.md


class Engine:
    """dockerd started and stopped by this process, by its pid."""

    def __init__(self, log, flavour, data_dir):
        self.log, self.f = log, flavour
        self.data_root = os.path.join(data_dir, flavour.data_dir)
        self.run_dir = tempfile.mkdtemp(prefix="nwcompose-", dir="/run")
        self.sock = os.path.join(self.run_dir, "docker.sock")
        self.pidfile = os.path.join(self.run_dir, "docker.pid")
        self.proc = None
        client = os.path.join(self.run_dir, "client")
        if flavour.plugin:
            os.makedirs(os.path.join(client, "cli-plugins"))
            os.symlink(flavour.plugin, os.path.join(client, "cli-plugins", "docker-compose"))
        self.env = {
            # The engine's own docker client first (compose 1.29 may run
            # `docker`); containerd, runc and tini are bookworm's.
            "PATH": ":".join([os.path.dirname(flavour.docker), os.path.dirname(flavour.dockerd),
                              "/usr/sbin:/usr/bin:/sbin:/bin"]),
            "HOME": self.run_dir,
            "DOCKER_HOST": f"unix://{self.sock}",
            "DOCKER_CONFIG": client,
            "COMPOSE_HTTP_TIMEOUT": "300",
        }

    def config(self):
        cfg = {
            "data-root": self.data_root,
            # Named, not chosen: where overlay2 is impossible dockerd stops
            # with the reason instead of crawling on vfs.
            "storage-driver": "overlay2",
            "exec-root": os.path.join(self.run_dir, "exec"),
            "pidfile": self.pidfile,
            "hosts": [f"unix://{self.sock}"],
            "iptables": False,
            "ip-forward": False,
            "ip-masq": False,
            "bridge": "none",
            "default-address-pools": [self.f.pool],
            "log-driver": "json-file",
            "log-opts": {"max-size": "1m", "max-file": "1"},
            "live-restore": False,
            "shutdown-timeout": 10,
            # BuildKit's layer cache (Compose v2 builds with it) lives apart
            # from the images: bounded, or every commit's build stage stays.
            "builder": {"gc": {"enabled": True, "defaultKeepStorage": BUILD_CACHE_KEEP}},
        }
        if self.f.proxy:
            cfg["userland-proxy-path"] = self.f.proxy
        return cfg

    def start(self, timeout=60):
        cfg = os.path.join(self.run_dir, "daemon.json")
        with open(cfg, "w") as f:
            json.dump(self.config(), f, indent=2)
        self.dlog = open(os.path.join(self.run_dir, "dockerd.log"), "w")
        self.proc = subprocess.Popen([self.f.dockerd, "--config-file", cfg], stdout=self.dlog,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     env={"PATH": self.env["PATH"]})
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError(f"dockerd exited {self.proc.returncode}:\n{self.daemon_log()}")
            if os.path.exists(self.sock) and self.docker("version", check=False).returncode == 0:
                return
            time.sleep(0.5)
        raise AssertionError(f"dockerd not answering after {timeout}s:\n{self.daemon_log()}")

    def daemon_log(self, tail=4000):
        try:
            with open(os.path.join(self.run_dir, "dockerd.log")) as f:
                return f.read()[-tail:]
        except OSError:
            return ""

    def docker(self, *args, timeout=120, check=True, input=None):
        return run([self.f.docker, *args], self.log, timeout=timeout, check=check, env=self.env,
                   input=input)

    def compose(self, files, project, *args, env=None, timeout=600, check=True):
        cmd = [*self.f.compose, "-p", project]
        for f in files:
            cmd += ["-f", f]
        return run(cmd + list(args), self.log, timeout=timeout, check=check,
                   env={**self.env, **(env or {})})

    def ids(self, kind, *filters):
        """Every container/network/volume id of this daemon (the user-made
        ones for networks: not bridge/host/none)."""
        if kind == "container":
            out = self.docker("ps", "-aq", *filters).stdout
        elif kind == "network":
            out = self.docker("network", "ls", "-q", "--filter", "type=custom", *filters).stdout
        else:
            out = self.docker("volume", "ls", "-q", *filters).stdout
        return out.split()

    def wipe(self):
        """No container, network or volume left in this daemon (its data-root
        is the cache, so a killed earlier run's are removed here too)."""
        c = self.ids("container")
        if c:
            self.docker("rm", "-f", "-v", *c, check=False, timeout=120)
        n = self.ids("network")
        if n:
            self.docker("network", "rm", *n, check=False)
        v = self.ids("volume")
        if v:
            self.docker("volume", "rm", "-f", *v, check=False)

    def has_image(self, img):
        return self.docker("image", "inspect", img, check=False).returncode == 0

    def ensure_base(self):
        """The base image's name; its tag is a key of everything in it."""
        raw = f"netwatch-debootstrap:{SUITE}-{base_key()}"
        if not self.has_image(raw):
            self.docker("import", base_tarball(self.log), raw, timeout=600)
        cas = local_cas()
        if not cas:
            return raw
        h = hashlib.sha256(raw.encode())
        for c in cas:
            with open(c, "rb") as f:
                h.update(os.path.basename(c).encode() + b"\0" + f.read())
        img = f"netwatch-base:{SUITE}-{h.hexdigest()[:12]}"
        if not self.has_image(img):
            ctx = tempfile.mkdtemp(prefix="base-ctx-", dir=CACHE)
            try:
                os.makedirs(os.path.join(ctx, "certs"))
                for c in cas:
                    shutil.copy(c, os.path.join(ctx, "certs", os.path.basename(c)))
                with open(os.path.join(ctx, "npmrc"), "w") as f:
                    f.write(NPMRC)
                with open(os.path.join(ctx, "Dockerfile"), "w") as f:
                    f.write(BASE_DOCKERFILE.format(raw=raw))
                self.docker("build", "-t", img, ctx, timeout=300)
            finally:
                shutil.rmtree(ctx, ignore_errors=True)
        # Earlier keys' bases are untagged (layers still used stay).
        for repo in ("netwatch-debootstrap", "netwatch-base"):
            for tag in self.docker("images", "--format", "{{.Repository}}:{{.Tag}}",
                                   repo).stdout.split():
                if tag not in (raw, img):
                    self.docker("rmi", tag, check=False)
        return img

    def build(self, dockerfile, context, tag, target=None, args=None, timeout=3000):
        """docker build with the host's network: the build stage's `make
        deps` and the runtime stages' apt-get reach Debian's mirror as the
        host does (the daemon has no NAT of its own)."""
        cmd = ["build", "--network", "host", "-f", dockerfile, "-t", tag]
        if target:
            cmd += ["--target", target]
        for k, v in (args or {}).items():
            cmd += ["--build-arg", f"{k}={v}"]
        self.docker(*cmd, context, timeout=timeout)

    def load_from(self, other, images, timeout=600):
        """`docker save` on `other`, `docker load` here: the images of one
        build, no second one. Layers this engine holds already are kept."""
        want = {i: other.docker("image", "inspect", "--format", "{{.Id}}", i).stdout.strip()
                for i in images}
        have = {i: self.docker("image", "inspect", "--format", "{{.Id}}", i,
                               check=False).stdout.strip() for i in images}
        stale = [i for i in images if want[i] != have[i]]
        if not stale:
            return
        t0 = time.monotonic()
        save = subprocess.Popen([other.f.docker, "save", *stale], stdout=subprocess.PIPE,
                                env=other.env)
        try:
            res = subprocess.run([self.f.docker, "load", "-q"], stdin=save.stdout,
                                 capture_output=True, text=True, timeout=timeout, env=self.env)
        finally:
            save.stdout.close()
            save.wait(timeout=60)
        self.log.write(f"$ docker save {' '.join(stale)} | docker load  "
                       f"[{time.monotonic() - t0:.1f}s rc={res.returncode}/{save.returncode}]\n"
                       f"{res.stdout}{res.stderr}")
        if res.returncode or save.returncode:
            raise AssertionError(f"docker save | docker load failed: {res.stderr[-2000:]}")

    def stop(self):
        """SIGTERM to our dockerd's pid, SIGKILL after a grace; then its
        leftovers: shims under our run dir (by pid), mounts, the run dir."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid in shim_pids(self.run_dir):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for m in sorted(mounts_under(self.run_dir), reverse=True):
            subprocess.run(["umount", "-l", m], capture_output=True)
        if getattr(self, "dlog", None):
            self.dlog.close()
        shutil.rmtree(self.run_dir, ignore_errors=True)


def shim_pids(run_dir):
    """containerd and its shims started for our daemon (their command lines
    name our run dir)."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if run_dir in cmd and int(p) != os.getpid():
            out.append(int(p))
    return out


def mounts_under(path):
    out = []
    with open("/proc/self/mounts") as f:
        for line in f:
            mp = line.split()[1]
            if mp == path or mp.startswith(path.rstrip("/") + "/"):
                out.append(mp)
    return out
