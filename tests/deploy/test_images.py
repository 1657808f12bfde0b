"""deploy/docker/Dockerfile: the build stage builds with exactly the commands
the project's README and CI run (so an image cannot silently diverge from
what `make test` tested), and every runtime stage installs the package of
every shared library its binaries load (ldd on the binaries `make` built here,
dpkg -S on each library), so an image cannot miss one. Debian 12 both here
and in the image makes the package names comparable. No engine is needed."""
import os
import re
import shlex
import subprocess

import pytest

BUILD_STAGE = "build"
# Packages the build stage may install itself: what it takes to run
# `make deps` (make) and the Makefile's `git describe` (git, certificates).
BOOTSTRAP = {"make", "git", "ca-certificates"}
# Not a library: the runtime stages' health-check client (and its certificates).
HEALTH_TOOLS = {"curl", "ca-certificates"}


def logical_lines(path):
    """Dockerfile instructions with continuations joined and comments dropped."""
    out, cur = [], ""
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not cur and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.lstrip().startswith("#"):  # a comment inside a continuation
                continue
            if line.endswith("\\"):
                cur += line[:-1] + " "
                continue
            out.append((cur + line).strip())
            cur = ""
    if cur.strip():
        out.append(cur.strip())
    return out


def parse(path):
    """{"args": {..}, "stages": [{"name", "base", "run": [..], "user", "copies": [..]}]}"""
    args, stages = {}, []
    for line in logical_lines(path):
        word, _, rest = line.partition(" ")
        word = word.upper()
        rest = rest.strip()
        if word == "ARG" and not stages:
            k, _, v = rest.partition("=")
            args[k] = v
        elif word == "FROM":
            m = re.fullmatch(r"(\S+)\s+AS\s+(\S+)", rest, re.I)
            assert m, f"every stage is named: {line}"
            base = re.sub(r"\$\{(\w+)\}", lambda x: args[x.group(1)], m.group(1))
            stages.append({"name": m.group(2), "base": base, "run": [], "user": None,
                           "copies": []})
        elif word == "RUN":
            stages[-1]["run"].append(rest)
        elif word == "USER":
            stages[-1]["user"] = rest
        elif word == "COPY":
            stages[-1]["copies"].append(shlex.split(rest))
    return {"args": args, "stages": {s["name"]: s for s in stages}, "order": stages}


@pytest.fixture(scope="module")
def dockerfile(repo):
    return parse(os.path.join(repo, "deploy", "docker", "Dockerfile"))


def commands(run):
    """The simple commands of a RUN line (split on && and ;)."""
    return [c.strip() for c in re.split(r"&&|;", run) if c.strip()]


def apt_installs(stage):
    pkgs = []
    for run in stage["run"]:
        for c in commands(run):
            words = shlex.split(c)
            if words[:2] == ["apt-get", "install"]:
                pkgs += [w for w in words[2:] if not w.startswith("-")]
    return pkgs


def make_rule(repo, target):
    """(prerequisites, recipe lines) of a Makefile target."""
    with open(os.path.join(repo, "Makefile")) as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        m = re.match(rf"^{re.escape(target)}:(?!=)\s*(.*)$", line)
        if m:
            recipe = []
            for nxt in lines[i + 1:]:
                if not nxt.startswith("\t"):
                    break
                recipe.append(nxt.strip())
            return m.group(1).split(), recipe
    raise AssertionError(f"Makefile has no target {target}")


def readme_first_block(repo):
    with open(os.path.join(repo, "README.md")) as f:
        text = f.read()
    m = re.search(r"```\w*\n(.*?)```", text, re.S)
    assert m, "README.md has a code block"
    return [ln.split("#")[0].strip() for ln in m.group(1).splitlines() if ln.split("#")[0].strip()]


def make_targets(cmdline):
    words = shlex.split(cmdline)
    if words and words[0] == "sudo":
        words = words[1:]
    assert words and words[0] == "make", cmdline
    return [w for w in words[1:] if not w.startswith("-") and "=" not in w] or ["all"]


def test_stages_and_bases(dockerfile):
    names = [s["name"] for s in dockerfile["order"]]
    assert names[0] == BUILD_STAGE
    assert set(names) == {BUILD_STAGE, "agent", "dc", "rack"}
    assert dockerfile["stages"][BUILD_STAGE]["base"] == "debian:bookworm"
    for n in names[1:]:
        assert dockerfile["stages"][n]["base"] == "debian:bookworm-slim", n


def test_build_stage_runs_the_projects_commands(repo, dockerfile):
    build = dockerfile["stages"][BUILD_STAGE]
    cmds = [c for run in build["run"] for c in commands(run)]
    makes = [c for c in cmds if c.split()[0] == "make"]
    # Exactly these, in this order, with no variable or flag of their own.
    # (`make deps-build`: what make all and make unit-test need, Makefile's
    # DEB_BUILD_PACKAGES, not the tests' browser, engine and lab tools.)
    assert makes == ["make deps-build", "make all", "make unit-test"]
    # Nothing builds or installs around make: only the bootstrap of `make deps-build`.
    for c in cmds:
        w = shlex.split(c)
        assert w[0] in ("make", "apt-get"), c
        if w[:2] == ["apt-get", "install"]:
            assert set(x for x in w[2:] if not x.startswith("-")) <= BOOTSTRAP, c
    for c in cmds:
        assert not re.search(r"\b(gcc|cc|clang|bpftool|ar)\b", c), c
    # What the build stage copies before `COPY . .` (to cache `make deps`)
    # exists, or the build would fail on it.
    for words in build["copies"]:
        for src in [w for w in words if not w.startswith("--")][:-1]:
            assert os.path.exists(os.path.join(repo, src)), f"COPY {src}: not in the repository"

    # CI: .ci/run is `make deps` then `make test`, and `make test` is
    # deps + all + the unit tests' runner (then root-only tests).
    with open(os.path.join(repo, ".ci", "run")) as f:
        ci = [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith("#")]
    ci_makes = [make_targets(ln) for ln in ci if re.match(r"^(sudo\s+)?make\b", ln)]
    assert ["deps"] in ci_makes and ["test"] in ci_makes, ci
    test_prereq, test_recipe = make_rule(repo, "test")
    assert test_prereq[:2] == ["deps", "all"], test_prereq
    _, unit_recipe = make_rule(repo, "unit-test")
    assert unit_recipe and all(ln in test_recipe for ln in unit_recipe), (unit_recipe, test_recipe)

    # README: every command of its first block starts with `make deps` and
    # `make all` (its prose says so: "Both start with `make deps`").
    for line in readme_first_block(repo):
        for t in make_targets(line):
            prereq, _ = make_rule(repo, t)
            assert prereq[:2] == ["deps", "all"], (line, prereq)


def test_runtime_users(dockerfile):
    st = dockerfile["stages"]
    for n in ("agent", "dc"):
        assert st[n]["user"] and int(st[n]["user"].split(":")[0]) != 0, n
        assert any("useradd" in r for r in st[n]["run"]), n
    assert st["rack"]["user"] in ("0", "0:0", "root")


def shipped(dockerfile):
    """{stage: [binary names copied from the build stage's build/]}"""
    out = {}
    for name, s in dockerfile["stages"].items():
        if name == BUILD_STAGE:
            continue
        for words in s["copies"]:
            frm = [w for w in words if w.startswith("--from=")]
            if frm:
                assert frm == [f"--from={BUILD_STAGE}"], words
                srcs = [w for w in words if not w.startswith("--")][:-1]
                for src in srcs:
                    assert src.startswith("/src/build/netwatch-"), src
                    out.setdefault(name, []).append(os.path.basename(src))
    return out


def project_binaries(repo):
    """Every program the Makefile builds: agent/, and each user/<prog>/ but
    user/common/ (shared code, no binary of its own)."""
    bins = {"netwatch-agent"} if any(f.endswith(".c") for f in os.listdir(
        os.path.join(repo, "agent"))) else set()
    for d in os.listdir(os.path.join(repo, "user")):
        p = os.path.join(repo, "user", d)
        if d != "common" and os.path.isdir(p) and any(f.endswith(".c") for f in os.listdir(p)):
            bins.add(f"netwatch-{d}")
    return bins


def test_every_binary_is_shipped_once_and_no_bpf_object(repo, dockerfile):
    ship = shipped(dockerfile)
    flat = [b for bs in ship.values() for b in bs]
    assert sorted(flat) == sorted(project_binaries(repo)), ship
    assert ship["agent"] == ["netwatch-agent"] and ship["dc"] == ["netwatch-dc"]
    assert "netwatch-rack" in ship["rack"]
    # The BPF programs travel inside the binaries (skeletons embed the
    # objects), so no stage copies a .bpf.o and no program opens one.
    for s in dockerfile["stages"].values():
        for words in s["copies"]:
            assert not any(w.endswith(".bpf.o") for w in words), words
    for top in ("user", "agent"):
        for root, _, files in os.walk(os.path.join(repo, top)):
            for fn in files:
                if fn.endswith(".c"):
                    with open(os.path.join(root, fn)) as f:
                        assert ".bpf.o" not in f.read(), os.path.join(root, fn)


def built_dir(repo):
    return os.environ.get("NETWATCH_BUILD") or os.path.join(repo, "build")


def test_skeletons_embed_the_bpf_objects(repo):
    b = built_dir(repo)
    skels = [f for f in os.listdir(b) if f.endswith(".skel.h")] if os.path.isdir(b) else []
    if not skels:
        pytest.skip(f"no skeletons in {b}: run `make` first (make test does)")
    for s in skels:
        with open(os.path.join(b, s)) as f:
            assert f"{s[:-len('.skel.h')]}__elf_bytes" in f.read(), s


def library_packages(binary):
    """Debian packages owning every shared library the binary loads."""
    res = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True)
    pkgs = {}
    for line in res.stdout.splitlines():
        m = re.search(r"=>\s+(/\S+)", line) or re.match(r"\s*(/\S+)\s+\(", line)
        if not m:
            continue  # linux-vdso: the kernel's
        lib = m.group(1)
        owner = None
        for p in dict.fromkeys([lib, os.path.realpath(lib),
                                re.sub(r"^/lib/", "/usr/lib/", lib),
                                re.sub(r"^/usr/lib/", "/lib/", lib),
                                re.sub(r"^/lib64/", "/usr/lib64/", lib)]):
            q = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
            if q.returncode == 0:
                owner = q.stdout.split(":")[0].split(",")[0].strip()
                break
        assert owner, f"{binary}: no package owns {lib}"
        pkgs[lib] = owner
    return pkgs


def sanitized(binary):
    res = subprocess.run(["ldd", binary], capture_output=True, text=True)
    return "libasan" in res.stdout or "libubsan" in res.stdout


def plain_build(repo, bins):
    """A build dir holding every binary, built the way the images build them:
    `make test SANITIZE=1` points NETWATCH_BUILD at build/san, whose ASan and
    UBSan runtimes no image ships, so then the plain build/ is used if there."""
    for b in dict.fromkeys([built_dir(repo), os.path.join(repo, "build")]):
        paths = [os.path.join(b, x) for x in bins]
        if all(os.path.exists(p) for p in paths) and not any(sanitized(p) for p in paths):
            return b
    return None


def codename():
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("VERSION_CODENAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return None


def test_runtime_stages_install_every_library_package(repo, dockerfile):
    # Package names are compared with the image's release: the binaries must
    # have been built against the same one (the project's Debian 12).
    if codename() != "bookworm":
        pytest.skip(f"host is {codename()!r}, the images are bookworm: package names differ")
    ship = shipped(dockerfile)
    b = plain_build(repo, [x for bs in ship.values() for x in bs])
    if not b:
        pytest.skip(f"no un-sanitized build of every shipped binary in {built_dir(repo)} or "
                    "build/ (`make` builds them; images ship that build)")
    for stage, bins in ship.items():
        have = set(apt_installs(dockerfile["stages"][stage]))
        need = {}
        for x in bins:
            for lib, pkg in library_packages(os.path.join(b, x)).items():
                need.setdefault(pkg, []).append(f"{x}: {lib}")
        missing = {p: w for p, w in need.items() if p not in have}
        assert not missing, f"stage {stage} lacks {missing}"
        # and nothing else: a slim image holds what the binaries load plus
        # the health-check client, no compiler, no -dev package.
        extra = have - set(need) - HEALTH_TOOLS
        assert not extra, f"stage {stage} installs {extra}, which none of {bins} loads"


def test_dockerignore_keeps_what_the_build_needs(repo):
    with open(os.path.join(repo, ".dockerignore")) as f:
        pats = [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]
    assert "build/" in pats or "build" in pats or "/build" in pats
    for needed in ("Makefile", "bpf", "user", "agent", "tests", "vmlinux.h", ".git", "README.md"):
        for p in pats:
            assert not re.fullmatch(r"/?" + re.escape(needed) + r"/?(\*\*?)?", p), (needed, p)
            assert p not in ("*", "**", "**/*"), p
