"""A local stand-in for the Hugging Face hub, for push / download round-trip tests.

This is a TEST DOUBLE, not a hub: it speaks just the part of the hub's HTTP API that
huggingface_hub (2.x) calls for ``create_repo``, ``upload_folder`` / ``create_commit`` /
``push_to_hub`` and ``hf_hub_download`` / ``from_pretrained``, for model repos, on one branch
("main"), with every file committed as a regular git blob (no LFS, no Xet storage):

    POST /api/repos/create                          create a repo (409 + its url if it exists)
    POST /api/validate-yaml                         check a README's YAML header
    GET  /api/models/{repo}[/revision/{rev}]        repo info: sha and file list ("siblings")
    POST /api/models/{repo}/preupload/{rev}         upload mode of each file: always "regular"
    POST /api/models/{repo}/commit/{rev}            NDJSON commit: header, file (base64), deletedFile
    HEAD /{repo}/resolve/{rev}/{path}               file metadata: ETag, X-Repo-Commit, Content-Length
    GET  /{repo}/resolve/{rev}/{path}               file content, same headers

Errors carry the ``X-Error-Code`` header (RepoNotFound, RevisionNotFound, EntryNotFound) that
huggingface_hub turns into its typed exceptions. Writes need an ``Authorization: Bearer`` header.
Requests to any other route answer 404 and are kept in ``HubServer.unknown`` so a test can show
that nothing it needed was missing. Files live in a temporary folder, one sub-folder per repo.

    with HubServer() as hub:          # binds 127.0.0.1 on a free port, serves from a daemon thread
        env["HF_ENDPOINT"] = hub.url  # ... run huggingface_hub in a subprocess ...
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

REPO = r"(?P<repo>[\w.-]+/[\w.-]+)"
ROUTES = [  # (method, pattern, handler name); a HEAD is answered by the GET handler without the body
    ("POST", r"/api/repos/create", "create_repo"),
    ("POST", r"/api/validate-yaml", "validate_yaml"),
    ("GET", rf"/api/models/{REPO}(?:/revision/(?P<rev>[^/]+))?", "repo_info"),
    ("POST", rf"/api/models/{REPO}/preupload/(?P<rev>[^/]+)", "preupload"),
    ("POST", rf"/api/models/{REPO}/commit/(?P<rev>[^/]+)", "commit"),
    ("GET", rf"/{REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)", "resolve"),
]


def git_blob_sha(content: bytes) -> str:
    """The id git (and the hub, as a regular file's ETag) gives a file's content."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


class HubError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class HubServer:
    """The server, its storage and its log; a context manager that starts and stops it."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="hub_server_"))
        self.commits: dict[str, str] = {}  # repo id -> sha of its latest commit ("" before the first)
        self.log: list[str] = []  # "METHOD path" of every request
        self.unknown: list[str] = []  # requests that matched no route
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> HubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)

    def files(self, repo: str) -> dict[str, bytes]:
        """Every file of the repo's latest commit, path -> content."""
        folder = self._repo_folder(repo)
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

    # ---------------------------------------------------------------- handlers: (status, headers, body)

    def create_repo(self, body: bytes, **_):
        request = json.loads(body)
        repo = f"{request['organization']}/{request['name']}" if request.get("organization") else request["name"]
        answer = {"url": f"{self.url}/{repo}", "name": repo, "id": repo}
        if repo in self.commits:
            return 409, {}, dict(answer, error="You already created this model repo")
        self._repo_folder(repo, create=True)
        self.commits[repo] = ""
        return 200, {}, answer

    def validate_yaml(self, body: bytes, **_):
        content = json.loads(body)["content"]
        match = re.match(r"^---\n(.*?)\n---\n", content, re.S)
        try:
            metadata = yaml.safe_load(match.group(1)) if match else {}
        except yaml.YAMLError as error:
            return 400, {}, {"errors": [{"message": str(error)}], "warnings": []}
        if not isinstance(metadata, dict):
            return 400, {}, {"errors": [{"message": "metadata must be a mapping"}], "warnings": []}
        return 200, {}, {"errors": [], "warnings": []}

    def repo_info(self, repo: str, rev: str | None = None, **_):
        sha = self._check(repo, rev or "main")
        siblings = [{"rfilename": path} for path in self.files(repo)]
        return 200, {}, {"id": repo, "modelId": repo, "sha": sha, "private": False, "siblings": siblings}

    def preupload(self, repo: str, rev: str, body: bytes, **_):
        self._check(repo, rev)
        folder = self._repo_folder(repo)
        files = []
        for file in json.loads(body)["files"]:
            existing = folder / file["path"]
            oid = git_blob_sha(existing.read_bytes()) if existing.is_file() else None
            files.append({"path": file["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": oid})
        return 200, {}, {"files": files, "commitOid": self.commits[repo]}

    def commit(self, repo: str, rev: str, body: bytes, **_):
        parent = self._check(repo, rev)
        folder = self._repo_folder(repo)
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        if not lines or lines[0]["key"] != "header":
            raise HubError(400, "BadRequest", "a commit starts with its header line")
        for line in lines[1:]:
            value = line["value"]
            target = folder / value["path"]
            if not target.resolve().is_relative_to(folder.resolve()):
                raise HubError(400, "BadRequest", f"path outside the repo: {value['path']}")
            if line["key"] == "file":
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(base64.b64decode(value["content"]))
            elif line["key"] == "deletedFile":
                target.unlink(missing_ok=True)
            else:  # lfsFile and the rest need storage this double does not have
                raise HubError(400, "BadRequest", f"unsupported commit operation: {line['key']}")
        state = json.dumps([parent, lines[0]["value"]] + [git_blob_sha(c) for c in self.files(repo).values()])
        self.commits[repo] = sha = hashlib.sha1(state.encode()).hexdigest()
        return 200, {}, {"commitUrl": f"{self.url}/{repo}/commit/{sha}", "commitOid": sha, "pullRequestUrl": None}

    def resolve(self, repo: str, rev: str, path: str, **_):
        sha = self._check(repo, rev)
        file = self._repo_folder(repo) / path
        if not file.is_file():
            return 404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": sha}, {"error": f"{path} is not in {repo}"}
        content = file.read_bytes()
        return 200, {"ETag": f'"{git_blob_sha(content)}"', "X-Repo-Commit": sha}, content

    # ---------------------------------------------------------------- helpers

    def _repo_folder(self, repo: str, create: bool = False) -> Path:
        folder = self.root / repo
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _check(self, repo: str, rev: str) -> str:
        """The repo's current commit sha; raises the hub's errors for an unknown repo or revision."""
        if repo not in self.commits:
            raise HubError(404, "RepoNotFound", f"Repository not found: {repo}")
        sha = self.commits[repo]
        if unquote(rev) not in ("main", sha):
            raise HubError(404, "RevisionNotFound", f"Invalid rev id: {rev}")
        return sha


def _make_handler(server: HubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._dispatch("GET", send_body=True)

        def do_HEAD(self) -> None:
            self._dispatch("GET", send_body=False)

        def do_POST(self) -> None:
            self._dispatch("POST", send_body=True)

        def _dispatch(self, method: str, send_body: bool) -> None:
            path = urlsplit(self.path).path
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            server.log.append(f"{self.command} {path}")
            status, headers, payload = 404, {"X-Error-Code": "NotFound"}, {"error": f"no route for {path}"}
            try:
                for route_method, pattern, name in ROUTES:
                    match = re.fullmatch(pattern, path)
                    if match and route_method == method:
                        if method == "POST" and not self.headers.get("Authorization", "").startswith("Bearer "):
                            raise HubError(401, "Unauthorized", "writes need a token")
                        with server.lock:
                            status, headers, payload = getattr(server, name)(body=body, **match.groupdict())
                        break
                else:
                    server.unknown.append(f"{self.command} {self.path}")
            except HubError as error:
                status, headers, payload = error.status, {"X-Error-Code": error.code}, {"error": error.message}
            content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            for key, value in {"Content-Length": str(len(content)), **headers}.items():
                self.send_header(key, value)
            if not isinstance(payload, bytes):
                self.send_header("Content-Type", "application/json")
            if "X-Error-Code" in headers:
                self.send_header("X-Error-Message", payload["error"])
            self.end_headers()
            if send_body:
                self.wfile.write(content)

        def log_message(self, *args) -> None:  # the request log is server.log; keep stderr quiet
            pass

    return Handler
