"""The production files in deploy/: nginx's site and the systemd units (docs/deploy.md).

nginx runs for real here, on the site file as shipped, with only what a machine differs in
replaced: the ports, the certificate (a throwaway self-signed one), the log path and the
upstream servers (small servers of the test's own that record what reached them).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import re
import shlex
import ssl
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import ROOT, free_port, missing, stop_process, wait_for_port

NGINX = Path("/usr/sbin/nginx")
SITE = ROOT / "deploy" / "nginx" / "supportgroup.conf"
UNITS = ROOT / "deploy" / "systemd"


# --- nginx ------------------------------------------------------------------------------


@pytest.fixture
def nginx_bin() -> Path:
    if not NGINX.exists():
        missing(f"nginx ({NGINX})")
    return NGINX


@pytest.fixture
def certificate(tmp_path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=example.org", "-keyout", str(key), "-out", str(cert)],
        capture_output=True,
        check=False,
    )
    if made.returncode != 0:
        missing("openssl")
    return cert, key


def site_for_test(
    tmp_path: Path,
    certificate: tuple[Path, Path],
    *,
    http: int,
    https: int,
    upstreams: list[int],
    max_fails: int = 3,
) -> str:
    """The shipped site file with this machine's ports, certificate, log and upstreams."""
    site = SITE.read_text()
    cert, key = certificate
    replacements = [
        (r"listen 80;", f"listen 127.0.0.1:{http};"),
        (r"listen 443 ssl http2;", f"listen 127.0.0.1:{https} ssl http2;"),
        (r"\n\s*listen \[::\]:\d+[^;]*;", ""),
        (r"ssl_certificate \S+;", f"ssl_certificate {cert};"),
        (r"ssl_certificate_key \S+;", f"ssl_certificate_key {key};"),
        (r"access_log \S+ supportgroup;", f"access_log {tmp_path}/access.log supportgroup;"),
        (r"error_log \S+ crit;", f"error_log {tmp_path}/site-error.log crit;"),
    ]
    for pattern, value in replacements:
        site, found = re.subn(pattern, value, site)
        assert found, f"{pattern!r} is not in {SITE.name} any more"
    servers = "".join(
        f"    server 127.0.0.1:{port} max_fails={max_fails} fail_timeout=10s;\n"
        for port in upstreams
    )
    site, found = re.subn(r"(    server 127\.0\.0\.1:\d+ [^\n]*\n)+", servers, site)
    assert found == 1
    return site


def main_config(tmp_path: Path, site: str) -> Path:
    (tmp_path / "site.conf").write_text(site)
    temp = {name: tmp_path / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"""
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {tmp_path}/access-main.log;
    client_body_temp_path {temp["client_body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {tmp_path}/site.conf;
}}
"""
    )
    return conf


def test_nginx_accepts_the_site_file(nginx_bin, certificate, tmp_path):
    site = site_for_test(tmp_path, certificate, http=free_port(), https=free_port(), upstreams=[1])
    conf = main_config(tmp_path, site)

    result = subprocess.run(
        [str(nginx_bin), "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log")]
        + ["-c", str(conf)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


class Upstream:
    """A web process stand-in: answers every request with the headers it received (JSON),
    or always 502 (``failing``), and records each request it got."""

    def __init__(self, *, failing: bool = False):
        self.requests: list[tuple[str, dict[str, str]]] = []
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                upstream.requests.append((self.command, dict(self.headers.items())))
                status = 502 if failing else 200
                body = json.dumps(dict(self.headers.items())).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def running_nginx(
    nginx_bin, tmp_path, certificate, upstreams: list[int], max_fails: int = 3
) -> Iterator[dict]:
    ports = {"http": free_port(), "https": free_port()}
    site = site_for_test(tmp_path, certificate, **ports, upstreams=upstreams, max_fails=max_fails)
    conf = main_config(tmp_path, site)
    proc = subprocess.Popen(
        [str(nginx_bin), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")]
        + ["-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(ports["https"], proc)
        yield ports
    finally:
        stop_process(proc)


def https_request(port: int, path: str, *, method: str = "GET", headers=None, data=None):
    """A request to nginx's TLS port as example.org; answers (status, headers, body)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(
        f"https://127.0.0.1:{port}{path}",
        method=method,
        data=data,
        headers={"Host": "example.org", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_nginx_sends_plain_http_to_https_and_overwrites_what_the_app_trusts(
    nginx_bin, certificate, tmp_path
):
    upstream = Upstream()
    try:
        with running_nginx(nginx_bin, tmp_path, certificate, [upstream.port]) as ports:
            opener = urllib.request.build_opener(NoRedirect)
            plain = urllib.request.Request(
                f"http://127.0.0.1:{ports['http']}/groups/?page=2", headers={"Host": "example.org"}
            )
            with pytest.raises(urllib.error.HTTPError) as redirect:
                opener.open(plain, timeout=10)

            # A client pretending to be someone else, and to have come over HTTPS anyway.
            status, headers, body = https_request(
                ports["https"],
                "/groups/",
                headers={
                    "X-Forwarded-For": "203.0.113.9",
                    "X-Forwarded-Proto": "http",
                    "X-Request-ID": "made-up-by-the-client",
                },
            )
    finally:
        upstream.close()

    assert redirect.value.code == 301
    assert redirect.value.headers["Location"] == "https://example.org/groups/?page=2"
    assert status == 200
    seen = json.loads(body)
    # daphne --proxy-headers takes the first X-Forwarded-For address as the client's: it is
    # the address nginx saw, not one the client wrote.
    assert seen["X-Forwarded-For"] == "127.0.0.1"
    assert seen["X-Forwarded-Proto"] == "https"
    assert seen["Host"] == "example.org"
    assert re.fullmatch(r"[0-9a-f]{32}", seen["X-Request-ID"])
    assert headers.get_all("X-Request-ID") == [seen["X-Request-ID"]]


def test_nginx_retries_a_read_on_another_process_but_never_sends_a_post_twice(
    nginx_bin, certificate, tmp_path
):
    failing, healthy = Upstream(failing=True), Upstream()
    sent = 8
    try:
        # max_fails=0: the failing process stays in the rotation, so that both kinds of
        # request keep meeting it (the shipped 3 would take it out after three failures).
        upstreams = [failing.port, healthy.port]
        with running_nginx(nginx_bin, tmp_path, certificate, upstreams, max_fails=0) as p:
            reads = [https_request(p["https"], f"/r/{i}")[0] for i in range(sent)]
            posts = [
                https_request(p["https"], f"/p/{i}", method="POST", data=b"body=x")[0]
                for i in range(sent)
            ]
    finally:
        failing.close()
        healthy.close()

    # Every read that met the failing process was answered by the other one.
    assert reads == [200] * sent
    assert any(m == "GET" for m, _ in failing.requests)
    # Each POST reached exactly one process: those that met the failing one got its 502.
    failed_posts = [m for m, _ in failing.requests if m == "POST"]
    good_posts = [m for m, _ in healthy.requests if m == "POST"]
    assert len(failed_posts) + len(good_posts) == sent
    assert posts.count(502) == len(failed_posts) and posts.count(200) == len(good_posts)


def test_nginx_logs_no_path_when_a_process_fails(nginx_bin, certificate, tmp_path):
    """A process that refuses the connection: the client gets nginx's 502, and neither the
    access log nor an error log has the path, where an invitation link carries its token."""
    token = "invitation-token-Quokka"
    nobody_listens = free_port()
    with running_nginx(nginx_bin, tmp_path, certificate, [nobody_listens]) as ports:
        status, _, _ = https_request(
            ports["https"],
            f"/invite/{token}/",
            headers={"Referer": f"https://example.org/invite/{token}/"},
        )

    assert status == 502
    logs = {p.name: p.read_text(errors="replace") for p in tmp_path.glob("*.log")}
    assert " 502 " in logs["access.log"]
    assert [name for name, text in logs.items() if token in text] == []


def test_nginx_passes_websocket_upgrades(nginx_bin, certificate, tmp_path):
    """The handshake reaches the process with its Upgrade headers, and frames flow both ways."""
    import asyncio

    from websockets.asyncio.client import connect
    from websockets.asyncio.server import serve

    async def scenario():
        seen = {}

        async def echo(ws):
            seen.update(dict(ws.request.headers.raw_items()))
            async for message in ws:
                await ws.send(f"echo:{message}")

        async with serve(echo, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            with running_nginx(nginx_bin, tmp_path, certificate, [port]) as ports:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                async with connect(f"wss://127.0.0.1:{ports['https']}/ws/ping/", ssl=context) as ws:
                    await ws.send("ping")
                    reply = await asyncio.wait_for(ws.recv(), 10)
        return seen, reply

    seen, reply = asyncio.run(scenario())

    assert reply == "echo:ping"
    assert seen["Upgrade"].lower() == "websocket"
    assert seen["X-Forwarded-Proto"] == "https"


def test_the_websocket_read_timeout_is_longer_than_the_heartbeat():
    site = SITE.read_text()
    ws = site[site.index("location /ws/") :]
    ws = ws[: ws.index("}")]
    timeout = int(re.search(r"proxy_read_timeout (\d+)s;", ws).group(1))
    beats = [
        int(ms) / 1000
        for js in ("live.js", "alerts.js")
        for ms in re.findall(r"\}, (\d+)\);", (ROOT / "static" / "js" / js).read_text())
    ]
    assert max(beats) == 25
    assert timeout >= 2 * max(beats)


# --- systemd units and the Procfile ---------------------------------------------------------


def procfile() -> dict[str, list[str]]:
    commands = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            commands[name.strip()] = shlex.split(command)
    return commands


def exec_start(unit: Path) -> list[str]:
    lines = [ln for ln in unit.read_text().splitlines() if ln.startswith("ExecStart=")]
    assert len(lines) == 1, f"{unit.name}: one ExecStart"
    return shlex.split(lines[0].removeprefix("ExecStart="))


def normalised(argv: list[str]) -> list[str]:
    """What must be equal: the program by name (units give the virtualenv's full path), the
    port as the WEB_PORT variable (units have no shell default), without --proxy-headers
    (production runs behind nginx; the Procfile may run without a proxy)."""
    program, *args = argv
    args = [re.sub(r"\$\{WEB_PORT(:-\d+)?\}", "${WEB_PORT}", a) for a in args]
    return [os.path.basename(program), *[a for a in args if a != "--proxy-headers"]]


@pytest.mark.parametrize(
    "process, unit",
    [
        ("web", "supportgroup-web@.service"),
        ("worker", "supportgroup-worker.service"),
        ("beat", "supportgroup-beat.service"),
    ],
)
def test_each_unit_runs_the_procfile_command(process, unit):
    argv = exec_start(UNITS / unit)

    assert normalised(argv) == normalised(procfile()[process])
    assert argv[0].startswith("/"), "systemd needs the program's full path"


def test_the_web_unit_takes_its_port_from_the_instance_and_reads_proxy_headers():
    unit = (UNITS / "supportgroup-web@.service").read_text()
    argv = exec_start(UNITS / "supportgroup-web@.service")

    assert "Environment=WEB_PORT=%i" in unit.splitlines()
    assert argv[argv.index("-p") + 1] == "${WEB_PORT}"
    assert "--proxy-headers" in argv


def test_the_worker_waits_for_a_running_task_before_it_is_killed():
    from django.conf import settings

    unit = (UNITS / "supportgroup-worker.service").read_text()
    stop = int(re.search(r"^TimeoutStopSec=(\d+)$", unit, re.M).group(1))

    # Killed before its task's hard time limit, a digest may send its in-flight email twice.
    assert stop >= settings.CELERY_TASK_TIME_LIMIT
    assert stop >= settings.DIGEST_STALE_CLAIM_SECONDS
    for name in ("supportgroup-web@.service", "supportgroup-worker.service"):
        text = (UNITS / name).read_text()
        assert "KillSignal=SIGTERM" in text and "KillMode=mixed" in text
        assert "EnvironmentFile=" in text
