"""Real processes for tests and benchmarks: moto's S3 server, OpenPicker under gunicorn."""

from __future__ import annotations

import datetime
import ipaddress
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


# Where stopped processes' logs are kept for the end-of-run credential scan (tests/logscan.py).
LOG_ARCHIVE_ENV = "OPENPICKER_TEST_LOG_ARCHIVE"
_archived = itertools.count()
_worker_names = itertools.count()


def archive(path: Path | str, what: str) -> None:
    """Keep a copy of a process's log for the end-of-run scan (when a run asked for it)."""
    folder = os.environ.get(LOG_ARCHIVE_ENV)
    path = Path(path)
    if folder and path.exists():
        shutil.copyfile(path, Path(folder) / f"{what}-{os.getpid()}-{next(_archived)}.log")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout}s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class MotoS3:
    """moto's standalone server, over real HTTP, as S3 for django-storages/boto3."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="moto-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(self.port, self.process)
        except BaseException:
            self.stop()
            raise

    def create_bucket(self, name: str) -> None:
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_bucket(Bucket=name)

    def stop(self) -> None:
        stop(self.process)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def log_tail(path: Path, what: str, size: int = 4000) -> str:
    """The end of a process's log, for error messages."""
    try:
        text = path.read_bytes()[-size:].decode(errors="replace")
    except OSError:
        text = "(gone)"
    return f"--- end of the {what} ---\n{text}"


def self_signed_cert(
    directory: Path, ips: tuple[str, ...] = ("127.0.0.1",), dns: tuple[str, ...] = ("localhost",)
) -> tuple[Path, Path]:
    """A self-signed certificate (and its key) for these addresses and names."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (*dns, *ips)[0])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    *(x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips),
                    *(x509.DNSName(name) for name in dns),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class OpenPickerServer:
    """OpenPicker under gunicorn in its own process, with the given environment."""

    def __init__(
        self, env: dict[str, str], *, tls: bool = False, workers: int = 2, threads: int = 4
    ):
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="openpicker-server-"))
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env, "OPENPICKER_BASE_URL": self.url}
        command = [
            str(VENV_BIN / "python"),
            "-m",
            "gunicorn",
            "openpicker.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",  # as the Procfile's web type
            "openpicker.workers.BalancedThreadWorker",
            "--timeout",
            "600",
            "--graceful-timeout",
            "5",
        ]
        self.cert = None
        if tls:
            self.cert, key = self_signed_cert(self.workdir)
            command += ["--certfile", str(self.cert), "--keyfile", str(key)]
        self.log_path = self.workdir / "server.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        try:
            wait_for_port(self.port, self.process)
            self._wait_ready()
        except BaseException as exc:
            self.log.flush()
            message = log_tail(self.log_path, "server log")
            self.stop()
            raise RuntimeError(f"OpenPicker did not come up\n{message}") from exc

    def _wait_ready(self, timeout: float = 90) -> None:
        """Wait for the first answer: a worker's first request (imports) can take seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                requests.get(self.url + "/api/schema/", timeout=10, verify=str(self.cert or True))
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError("server never answered")

    def stop(self) -> None:
        stop(self.process)
        self.log.close()
        archive(self.log_path, "web")
        shutil.rmtree(self.workdir, ignore_errors=True)


class CeleryWorker:
    """A real Celery worker process consuming the given queues, with the given environment."""

    def __init__(self, env: dict[str, str], queues: str = "celery", concurrency: int = 1):
        self.log_path = Path(tempfile.mkstemp(prefix="celery-worker-", suffix=".log")[1])
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        pool = ["--pool", "solo"] if concurrency == 1 else ["--concurrency", str(concurrency)]
        self.process = subprocess.Popen(
            [
                str(VENV_BIN / "python"),
                "-m",
                "celery",
                "-A",
                "openpicker",
                "worker",
                "--queues",
                queues,
                *pool,
                "--loglevel",
                "INFO",
                # A name of its own: RabbitMQ refuses a second worker of the same name while
                # the first one's (exclusive) control queue exists.
                "--hostname",
                f"test{os.getpid()}.{next(_worker_names)}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop(self.process)
        self.log.close()
        archive(self.log_path, "worker")
        self.log_path.unlink(missing_ok=True)


class Origin:
    """A real HTTP server on 127.0.0.1 serving one payload (or a redirect), counting hits."""

    def __init__(
        self,
        payload: bytes = b"",
        content_type: str = "application/octet-stream",
        redirect_to: str | None = None,
    ):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.hits: list[str] = []
        origin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                origin.hits.append(self.path)
                if redirect_to:
                    self.send_response(302)
                    self.send_header("Location", redirect_to)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, host: str = "127.0.0.1", path: str = "/pics/photo.png") -> str:
        return f"http://{host}:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Serve:
    """`manage.py serve` (every Procfile process type: web, both workers, beat) in a process
    group of its own, logging to one file."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process_env = {**os.environ, **env, "OPENPICKER_BASE_URL": self.url}
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "serve", "--bind", f"127.0.0.1:{self.port}"],
                cwd=ROOT,
                env=self.process_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, condition, what: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process.poll() is None, self.output()[-4000:]
            assert time.monotonic() < deadline, f"{what}:\n{self.output()[-4000:]}"
            time.sleep(0.2)

    def wait_up(self) -> None:
        def answers() -> bool:
            try:
                return requests.get(self.url + "/healthz", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        self.wait_for(answers, "web")
        self.wait_for(lambda: self.output().count(" ready.") >= 2, "both workers")

    def kill(self) -> None:
        """SIGKILL to every process of this serve at once (as a machine that dies)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        archive(self.log_path, "serve")

    def stop(self) -> None:
        if self.process.poll() is None:
            stop(self.process)
            archive(self.log_path, "serve")
