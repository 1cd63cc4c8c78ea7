#!/usr/bin/env python3
"""A local stand-in for the REST APIs of GitHub, GitLab and Gitea/Forgejo,
and git's smart HTTP, backed by one real bare git repository.

This is a CONTRACT TEST double for pprof-worker's forge clients: the
request paths, bodies, status codes and error shapes follow the forges'
published REST documentation for the calls the worker makes, and every
write is a real git object in a real repository, so a test checks the
result with `git show`. It is not a forge: one repository, one token,
no permissions beyond the token check.

Python 3 standard library only (http.server, json, subprocess): Debian's
python3 is on every test machine, and JSON, base64 and a threaded HTTP
server need no extra package.

  standin.py --repo DIR.git --token TOKEN --port-file FILE
             [--app-id N --app-public-key PEM]

Routes (owner/name is whatever the test uses; another one is a 404):
  GitHub  /api/v3/...    contents, branches, git data API, pulls, App tokens
  GitLab  /api/v4/...    repository files/branches/commits, merge requests
  Gitea   /api/v1/...    contents (ChangeFiles), branches, pulls
  git     /git/NAME.git  git http-backend (HTTP Basic: any user, the token)
  control /_standin/faults (POST a list), /_standin/log, /_standin/pulls
A fault is {"method", "path" (regex on the path with query), "status",
"body" (JSON), "headers", "times"}: the next `times` matching requests get
that answer instead of the real one.
"""
import argparse
import base64
import json
import os
import re
import subprocess
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.RLock()
PULLS = []          # {"number", "head", "base", "title", "body", "state"}
LOG = []            # {"method", "path", "t", "status"}
FAULTS = []
APP_TOKENS = set()
INSTALLATION_ID = 7


class Answer(Exception):
    def __init__(self, status, body=None, headers=None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def git(*args, data=None, index=None):
    env = dict(os.environ, GIT_DIR=ARGS.repo)
    if index:
        env["GIT_INDEX_FILE"] = index
    env.setdefault("GIT_AUTHOR_NAME", "forge")
    env.setdefault("GIT_AUTHOR_EMAIL", "forge@localhost")
    env.setdefault("GIT_COMMITTER_NAME", "forge")
    env.setdefault("GIT_COMMITTER_EMAIL", "forge@localhost")
    p = subprocess.run(["git", *args], input=data, env=env, capture_output=True)
    return p.returncode, p.stdout


def ref_sha(branch):
    rc, out = git("rev-parse", "--verify", "-q", "refs/heads/" + branch + "^{commit}")
    return out.decode().strip() if rc == 0 else None


def file_at(ref, path):
    """(blob, bytes) of path at a branch or commit, None if absent."""
    rc, out = git("rev-parse", "--verify", "-q", ref + ":" + path)
    if rc != 0:
        return None
    blob = out.decode().strip()
    rc, data = git("cat-file", "blob", blob)
    return (blob, data) if rc == 0 else None


def write_blob(data):
    return git("hash-object", "-w", "--stdin", data=data)[1].decode().strip()


def tree_with(base_tree, entries):
    """A tree: base_tree (may be None) with (mode, blob, path) entries set."""
    with tempfile.TemporaryDirectory() as d:
        index = os.path.join(d, "index")
        if base_tree:
            git("read-tree", base_tree, index=index)
        for mode, blob, path in entries:
            git("update-index", "--add", "--cacheinfo", "%s,%s,%s" % (mode, blob, path), index=index)
        return git("write-tree", index=index)[1].decode().strip()


def commit(tree, parents, message):
    args = ["commit-tree", tree]
    for p in parents:
        args += ["-p", p]
    return git(*args, data=message.encode())[1].decode().strip()


def is_commit(sha):
    return git("cat-file", "-e", sha + "^{commit}")[0] == 0


def b64_lines(data):
    s = base64.b64encode(data).decode()
    return "\n".join(s[i:i + 60] for i in range(0, len(s), 60)) + "\n"


def open_pull(head, base, title, body):
    p = {"number": len(PULLS) + 1, "head": head, "base": base, "title": title, "body": body or "",
         "state": "open"}
    PULLS.append(p)
    return p


def edit_pull(number, title, body):
    """The pull request number with a new title and body, None if there is none."""
    for p in PULLS:
        if p["number"] == number:
            p["title"] = title if title is not None else p["title"]
            p["body"] = body if body is not None else p["body"]
            return p
    return None


def pull_of(head, base, state):
    for p in PULLS:
        if p["head"] == head and p["base"] == base and (state is None or p["state"] == state):
            return p
    return None


# ---------------------------------------------------------------- GitHub
GH_DOC = "https://docs.github.com/rest"


def gh_error(status, message, **extra):
    body = {"message": message, "documentation_url": GH_DOC, "status": str(status)}
    body.update(extra)
    return Answer(status, body)


def gh_pull_json(p):
    return {"number": p["number"], "state": p["state"], "title": p["title"], "body": p["body"],
            "html_url": "%s/%s/pull/%d" % (BASE_URL, ARGS.name, p["number"]),
            "head": {"ref": p["head"], "label": ARGS.name.split("/")[0] + ":" + p["head"]},
            "base": {"ref": p["base"]}}


def verify_jwt(token):
    """RS256 with the app's public key (openssl dgst), iss = app id, not expired."""
    try:
        h64, p64, s64 = token.split(".")
        pad = lambda s: s + "=" * (-len(s) % 4)
        header = json.loads(base64.urlsafe_b64decode(pad(h64)))
        payload = json.loads(base64.urlsafe_b64decode(pad(p64)))
        sig = base64.urlsafe_b64decode(pad(s64))
    except Exception:
        return False
    if header.get("alg") != "RS256" or str(payload.get("iss")) != str(ARGS.app_id):
        return False
    now = time.time()
    if not (payload["iat"] <= now + 5 and now < payload["exp"] <= payload["iat"] + 660):
        return False
    with tempfile.NamedTemporaryFile() as sf, tempfile.NamedTemporaryFile() as df:
        sf.write(sig); sf.flush()
        df.write((h64 + "." + p64).encode()); df.flush()
        return subprocess.run(["openssl", "dgst", "-sha256", "-verify", ARGS.app_public_key,
                               "-signature", sf.name, df.name], capture_output=True).returncode == 0


def github(h, method, path, query, body):
    auth = h.headers.get("Authorization", "")
    bearer = auth.split(" ", 1)[1] if " " in auth else ""
    if path == "/app/installations/%d/access_tokens" % INSTALLATION_ID or path.endswith("/installation"):
        if not ARGS.app_id or not verify_jwt(bearer):
            raise gh_error(401, "A JSON web token could not be decoded")
        if method == "GET" and path == "/repos/%s/installation" % ARGS.name:
            return 200, {"id": INSTALLATION_ID, "app_id": int(ARGS.app_id)}
        if method == "POST" and path.startswith("/app/"):
            token = "ghs_" + base64.b16encode(os.urandom(12)).decode().lower()
            APP_TOKENS.add(token)
            return 201, {"token": token, "expires_at": "2099-01-01T00:00:00Z"}
        raise gh_error(404, "Not Found")
    if bearer != ARGS.token and bearer not in APP_TOKENS:
        raise gh_error(401, "Bad credentials")
    prefix = "/repos/" + ARGS.name + "/"
    if not path.startswith(prefix):
        raise gh_error(404, "Not Found")
    rest = path[len(prefix):]

    if method == "GET" and rest.startswith("contents/"):
        ref = query.get("ref", ["main"])[0]
        f = file_at("refs/heads/" + ref, rest[len("contents/"):]) if ref_sha(ref) else None
        if not f:
            raise gh_error(404, "Not Found")
        p = rest[len("contents/"):]
        return 200, {"type": "file", "encoding": "base64", "size": len(f[1]), "name": p.split("/")[-1],
                     "path": p, "sha": f[0], "content": b64_lines(f[1])}
    if method == "GET" and rest.startswith("branches/"):
        sha = ref_sha(rest[len("branches/"):])
        if not sha:
            raise gh_error(404, "Branch not found")
        return 200, {"name": rest[len("branches/"):], "commit": {"sha": sha}, "protected": False}
    if method == "GET" and rest.startswith("git/ref/heads/"):
        branch = rest[len("git/ref/heads/"):]
        sha = ref_sha(branch)
        if not sha:
            raise gh_error(404, "Not Found")
        return 200, {"ref": "refs/heads/" + branch, "object": {"sha": sha, "type": "commit"}}
    if method == "GET" and rest.startswith("git/commits/"):
        sha = rest[len("git/commits/"):]
        if not is_commit(sha):
            raise gh_error(404, "Not Found")
        tree = git("rev-parse", sha + "^{tree}")[1].decode().strip()
        return 200, {"sha": sha, "tree": {"sha": tree}}
    if method == "GET" and rest.startswith("git/blobs/"):
        sha = rest[len("git/blobs/"):]
        rc, data = git("cat-file", "blob", sha)
        if rc != 0:
            raise gh_error(404, "Not Found")
        return 200, {"sha": sha, "size": len(data), "encoding": "base64", "content": b64_lines(data)}
    if method == "POST" and rest == "git/blobs":
        if body.get("encoding") != "base64" or not isinstance(body.get("content"), str):
            raise gh_error(422, "Invalid request.")
        return 201, {"sha": write_blob(base64.b64decode(body["content"]))}
    if method == "POST" and rest == "git/trees":
        entries = [(e["mode"], e["sha"], e["path"]) for e in body.get("tree", [])]
        return 201, {"sha": tree_with(body.get("base_tree"), entries)}
    if method == "POST" and rest == "git/commits":
        if not all(is_commit(p) for p in body.get("parents", [])):
            raise gh_error(422, "Parent SHA does not exist or is not a commit object")
        return 201, {"sha": commit(body["tree"], body.get("parents", []), body["message"])}
    if method == "POST" and rest == "git/refs":
        branch = body.get("ref", "")[len("refs/heads/"):]
        if ref_sha(branch):
            raise gh_error(422, "Reference already exists")
        git("update-ref", "refs/heads/" + branch, body["sha"])
        return 201, {"ref": body["ref"], "object": {"sha": body["sha"], "type": "commit"}}
    if method == "PATCH" and rest.startswith("git/refs/heads/"):
        branch = rest[len("git/refs/heads/"):]
        old = ref_sha(branch)
        if not old:
            raise gh_error(422, "Reference does not exist")
        if not body.get("force") and git("merge-base", "--is-ancestor", old, body["sha"])[0] != 0:
            raise gh_error(422, "Update is not a fast forward")
        git("update-ref", "refs/heads/" + branch, body["sha"])
        return 200, {"ref": "refs/heads/" + branch, "object": {"sha": body["sha"], "type": "commit"}}
    if method == "GET" and rest == "pulls":
        owner = ARGS.name.split("/")[0] + ":"
        head = query.get("head", [None])[0]
        base = query.get("base", [None])[0]
        state = query.get("state", ["open"])[0]
        return 200, [gh_pull_json(p) for p in PULLS
                     if (head is None or owner + p["head"] == head) and (base is None or p["base"] == base)
                     and (state == "all" or p["state"] == state)]
    if method == "POST" and rest == "pulls":
        if not ref_sha(body.get("head", "")):
            raise gh_error(422, "Validation Failed",
                           errors=[{"resource": "PullRequest", "field": "head", "code": "invalid"}])
        if pull_of(body["head"], body["base"], "open"):
            raise gh_error(422, "Validation Failed", errors=[{
                "resource": "PullRequest", "code": "custom",
                "message": "A pull request already exists for %s:%s." % (ARGS.name.split("/")[0], body["head"])}])
        return 201, gh_pull_json(open_pull(body["head"], body["base"], body["title"], body.get("body")))
    m = re.fullmatch(r"pulls/(\d+)", rest)
    p = edit_pull(int(m.group(1)), body.get("title"), body.get("body")) if method == "PATCH" and m else None
    if p:
        return 200, gh_pull_json(p)
    raise gh_error(404, "Not Found")


# ---------------------------------------------------------------- GitLab
def gitlab(h, method, path, query, body):
    token = h.headers.get("PRIVATE-TOKEN") or h.headers.get("Authorization", " ").split(" ", 1)[1]
    if token != ARGS.token:
        raise Answer(401, {"message": "401 Unauthorized"})
    m = re.fullmatch(r"/projects/([^/]+)/(.*)", path)
    if not m or urllib.parse.unquote(m.group(1)) != ARGS.name:
        raise Answer(404, {"message": "404 Project Not Found"})
    rest = m.group(2)
    web = "%s/%s" % (BASE_URL, ARGS.name)

    fm = re.fullmatch(r"repository/files/([^/]+)", rest)
    if method == "GET" and fm:
        ref = query.get("ref", [""])[0]
        fpath = urllib.parse.unquote(fm.group(1))
        f = file_at("refs/heads/" + ref, fpath) if ref_sha(ref) else None
        if not f:
            raise Answer(404, {"message": "404 File Not Found"})
        return 200, {"file_name": fpath.split("/")[-1], "file_path": fpath, "size": len(f[1]),
                     "encoding": "base64", "content": base64.b64encode(f[1]).decode(), "ref": ref,
                     "blob_id": f[0], "commit_id": ref_sha(ref), "last_commit_id": ref_sha(ref)}
    bm = re.fullmatch(r"repository/branches/([^/]+)", rest)
    if method == "GET" and bm:
        name = urllib.parse.unquote(bm.group(1))
        sha = ref_sha(name)
        if not sha:
            raise Answer(404, {"message": "404 Branch Not Found"})
        return 200, {"name": name, "commit": {"id": sha}, "protected": False}
    if method == "POST" and rest == "repository/commits":
        branch, start = body.get("branch"), body.get("start_branch") or body.get("branch")
        parent = ref_sha(start)
        if not parent:
            raise Answer(400, {"message": "You can only create or edit files when you are on a branch"})
        if ref_sha(branch) and branch != start and not body.get("force"):
            raise Answer(400, {"message": "A branch called '%s' already exists. Switch to that branch in "
                                          "order to make changes" % branch})
        entries = []
        for a in body.get("actions", []):
            exists = file_at(parent, a["file_path"]) is not None
            if a["action"] == "create" and exists:
                raise Answer(400, {"message": "A file with this name already exists"})
            if a["action"] == "update" and not exists:
                raise Answer(400, {"message": "A file with this name doesn't exist"})
            data = base64.b64decode(a["content"]) if a.get("encoding") == "base64" else a["content"].encode()
            entries.append(("100644", write_blob(data), a["file_path"]))
        tree = tree_with(git("rev-parse", parent + "^{tree}")[1].decode().strip(), entries)
        sha = commit(tree, [parent], body["commit_message"])
        git("update-ref", "refs/heads/" + branch, sha)
        return 201, {"id": sha, "short_id": sha[:8], "title": body["commit_message"].split("\n")[0],
                     "message": body["commit_message"], "parent_ids": [parent],
                     "web_url": "%s/-/commit/%s" % (web, sha)}

    def mr_json(p):
        return {"iid": p["number"], "state": "opened" if p["state"] == "open" else p["state"],
                "title": p["title"], "description": p["body"], "source_branch": p["head"],
                "target_branch": p["base"], "web_url": "%s/-/merge_requests/%d" % (web, p["number"])}
    if method == "GET" and rest == "merge_requests":
        state = {"opened": "open"}.get(query.get("state", ["all"])[0], query.get("state", ["all"])[0])
        src, tgt = query.get("source_branch", [None])[0], query.get("target_branch", [None])[0]
        return 200, [mr_json(p) for p in PULLS if (state == "all" or p["state"] == state)
                     and (src is None or p["head"] == src) and (tgt is None or p["base"] == tgt)]
    if method == "POST" and rest == "merge_requests":
        old = pull_of(body["source_branch"], body["target_branch"], "open")
        if old:
            raise Answer(409, {"message": ["Another open merge request already exists for this source "
                                           "branch: !%d" % old["number"]]})
        return 201, mr_json(open_pull(body["source_branch"], body["target_branch"], body["title"],
                                      body.get("description")))
    mm = re.fullmatch(r"merge_requests/(\d+)", rest)
    p = edit_pull(int(mm.group(1)), body.get("title"), body.get("description")) if method == "PUT" and mm else None
    if p:
        return 200, mr_json(p)
    raise Answer(404, {"error": "404 Not Found"})


# ---------------------------------------------------------------- Gitea
def gitea_error(status, message):
    return Answer(status, {"message": message, "url": BASE_URL + "/api/swagger"})


def gitea(h, method, path, query, body):
    auth = h.headers.get("Authorization", " ")
    if auth.split(" ", 1)[1] != ARGS.token or auth.split(" ", 1)[0].lower() not in ("token", "bearer"):
        raise gitea_error(401, "token is required")
    prefix = "/repos/" + ARGS.name + "/"
    if not path.startswith(prefix):
        raise gitea_error(404, "The target couldn't be found.")
    rest = path[len(prefix):]

    def pr_json(p):
        return {"number": p["number"], "state": p["state"], "title": p["title"], "body": p["body"],
                "html_url": "%s/%s/pulls/%d" % (BASE_URL, ARGS.name, p["number"]),
                "head": {"ref": p["head"]}, "base": {"ref": p["base"]}}
    if method == "GET" and rest.startswith("contents/"):
        ref = query.get("ref", ["main"])[0]
        fpath = rest[len("contents/"):]
        f = file_at("refs/heads/" + ref, fpath) if ref_sha(ref) else None
        if not f:
            raise gitea_error(404, "object does not exist [id: , rel_path: %s]" % fpath)
        return 200, {"type": "file", "name": fpath.split("/")[-1], "path": fpath, "sha": f[0],
                     "size": len(f[1]), "encoding": "base64", "content": base64.b64encode(f[1]).decode()}
    if method == "GET" and rest.startswith("branches/"):
        name = rest[len("branches/"):]
        sha = ref_sha(name)
        if not sha:
            raise gitea_error(404, "branch does not exist [name: %s]" % name)
        return 200, {"name": name, "commit": {"id": sha}}
    if method == "POST" and rest == "contents":
        base = body.get("branch") or "main"
        new = body.get("new_branch")
        parent = ref_sha(base)
        if not parent:
            raise gitea_error(404, "branch does not exist [name: %s]" % base)
        if new and ref_sha(new):
            raise gitea_error(422, "branch already exists [name: %s]" % new)
        entries = []
        for f in body.get("files", []):
            cur = file_at(parent, f["path"])
            if f["operation"] == "create" and cur:
                raise gitea_error(422, "repository file already exists [path: %s]" % f["path"])
            if f["operation"] == "update" and (not cur or cur[0] != f.get("sha")):
                raise gitea_error(422, "sha does not match [given: %s, expected: %s]"
                                  % (f.get("sha"), cur[0] if cur else ""))
            entries.append(("100644", write_blob(base64.b64decode(f["content"])), f["path"]))
        tree = tree_with(git("rev-parse", parent + "^{tree}")[1].decode().strip(), entries)
        sha = commit(tree, [parent], body.get("message", "Update files"))
        git("update-ref", "refs/heads/" + (new or base), sha)
        return 201, {"files": [{"path": e[2], "sha": e[1]} for e in entries],
                     "commit": {"sha": sha, "message": body.get("message")}}
    m = re.fullmatch(r"pulls/([^/]+)/(.+)", rest)
    if method == "GET" and m and not m.group(1).isdigit():
        found = [p for p in PULLS if p["base"] == urllib.parse.unquote(m.group(1)) and p["head"] == m.group(2)]
        if not found:
            raise gitea_error(404, "pull request does not exist")
        return 200, pr_json(found[-1])
    if method == "POST" and rest == "pulls":
        old = pull_of(body["head"], body["base"], "open")
        if old:
            raise gitea_error(409, "pull request already exists for these targets [id: %d, issue_id: %d, "
                                   "head_repo_id: 1, base_repo_id: 1, head_branch: %s, base_branch: %s]"
                              % (old["number"], old["number"], old["head"], old["base"]))
        return 201, pr_json(open_pull(body["head"], body["base"], body["title"], body.get("body")))
    m = re.fullmatch(r"pulls/(\d+)", rest)
    p = edit_pull(int(m.group(1)), body.get("title"), body.get("body")) if method == "PATCH" and m else None
    if p:
        return 201, pr_json(p)
    raise gitea_error(404, "The target couldn't be found.")


APIS = {"/api/v3": github, "/api/v4": gitlab, "/api/v1": gitea}
BASE_URL = ""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body, headers=None):
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        if body is not None and not isinstance(body, bytes):
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        with LOCK:
            LOG.append({"method": self.command, "path": self.path, "t": time.time(), "status": status})

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                n = int(self.rfile.readline().strip().split(b";")[0], 16)
                if n == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(n)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def handle_any(self):
        raw = self.read_body()
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/_standin/"):
            return self.control(url.path, raw)
        with LOCK:
            for f in FAULTS:
                if f["times"] > 0 and f.get("method", self.command) == self.command \
                        and re.search(f["path"], self.path):
                    f["times"] -= 1
                    return self.send(f["status"], f.get("body"), f.get("headers"))
        if url.path.startswith("/git/"):
            return self.git_http(url, raw)
        for prefix, api in APIS.items():
            if url.path.startswith(prefix + "/"):
                try:
                    body = json.loads(raw) if raw else {}
                    with LOCK:
                        status, answer = api(self, self.command, url.path[len(prefix):],
                                             urllib.parse.parse_qs(url.query), body)
                    return self.send(status, answer)
                except Answer as a:
                    return self.send(a.status, a.body, a.headers)
                except (ValueError, KeyError, TypeError) as e:
                    return self.send(400, {"message": "Problems parsing JSON: %s" % e})
        self.send(404, {"message": "Not Found"})

    def control(self, path, raw):
        with LOCK:
            if path == "/_standin/faults" and self.command == "POST":
                FAULTS.extend(json.loads(raw))
                answer = {"faults": len(FAULTS)}
            elif path == "/_standin/log":
                answer = LOG
            elif path == "/_standin/pulls":
                answer = PULLS
            else:
                answer = None
        self.send(200 if answer is not None else 404, answer)

    def git_http(self, url, raw):
        """git http-backend as a CGI, behind HTTP Basic with the token as the password."""
        auth = self.headers.get("Authorization", "")
        try:
            user, _, password = base64.b64decode(auth.split(" ", 1)[1]).decode().partition(":")
        except Exception:
            user, password = "", ""
        if not auth.startswith("Basic ") or password != ARGS.token:
            return self.send(401, b"", {"WWW-Authenticate": 'Basic realm="git"'})
        env = dict(os.environ, GIT_PROJECT_ROOT=os.path.dirname(os.path.abspath(ARGS.repo)),
                   GIT_HTTP_EXPORT_ALL="1", REQUEST_METHOD=self.command,
                   PATH_INFO=url.path[len("/git"):], QUERY_STRING=url.query, REMOTE_USER=user,
                   REMOTE_ADDR="127.0.0.1", CONTENT_TYPE=self.headers.get("Content-Type", ""),
                   CONTENT_LENGTH=str(len(raw)), GIT_HTTP_MAX_REQUEST_BUFFER="100M")
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        p = subprocess.run(["git", "http-backend"], input=raw, env=env, capture_output=True)
        head, _, body = p.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, body = p.stdout.partition(b"\n\n")
        status, headers = 200, {}
        for line in head.decode("latin-1").splitlines():
            k, _, v = line.partition(":")
            if k.lower() == "status":
                status = int(v.strip().split()[0])
            elif k:
                headers[k] = v.strip()
        self.send(status, body, headers)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


def main():
    global ARGS, BASE_URL
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True)
    ap.add_argument("--name", default="acme/service", help="owner/name the APIs answer for")
    ap.add_argument("--token", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--app-id")
    ap.add_argument("--app-public-key")
    ARGS = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    BASE_URL = "http://127.0.0.1:%d" % server.server_address[1]
    with open(ARGS.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
