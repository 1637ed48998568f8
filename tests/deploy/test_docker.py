"""deploy/docker/Dockerfile, checked without a Docker engine: its stages and runtime settings, that the
build stage installs the -dev packages of scripts/install-deps.sh, that every package it names exists
in Debian, that the runtime packages provide every shared library the real binary links (ldd +
dpkg -S), and that its HEALTHCHECK command tells a live server from a dead one.
"""

import json
import os
import re
import shutil
import subprocess
import unittest

import deployharness as h

DOCKERFILE = os.path.join(h.DEPLOY, "docker", "Dockerfile")
DOCKERIGNORE = os.path.join(h.REPO_ROOT, ".dockerignore")
INSTALL_DEPS = os.path.join(h.REPO_ROOT, "scripts", "install-deps.sh")
BUILD_TOOLS = {"build-essential", "cmake", "ninja-build", "pkg-config", "googletest"}


def instructions(path):
    """[(INSTRUCTION, arguments)] with continuation lines joined and comments dropped."""
    out, current = [], ""
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.lstrip().startswith("#"):
                continue
            if line.endswith("\\"):
                current += line[:-1] + " "
                continue
            current += line
            if current.strip():
                word, _, rest = current.strip().partition(" ")
                out.append((word.upper(), rest.strip()))
            current = ""
    return out


def stages(instrs):
    """[{"from": image, "name": alias, "instrs": [...]}] in order."""
    result = []
    for word, rest in instrs:
        if word == "FROM":
            m = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            result.append({"from": m.group(1), "name": m.group(2), "instrs": []})
        elif result:
            result[-1]["instrs"].append((word, rest))
    return result


def apt_packages(stage):
    pkgs = []
    for word, rest in stage["instrs"]:
        if word != "RUN":
            continue
        for m in re.finditer(r"apt-get install ([^&;|]*)", rest):
            pkgs += [t for t in m.group(1).split() if not t.startswith("-")]
    return pkgs


def install_deps_packages():
    with open(INSTALL_DEPS) as f:
        m = re.search(r"PACKAGES=\(([^)]*)\)", f.read())
    return m.group(1).split()


def package_exists(name):
    for cmd in (["dpkg-query", "-W", name], ["apt-cache", "show", "--no-all-versions", name]):
        if shutil.which(cmd[0]) and subprocess.run(cmd, capture_output=True).returncode == 0:
            return True
    return False


def package_of(path):
    """The Debian package that owns a file, trying the path as given and resolved (usrmerge)."""
    for p in (path, os.path.realpath(path), "/usr" + path if path.startswith("/lib") else path):
        r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":")[0].split(",")[0].strip()
    return None


class Dockerfile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.instrs = instructions(DOCKERFILE)
        cls.stages = stages(cls.instrs)
        cls.build = cls.stages[0]
        cls.runtime = cls.stages[-1]

    def final(self, word):
        return [rest for w, rest in self.runtime["instrs"] if w == word]

    def test_two_stages_on_debian_12(self):
        self.assertEqual(len(self.stages), 2)
        self.assertEqual((self.build["from"], self.build["name"]), ("debian:12", "build"))
        self.assertEqual(self.runtime["from"], "debian:12-slim")
        runs = " ".join(rest for w, rest in self.build["instrs"] if w == "RUN")
        self.assertRegex(runs, r"cmake -S \. -B (\S+) -G Ninja -DCMAKE_BUILD_TYPE=Release")
        self.assertRegex(runs, r"cmake --build \S+ --target vjvector(\s|$)")
        copies = self.final("COPY")
        self.assertTrue(any(c.startswith("--from=build ") and c.endswith(" /usr/local/bin/vjvector")
                            for c in copies), copies)
        self.assertEqual(len(copies), 1, "only the binary is copied into the runtime image")

    def test_runtime_settings(self):
        users = self.final("USER")
        self.assertEqual(len(users), 1)
        user = users[0].split(":")[0]
        self.assertNotIn(user, ("root", "0"))
        self.assertEqual(json.loads(self.final("VOLUME")[0]), ["/data"])
        self.assertEqual(self.final("EXPOSE"), ["6333 6334"])  # REST, gRPC
        env = dict(re.findall(r"(\w+)=(\S+)", " ".join(self.final("ENV"))))
        self.assertEqual(env.get("VJVECTOR_HTTP_HOST"), "0.0.0.0")
        self.assertEqual(env.get("VJVECTOR_DATA_DIR"), "/data")
        known = {"VJVECTOR_" + k for k in h.server_settings()}
        for name in env:
            if name.startswith("VJVECTOR_"):
                self.assertIn(name, known, "the server reads this variable")
        self.assertEqual(json.loads(self.final("ENTRYPOINT")[0]), ["/usr/local/bin/vjvector"])
        self.assertEqual(json.loads(self.final("CMD")[0]), ["serve"])
        # The user that runs the server owns the volume's mount point.
        runs = " ".join(self.final("RUN"))
        uid = users[0].split(":")[0]
        self.assertRegex(runs, rf"useradd [^&]*--uid {uid}\b")
        self.assertRegex(runs, r"chown \S+ /data")

    def test_build_stage_installs_the_dev_packages_of_install_deps(self):
        wanted = [p for p in install_deps_packages() if p.endswith("-dev") or p in BUILD_TOOLS]
        self.assertTrue(wanted)
        missing = sorted(set(wanted) - set(apt_packages(self.build)))
        self.assertEqual(missing, [], "add these to the Dockerfile's build stage")

    def test_named_packages_exist(self):
        if not shutil.which("dpkg-query"):
            self.skipTest("not a Debian system")
        names = apt_packages(self.build) + apt_packages(self.runtime)
        self.assertTrue(names)
        missing = [n for n in names if not package_exists(n)]
        self.assertEqual(missing, [], "unknown Debian packages (run apt-get update if the lists are empty)")

    def test_runtime_packages_cover_the_binary_libraries(self):
        if not shutil.which("dpkg") or not shutil.which("ldd"):
            self.skipTest("needs dpkg and ldd")
        out = subprocess.run(["ldd", h.BINARY], capture_output=True, text=True, check=True).stdout
        runtime = set(apt_packages(self.runtime))
        self.assertFalse([p for p in runtime if p.endswith("-dev")], "no -dev package at run time")
        unowned, uncovered = [], []
        for lib_path in re.findall(r"=> (/\S+)", out):
            pkg = package_of(lib_path)
            if pkg is None:
                unowned.append(lib_path)
            elif pkg not in runtime:
                uncovered.append(f"{os.path.basename(lib_path)} ({pkg})")
        self.assertEqual(unowned, [], "libraries no Debian package provides")
        self.assertEqual(sorted(set(uncovered)), [], "add these packages to the runtime stage")

    def test_healthcheck_tells_live_from_dead(self):
        hc = self.final("HEALTHCHECK")
        self.assertEqual(len(hc), 1)
        m = re.search(r"CMD (\[.*\])$", hc[0])
        self.assertIsNotNone(m, "HEALTHCHECK CMD in exec form")
        cmd = json.loads(m.group(1))
        self.assertIn("/livez", " ".join(cmd))
        node = h.Node()
        try:
            self.assertTrue(node.wait_ready(), node.log())
            env = dict(os.environ, VJVECTOR_HTTP_PORT=str(node.port))
            live = subprocess.run(cmd, env=env, capture_output=True, timeout=10)
            self.assertEqual(live.returncode, 0, live.stderr)
        finally:
            node.stop()
        env = dict(os.environ, VJVECTOR_HTTP_PORT=str(node.port))
        dead = subprocess.run(cmd, env=env, capture_output=True, timeout=10)
        self.assertNotEqual(dead.returncode, 0)

    def test_dockerignore_keeps_sources_and_drops_build_trees(self):
        with open(DOCKERIGNORE) as f:
            patterns = [l.strip() for l in f if l.strip() and not l.startswith("#")]
        for p in (".git", "build", "build-*", "data", "tests/deploy/node_modules"):
            self.assertIn(p, patterns)
        for needed in ("CMakeLists.txt", "src", "bench", "tests", "scripts"):
            self.assertNotIn(needed, patterns)
            self.assertFalse(any(p.startswith("!") for p in patterns))


if __name__ == "__main__":
    h.main()
