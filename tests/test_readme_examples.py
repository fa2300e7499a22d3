"""The README's API examples work as written.

Every ``curl`` command in README.md's API sections (from "## The service ... JSON API" to
the next ``## `` heading) is run with the real curl binary (where it is missing, a urllib
stand-in that sends the same request) against a live server: waitress
on 127.0.0.1 serving the seed catalog (the one ``make run`` serves, so the README's ids
exist) indexed with the fake embedders, offline. Each must get a JSON answer with a 2xx
status, or the status a ``# -> STATUS [code]`` comment on the next line says it gets.

What a command needs is provided as a reader would: files it uploads (``-F photo=@shot.jpg``)
are generated in the working folder, and ``NAME=$(curl ... | python3 -c '...')`` lines run
their curl, then their Python on its answer, and set ``$NAME`` for the commands after them.

``DUPE_README=path`` runs the examples of another copy of the README (to try new text
before it is applied).
"""
from __future__ import annotations

import json
import mimetypes
import os
import re
import shlex
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.fakes import FakeImageEmbedder, FakeTextEmbedder
from tests.live_server import serving
from tests.test_web_helpers import make_app

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
README_HOST = "http://127.0.0.1:8080"
API_HEADING = re.compile(r"^## .*JSON API")
ASSIGNMENT = re.compile(r"^(?P<name>[A-Z_][A-Z0-9_]*)=\$\((?P<curl>curl .*?)\s*\|\s*python3 -c (?P<code>'[^']*')\)$")
EXPECTED = re.compile(r"^#\s*->\s*(?P<status>[1-5]\d\d)(?:\s+(?P<code>[a-z_]+))?")
CURL = shutil.which("curl")

pytestmark = pytest.mark.skipif(not (SEEDS / "products.jsonl").exists(), reason="seeds/ not generated")


def readme_path() -> Path:
    """The README whose examples are run: README.md, or the copy ``DUPE_README`` names."""
    return Path(os.environ.get("DUPE_README") or ROOT / "README.md")


@dataclass(frozen=True)
class Example:
    line: int                       # 1-based line in the README
    text: str                       # the command as written
    status: int | None = None       # the documented status (None: any 2xx)
    code: str | None = None         # the documented error code, if any

    @property
    def assignment(self) -> re.Match[str] | None:
        return ASSIGNMENT.match(self.text)


def api_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of the README's API sections."""
    inside = False
    for no, line in enumerate(text.splitlines(), 1):
        if line.startswith("## "):
            inside = bool(API_HEADING.match(line))
        elif inside:
            yield no, line


def examples(text: str) -> list[Example]:
    """The curl commands of the API sections, in order, with their documented status."""
    lines = list(api_lines(text))
    out = []
    for i, (no, line) in enumerate(lines):
        if not (line.startswith("curl ") or ASSIGNMENT.match(line)):
            continue
        following = lines[i + 1][1] if i + 1 < len(lines) else ""
        said = EXPECTED.match(following)
        out.append(Example(no, line, int(said["status"]) if said else None, said["code"] if said else None))
    return out


# ----------------------------------------------------------------------------- running one


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes


def expand(command: str, variables: dict[str, str]) -> str:
    """``$NAME`` / ``${NAME}`` of earlier assignments, as the shell would (their values are
    cursor tokens: no quoting is needed)."""
    for name, value in variables.items():
        command = command.replace("${" + name + "}", value).replace("$" + name, value)
    return command


def curl_args(command: str, base: str, workdir: Path) -> list[str]:
    """A README curl command's arguments, at ``base`` instead of the README's host, with
    the files it uploads made in ``workdir``."""
    argv = shlex.split(command)
    assert argv[0] == "curl"
    assert any(README_HOST in a for a in argv), f"no {README_HOST} URL in: {command}"
    args = [a.replace(README_HOST, base) for a in argv[1:]]
    for name in uploads(args):
        make_photo(workdir / name)
    return args


def curl(command: str, base: str, workdir: Path) -> Answer:
    """Run one README curl command, with the real binary where there is one."""
    args = curl_args(command, base, workdir)
    return run_curl(args, workdir) if CURL else stand_in(args, workdir)


def run_curl(args: list[str], workdir: Path) -> Answer:
    """The real binary: its status, content type and body."""
    body = workdir / "answer.body"
    # --noproxy: a proxy configured in the environment must not stand between curl and 127.0.0.1.
    done = subprocess.run([CURL, *args, "-sS", "--noproxy", "*", "-o", str(body), "-w", "%{http_code} %{content_type}"],
                          cwd=workdir, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"curl failed ({done.returncode}): {done.stderr}"
    status, _, ctype = done.stdout.partition(" ")
    return Answer(int(status), ctype, body.read_bytes())


# ----------------------------------------------------------------------------- without curl
# The options the README's commands use; any other is refused, so the stand-in never
# quietly sends something else than curl would.
VALUE_OPTIONS = {"-d": "data", "--data": "data", "--data-raw": "data", "--data-urlencode": "urlencode",
                 "-F": "form", "--form": "form", "-H": "header", "--header": "header", "-X": "method",
                 "--request": "method"}
FLAG_OPTIONS = {"-s": "", "--silent": "", "-S": "", "--show-error": "", "-G": "get", "--get": "get"}


def stand_in(args: list[str], workdir: Path) -> Answer:
    """The request curl would send for ``args``, sent with urllib."""
    url, method, headers, body = curl_request(args, workdir)
    if not url.isascii() or " " in url:
        # curl sends such bytes as they are, and waitress refuses them before the app (the
        # README test saw it with the real binary); urllib cannot send them at all.
        return Answer(400, "text/plain", b"Bad URI: raw non-ASCII or space in the URL")
    req = urllib.request.Request(url, data=body, headers=headers, method=method)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=60) as resp:
            return Answer(resp.status, resp.headers.get("Content-Type", ""), resp.read())
    except urllib.error.HTTPError as e:
        return Answer(e.code, e.headers.get("Content-Type", ""), e.read())


def curl_request(args: list[str], workdir: Path) -> tuple[str, str, dict[str, str], bytes | None]:
    """(url, method, headers, body) of a curl command line, as curl builds them."""
    url, method, get = "", "", False
    data: list[str] = []
    form: list[str] = []
    headers: dict[str, str] = {}
    queue = list(args)
    while queue:
        arg = queue.pop(0)
        if arg.startswith("-") and not arg.startswith("--") and len(arg) > 2:
            queue[:0] = [f"-{c}" for c in arg[1:]]            # -sG is -s -G
            continue
        if arg in VALUE_OPTIONS:
            kind, value = VALUE_OPTIONS[arg], queue.pop(0)
            if kind == "data":
                data.append(value)
            elif kind == "urlencode":
                name, eq, content = value.partition("=")      # curl writes a space as +
                data.append(f"{name}={urllib.parse.quote_plus(content, safe='')}" if eq and name
                            else urllib.parse.quote_plus(content if eq else value, safe=""))
            elif kind == "form":
                form.append(value)
            elif kind == "header":
                key, _, val = value.partition(":")
                headers[key.strip()] = val.strip()
            else:
                method = value
        elif arg in FLAG_OPTIONS:
            get = get or FLAG_OPTIONS[arg] == "get"
        else:
            assert not arg.startswith("-"), f"the stand-in for curl does not know {arg}: install curl"
            url = arg
    body: bytes | None = None
    if get and data:
        url += ("&" if "?" in url else "?") + "&".join(data)
    elif form:
        body, headers["Content-Type"] = multipart(form, workdir)
    elif data:
        body = "&".join(data).encode()
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    return url, method or ("POST" if body is not None else "GET"), headers, body


def multipart(fields: list[str], workdir: Path) -> tuple[bytes, str]:
    """``-F name=value`` and ``-F name=@file`` as a multipart/form-data body and its type."""
    boundary = uuid.uuid4().hex
    out = b""
    for field in fields:
        name, _, value = field.partition("=")
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
        if value.startswith("@"):
            path = workdir / value[1:].split(";", 1)[0]
            ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            out += f'{head}; filename="{path.name}"\r\nContent-Type: {ctype}\r\n\r\n'.encode()
            out += path.read_bytes()
        else:
            out += f"{head}\r\n\r\n{value}".encode()
        out += b"\r\n"
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def uploads(args: list[str]) -> list[str]:
    """Files a command uploads: ``-F field=@name`` (``;type=...`` and the like cut off)."""
    return [a.split("=@", 1)[1].split(";", 1)[0] for prev, a in zip(["", *args], args)
            if prev in ("-F", "--form") and "=@" in a]


def make_photo(path: Path) -> None:
    """A product-like photo big enough for any crop the README shows."""
    im = Image.new("RGB", (800, 1000), (235, 235, 240))
    im.paste((25, 22, 20), (200, 150, 600, 950))
    im.save(path, "JPEG", quality=85)


def check(example: Example, answer: Answer) -> Any:
    """The answer is JSON, with the documented status (else a 2xx); returns its body."""
    where = f"README line {example.line}: {example.text}"
    assert answer.content_type.split(";")[0].strip() == "application/json", \
        f"{where}\n-> {answer.status} {answer.content_type}: {answer.body[:300]!r}"
    data = json.loads(answer.body)
    if example.status is None:
        assert 200 <= answer.status < 300, f"{where}\n-> {answer.status}: {data}"
    else:
        assert answer.status == example.status, f"{where}\n-> {answer.status}: {data}"
        if example.code:
            assert data["error"]["code"] == example.code, f"{where}\n-> {data}"
    return data


def run_python(code: str, stdin: bytes) -> str:
    """An assignment's ``python3 -c '...'`` on the answer, as the shell would pipe it."""
    done = subprocess.run([sys.executable, "-c", shlex.split(code)[0]], input=stdin, capture_output=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode().strip()


# ----------------------------------------------------------------------------- the test


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[str]:
    from indexer.pipeline import Indexer
    from search.engine import SearchEngine
    from search.store.embedded import EmbeddedStore
    root = tmp_path_factory.mktemp("readme")
    store = EmbeddedStore(root / "index")
    text, image = FakeTextEmbedder(), FakeImageEmbedder()
    report = Indexer(store, text, image, batch_size=128).run(SEEDS)
    assert report.rejected == 0, report.rejects
    engine = SearchEngine(store, text, image, None)
    with serving(make_app(root, (engine, SEEDS, root / "index"))) as base:
        yield base
    store.close()


def test_the_readme_has_api_examples():
    found = examples(readme_path().read_text(encoding="utf-8"))
    assert len(found) >= 5, found
    assert any("/search/batch" in e.text for e in found), "the batch example is missing"


@pytest.mark.slow        # indexes the seed catalog and runs curl: not in the fast lane
def test_every_readme_curl_command_gets_its_documented_json_answer(live, tmp_path):
    variables: dict[str, str] = {}
    failures = []
    for example in examples(readme_path().read_text(encoding="utf-8")):
        command = expand(example.text, variables)
        assigned = ASSIGNMENT.match(command)
        try:       # every command is run, so one run shows every broken example
            answer = curl(assigned["curl"] if assigned else command, live, tmp_path)
            check(example, answer)
            if CURL:       # the stand-in used where curl is missing must agree with curl
                other = stand_in(curl_args(assigned["curl"] if assigned else command, live, tmp_path), tmp_path)
                assert (other.status, other.content_type) == (answer.status, answer.content_type), \
                    f"README line {example.line}: the urllib stand-in got {other.status}, curl {answer.status}"
            if assigned:
                variables[assigned["name"]] = run_python(assigned["code"], answer.body)
        except AssertionError as e:
            failures.append(str(e).split("\nassert")[0])
    assert not failures, f"{len(failures)} README example(s) do not work as written:\n\n" + "\n\n".join(failures)


def test_the_examples_parser_reads_what_the_readme_writes():
    """The parser itself: sections, assignments and documented statuses."""
    text = "\n".join([
        "## Using it", "curl http://127.0.0.1:8080/not-api", "## The service: search page and JSON API v1",
        "curl -G --data-urlencode 'q=a b' http://127.0.0.1:8080/api/v1/search",
        "NEXT=$(curl -sG -d k=1 http://127.0.0.1:8080/api/v1/search | python3 -c 'print(1)')",
        "curl -G --data-urlencode \"cursor=$NEXT\" http://127.0.0.1:8080/api/v1/search", "# -> 400 invalid_cursor",
        "### Paging", "curl -F photo=@shot.jpg http://127.0.0.1:8080/api/v1/search", "## Catalog format",
        "curl http://127.0.0.1:8080/after"])
    found = examples(text)
    assert [e.line for e in found] == [4, 5, 6, 9]
    assert found[1].assignment and found[1].assignment["name"] == "NEXT"
    assert (found[2].status, found[2].code) == (400, "invalid_cursor") and found[0].status is None
    assert expand(found[2].text, {"NEXT": "abc"}).endswith("\"cursor=abc\" http://127.0.0.1:8080/api/v1/search")
    assert uploads(shlex.split(found[3].text)[1:]) == ["shot.jpg"]


def test_the_stand_in_builds_the_request_curl_would(tmp_path):
    url, method, headers, body = curl_request(
        shlex.split("-sG --data-urlencode 'q=露露乐蒙 瑜伽裤' -d label=same_foundry http://h/api/v1/search"), tmp_path)
    assert (method, body) == ("GET", None)
    assert url == "http://h/api/v1/search?q=%E9%9C%B2%E9%9C%B2%E4%B9%90%E8%92%99+%E7%91%9C%E4%BC%BD%E8%A3%A4" \
                  "&label=same_foundry"
    url, method, headers, body = curl_request(
        shlex.split("-H 'Content-Type: application/json' -d '{\"items\": []}' http://h/api/v1/search/batch"), tmp_path)
    assert (method, headers, body) == ("POST", {"Content-Type": "application/json"}, b'{"items": []}')
    make_photo(tmp_path / "shot.jpg")
    _, method, headers, body = curl_request(["-F", "photo=@shot.jpg", "-F", "crop=0,0,4,6", "http://h/x"], tmp_path)
    assert method == "POST" and headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'name="photo"; filename="shot.jpg"\r\nContent-Type: image/jpeg' in body
    assert b'name="crop"\r\n\r\n0,0,4,6' in body
    with pytest.raises(AssertionError, match="does not know --compressed"):
        curl_request(["--compressed", "http://h/x"], tmp_path)
